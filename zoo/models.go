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

// resnet8-1x1: stem conv 16 + BN + ReLU, then three stages of one basic
// block each (16, 32 and 64 channels, the last two with stride 2 and a 1x1
// convolution + BN on the shortcut), global average pooling and fc.
// Seven convolutions and the classifier make the eight layers.
func buildResNet8x1(b *builder, x *G.Node, in Input) *G.Node {
	h := b.convBN("conv1", x, 16, 3, 1, 1, nn.ActReLU)
	h = b.basicBlock("s1", h, 16, 1, b.convShortcut)
	h = b.basicBlock("s2", h, 32, 2, b.convShortcut)
	h = b.basicBlock("s3", h, 64, 2, b.convShortcut)
	return b.linear("fc", b.gap(h), in.Classes, true, glorotInit)
}

// cifarResNet returns He et al.'s CIFAR ResNet with 6n+2 layers, as
// agn-approx trains it: stem conv 16 + BN + ReLU, three stages of n basic
// blocks with 16, 32 and 64 channels (the first block of the second and
// third stage with stride 2), global average pooling and fc. Where a block
// changes the shape, its shortcut is option A: the input subsampled with
// stride 2 and zero channels added on both sides, no parameters. Blocks are
// named s<stage>b<block>.
func cifarResNet(n int) func(b *builder, x *G.Node, in Input) *G.Node {
	return func(b *builder, x *G.Node, in Input) *G.Node {
		h := b.convBN("conv1", x, 16, 3, 1, 1, nn.ActReLU)
		for stage, width := range []int{16, 32, 64} {
			for block := range n {
				stride := 1
				if stage > 0 && block == 0 {
					stride = 2
				}
				h = b.basicBlock(fmt.Sprintf("s%db%d", stage+1, block+1), h, width, stride, b.padShortcut)
			}
		}
		return b.linear("fc", b.gap(h), in.Classes, true, glorotInit)
	}
}

// shortcut maps a block's input to the shape of its output (out
// channels, the given stride) for the residual addition.
type shortcut func(name string, x *G.Node, out, stride int) *G.Node

// convShortcut is a 1x1 convolution + BN ("option B").
func (b *builder) convShortcut(name string, x *G.Node, out, stride int) *G.Node {
	return b.convBN(name+".short", x, out, 1, stride, 0, nn.NoActivation)
}

// padShortcut is option A: subsample with the stride and put the missing
// channels as zeros, half in front and half behind (PyTorch's
// F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes//4, planes//4)) for a
// doubling of channels).
func (b *builder) padShortcut(name string, x *G.Node, out, stride int) *G.Node {
	if b.err != nil {
		return nil
	}
	extra := out - b.channels(x)
	if extra < 0 {
		b.fail("zoo: %s: option-A shortcut from %d to %d channels cannot drop channels", name, b.channels(x), out)
		return nil
	}
	y, err := nn.SubsamplePad(x, stride, extra/2, extra-extra/2)
	if !b.check(name+" shortcut", err) {
		return nil
	}
	return y
}

// basicBlock is ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x)), the
// shortcut being the identity when the block keeps the shape.
func (b *builder) basicBlock(name string, x *G.Node, out, stride int, short shortcut) *G.Node {
	if b.err != nil {
		return nil
	}
	s := x
	if stride != 1 || b.channels(x) != out {
		s = short(name, x, out, stride)
	}
	h := b.convBN(name+".conv1", x, out, 3, stride, 1, nn.ActReLU)
	h = b.convBN(name+".conv2", h, out, 3, 1, 1, nn.NoActivation)
	return b.add(h, s, nn.ActReLU)
}

