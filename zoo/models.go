package zoo

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/nn"
)

// mlp: flatten, fc1 256 + BN + ReLU, fc2 128 + BN + ReLU, fc3 classes.
func buildMLP(b *builder, x *G.Node, in Input) *G.Node {
	h := b.flatten(x)
	h = b.bn("fc1", b.linear("fc1", h, 256, false, heInit), nn.ActReLU)
	h = b.bn("fc2", b.linear("fc2", h, 128, false, heInit), nn.ActReLU)
	return b.linear("fc3", h, in.Classes, true, glorotInit)
}

// lenetFeatures is the side length after LeNet-5's two conv-pool stages
// (5x5 padded, pool, 5x5 valid, pool): 5 for 28x28 inputs.
func lenetFeatures(side int) int { return (side/2 - 4) / 2 }

func acceptLeNet(in Input) error {
	if in.H/2-4 < 2 || in.W/2-4 < 2 {
		return fmt.Errorf("lenet5 needs inputs of at least 12x12 (two 5x5 convolutions and two 2x2 poolings), not %dx%d", in.H, in.W)
	}
	return nil
}

// lenet5 follows the agn-approx reference: conv 6@5x5 pad 2 + BN + ReLU +
// maxpool, conv 16@5x5 + BN + ReLU + maxpool, fc 400-120 + BN + ReLU,
// fc 120-84 + BN + ReLU, fc 84-classes.
func buildLeNet5(b *builder, x *G.Node, in Input) *G.Node {
	h := b.maxpool(b.convBN("conv1", x, 6, 5, 1, 2, nn.ActReLU))
	h = b.maxpool(b.convBN("conv2", h, 16, 5, 1, 0, nn.ActReLU))
	h = b.flatten(h)
	h = b.bn("fc1", b.linear("fc1", h, 120, false, heInit), nn.ActReLU)
	h = b.bn("fc2", b.linear("fc2", h, 84, false, heInit), nn.ActReLU)
	return b.linear("fc3", h, in.Classes, true, glorotInit)
}

func acceptStrided(name string, minSide int) func(Input) error {
	return func(in Input) error {
		if in.H < minSide || in.W < minSide {
			return fmt.Errorf("%s needs inputs of at least %dx%d, not %dx%d", name, minSide, minSide, in.H, in.W)
		}
		return nil
	}
}

// resnet8: stem conv 16 + BN + ReLU, then three stages of one basic block
// each (16, 32 and 64 channels, the last two with stride 2 and a 1x1
// convolution + BN on the shortcut), global average pooling and fc.
// Seven convolutions and the classifier make the eight layers.
func buildResNet8(b *builder, x *G.Node, in Input) *G.Node {
	h := b.convBN("conv1", x, 16, 3, 1, 1, nn.ActReLU)
	h = b.basicBlock("s1", h, 16, 1)
	h = b.basicBlock("s2", h, 32, 2)
	h = b.basicBlock("s3", h, 64, 2)
	return b.linear("fc", b.gap(h), in.Classes, true, glorotInit)
}

// basicBlock is ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x)).
func (b *builder) basicBlock(name string, x *G.Node, out, stride int) *G.Node {
	if b.err != nil {
		return nil
	}
	short := x
	if stride != 1 || b.channels(x) != out {
		short = b.convBN(name+".short", x, out, 1, stride, 0, nn.NoActivation)
	}
	h := b.convBN(name+".conv1", x, out, 3, stride, 1, nn.ActReLU)
	h = b.convBN(name+".conv2", h, out, 3, 1, 1, nn.NoActivation)
	return b.relu(b.add(h, short))
}

// mobilenetv2 is a MobileNetV2 sized for 28x28 inputs: stem conv 16 + BN +
// ReLU6, inverted residual blocks (expansion t, output channels c, stride
// s) 1/16/1, 4/24/2, 4/24/1, 4/32/2, 4/32/1, 4/64/1, a 1x1 convolution to
// 128 + BN + ReLU6, global average pooling and fc. Spatial size goes 28 ->
// 14 -> 7.
func buildMobileNetV2(b *builder, x *G.Node, in Input) *G.Node {
	h := b.convBN("conv1", x, 16, 3, 1, 1, nn.ActReLU6)
	blocks := []struct{ t, c, s int }{
		{1, 16, 1}, {4, 24, 2}, {4, 24, 1}, {4, 32, 2}, {4, 32, 1}, {4, 64, 1},
	}
	for i, bl := range blocks {
		h = b.invertedResidual(fmt.Sprintf("b%d", i+1), h, bl.t, bl.c, bl.s)
	}
	h = b.convBN("conv_last", h, 128, 1, 1, 0, nn.ActReLU6)
	return b.linear("fc", b.gap(h), in.Classes, true, glorotInit)
}

// invertedResidual is MobileNetV2's block: 1x1 expansion + BN + ReLU6
// (skipped for t = 1), 3x3 depthwise + BN + ReLU6, 1x1 linear projection +
// BN, and the identity shortcut when shapes allow.
func (b *builder) invertedResidual(name string, x *G.Node, t, out, stride int) *G.Node {
	if b.err != nil {
		return nil
	}
	in := b.channels(x)
	h := x
	if t != 1 {
		h = b.convBN(name+".expand", h, in*t, 1, 1, 0, nn.ActReLU6)
	}
	h = b.bn(name+".dw", b.depthwise(name+".dw", h, 3, stride, 1), nn.ActReLU6)
	h = b.convBN(name+".project", h, out, 1, 1, 0, nn.NoActivation)
	if stride == 1 && in == out {
		h = b.add(h, x)
	}
	return h
}

// vgg is a small VGG: conv 32, conv 32, pool, conv 64, conv 64, pool,
// conv 128, pool (each conv 3x3 + BN + ReLU), fc 128 + BN + ReLU, fc.
func buildVGG(b *builder, x *G.Node, in Input) *G.Node {
	h := b.convBN("conv1", x, 32, 3, 1, 1, nn.ActReLU)
	h = b.maxpool(b.convBN("conv2", h, 32, 3, 1, 1, nn.ActReLU))
	h = b.convBN("conv3", h, 64, 3, 1, 1, nn.ActReLU)
	h = b.maxpool(b.convBN("conv4", h, 64, 3, 1, 1, nn.ActReLU))
	h = b.maxpool(b.convBN("conv5", h, 128, 3, 1, 1, nn.ActReLU))
	h = b.flatten(h)
	h = b.bn("fc1", b.linear("fc1", h, 128, false, heInit), nn.ActReLU)
	return b.linear("fc2", h, in.Classes, true, glorotInit)
}