// mobilenetv2-small is a MobileNetV2 sized for 28x28 inputs: stem conv 16 + BN +
// ReLU6, inverted residual blocks (expansion t, output channels c, stride
// s) 1/16/1, 4/24/2, 4/24/1, 4/32/2, 4/32/1, 4/64/1, a 1x1 convolution to
// 128 + BN + ReLU6, global average pooling and fc. Spatial size goes 28 ->
// 14 -> 7.
func buildMobileNetV2Small(b *builder, x *G.Node, in Input) *G.Node {
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

// mobileNetV2Stages are torchvision's inverted residual settings for
// MobileNetV2 at width 1.0: expansion t, output channels c, blocks n, stride
// s of the first block.
var mobileNetV2Stages = []struct{ t, c, n, s int }{
	{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
}

// mobileNetV2CIFARSide is the largest input side that gets the CIFAR
// strides.
const mobileNetV2CIFARSide = 32

// mobilenetv2 is torchvision's MobileNetV2 at width 1.0: stem conv 32 with
// stride 2 + BN + ReLU6, the 17 inverted residual blocks of
// mobileNetV2Stages (named b1..b17), a 1x1 convolution to 1280 + BN + ReLU6,
// global average pooling and fc (torchvision's dropout before the
// classifier is left out). Inputs of at most 32x32 get the strides of the
// common CIFAR ports: 1 in the stem and in the first block of the 24-channel
// stage, so that a 32x32 image is pooled from 4x4 instead of 1x1; larger
// inputs get the 224x224 layout unchanged.
func buildMobileNetV2(b *builder, x *G.Node, in Input) *G.Node {
	cifar := in.H <= mobileNetV2CIFARSide && in.W <= mobileNetV2CIFARSide
	stem := 2
	if cifar {
		stem = 1
	}
	h := b.convBN("conv1", x, 32, 3, stem, 1, nn.ActReLU6)
	block := 0
	for i, st := range mobileNetV2Stages {
		for j := range st.n {
			stride := 1
			if j == 0 {
				stride = st.s
			}
			if cifar && i == 1 {
				stride = 1
			}
			block++
			h = b.invertedResidual(fmt.Sprintf("b%d", block), h, st.t, st.c, stride)
		}
	}
	h = b.convBN("conv_last", h, 1280, 1, 1, 0, nn.ActReLU6)
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
		h = b.add(h, x, nn.NoActivation)
	}
	return h
}

// vggConfigs are the CIFAR VGGs' convolution widths, 0 standing for a 2x2
// max pooling (Simonyan and Zisserman's configurations A and D).
var vggConfigs = map[string][]int{
	"vgg11": {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0},
	"vgg16": {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0},
}

// cifarVGG is the CIFAR variant of VGG with batch norm, as the common CIFAR
// ports have it: 3x3 convolutions with padding 1, each followed by BN and
// ReLU, 2x2 max poolings, and one fc from the flattened features to the
// classes (512 features for 32x32 inputs) instead of ImageNet's three.
// Convolutions are named conv1, conv2, ... in order.
func cifarVGG(config []int) func(b *builder, x *G.Node, in Input) *G.Node {
	return func(b *builder, x *G.Node, in Input) *G.Node {
		h, k := x, 0
		for _, width := range config {
			if width == 0 {
				h = b.maxpool(h)
				continue
			}
			k++
			h = b.convBN(fmt.Sprintf("conv%d", k), h, width, 3, 1, 1, nn.ActReLU)
		}
		return b.linear("fc", b.flatten(h), in.Classes, true, glorotInit)
	}
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

// alexNetMinSide is the smallest input side AlexNet takes: its last max
// pooling needs a 3x3 map, which a 63x63 image just gives.
const alexNetMinSide = 63

func acceptAlexNet(in Input) error {
	fits := func(n int) bool {
		if n+2*2 < 11 {
			return false
		}
		n = convSide(n, 11, 4, 2)
		for range 3 {
			if n < 3 {
				return false
			}
			n = convSide(n, 3, 2, 0)
		}
		return true
	}
	if !fits(in.H) || !fits(in.W) {
		return fmt.Errorf("alexnet needs inputs of at least %dx%d (an 11x11 stride-4 convolution and three 3x3 stride-2 poolings), not %dx%d", alexNetMinSide, alexNetMinSide, in.H, in.W)
	}
	return nil
}

// alexnet is torchvision's AlexNet, which agn-approx fine-tunes with its
// last layer replaced for the data set's classes: conv 64@11x11 stride 4
// pad 2, pool, conv 192@5x5 pad 2, pool, conv 384, 256, 256 @3x3 pad 1,
// pool (max poolings 3x3 stride 2, every convolution with bias and ReLU),
// adaptive average pooling to 6x6, fc 9216-4096 + ReLU, fc 4096-4096 +
// ReLU, fc 4096-classes, every fc with bias. torchvision's dropouts are
// left out.
func buildAlexNet(b *builder, x *G.Node, in Input) *G.Node {
	convReLU := func(name string, h *G.Node, out, k, stride, pad int) *G.Node {
		return b.relu(b.addBias(name, b.conv(name, h, out, k, stride, pad)))
	}
	h := b.maxpoolK(convReLU("conv1", x, 64, 11, 4, 2), 3, 2)
	h = b.maxpoolK(convReLU("conv2", h, 192, 5, 1, 2), 3, 2)
	h = convReLU("conv3", h, 384, 3, 1, 1)
	h = convReLU("conv4", h, 256, 3, 1, 1)
	h = b.maxpoolK(convReLU("conv5", h, 256, 3, 1, 1), 3, 2)
	h = b.flatten(b.adaptiveAvgPool(h, 6))
	h = b.relu(b.linear("fc1", h, 4096, true, heInit))
	h = b.relu(b.linear("fc2", h, 4096, true, heInit))
	return b.linear("fc3", h, in.Classes, true, glorotInit)
}
