package zoo

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/ops"
)

// Net is a built model: an ordinary Gorgonia graph from the input images to
// the logits, with the nodes a trainer needs.
type Net struct {
	Graph *G.ExprGraph
	// Input is the (batch, C, H, W) float32 image node, named "x".
	Input *G.Node
	// Logits is the (batch, classes) output.
	Logits *G.Node
	// Weights are the weights of the multiplication layers (dense and
	// convolution), in graph order: what package graph converts.
	Weights G.Nodes
	// Params are all learnable leaves: weights, biases, batch-norm scales
	// and shifts.
	Params G.Nodes
	// BatchNorms are the model's batch normalisations, in graph order.
	// Their states hold the running statistics and the training flag.
	BatchNorms []BatchNorm
	// Mults holds, for each of Weights, the multiplications its layer does
	// per input image (output elements times fan-in per group): the table
	// lookups one image costs in that layer when it is approximate.
	Mults []int64
}

// ParamCount is the number of learnable values: the sizes of Params.
func (n *Net) ParamCount() int {
	total := 0
	for _, p := range n.Params {
		total += p.Shape().TotalSize()
	}
	return total
}

// MultsPerImage is the sum of Mults: the multiplications (LUT lookups)
// of one image's forward pass.
func (n *Net) MultsPerImage() int64 {
	var total int64
	for _, m := range n.Mults {
		total += m
	}
	return total
}

// BatchNorm is one batch normalisation of a Net.
type BatchNorm struct {
	Name        string
	State       *nn.BatchNormState
	Scale, Bias *G.Node
}

// SetBatchNormTraining switches every batch normalisation between batch
// statistics (training) and running statistics (evaluation).
func (n *Net) SetBatchNormTraining(on bool) {
	for _, bn := range n.BatchNorms {
		bn.State.Training = on
	}
}

// initKind chooses how a weight is drawn.
type initKind int

const (
	heInit     initKind = iota // Kaiming-uniform, for layers followed by ReLU
	glorotInit                 // Glorot-uniform, for the classifier
)

// builder adds layers to a graph. It keeps the first error and turns every
// later call into a no-op returning nil, so model code reads as a list of
// layers and checks the error once at the end.
type builder struct {
	g     *G.ExprGraph
	rng   *rand.Rand
	net   *Net
	names map[string]bool
	err   error
	// shapesOnly builds the graph's shapes without drawing any value, for
	// counting parameters and multiplications of large models cheaply.
	shapesOnly bool
}

func newBuilder(seed uint64) *builder {
	g := G.NewGraph()
	return &builder{g: g, rng: nn.NewRand(seed), net: &Net{Graph: g}, names: map[string]bool{}}
}

func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

// leaf adds a learnable float32 leaf of the given shape with value v (nil
// when the builder only builds shapes).
func (b *builder) leaf(name string, shape tensor.Shape, v *tensor.Dense) *G.Node {
	if b.names[name] {
		b.fail("zoo: two parameters named %q", name)
		return nil
	}
	b.names[name] = true
	opts := []G.NodeConsOpt{G.WithShape(shape...), G.WithName(name)}
	if v != nil {
		opts = append(opts, G.WithValue(v))
	}
	n := G.NewTensor(b.g, tensor.Float32, shape.Dims(), opts...)
	b.net.Params = append(b.net.Params, n)
	return n
}

// weight draws a weight of the given shape and fan-in for a layer that
// does mults multiplications per image.
func (b *builder) weight(name string, shape tensor.Shape, fanIn, fanOut int, kind initKind, mults int64) *G.Node {
	if b.err != nil {
		return nil
	}
	var v *tensor.Dense
	var err error
	switch {
	case b.shapesOnly:
	case kind == glorotInit:
		v, err = nn.GlorotUniform(b.rng, shape, fanIn, fanOut)
	default:
		v, err = nn.KaimingUniform(b.rng, shape, fanIn)
	}
	if err != nil {
		b.fail("zoo: initialising %s: %w", name, err)
		return nil
	}
	w := b.leaf(name, shape, v)
	if w != nil {
		b.net.Weights = append(b.net.Weights, w)
		b.net.Mults = append(b.net.Mults, mults)
	}
	return w
}

func (b *builder) filled(name string, n int, v float32) *G.Node {
	if b.err != nil {
		return nil
	}
	var t *tensor.Dense
	if !b.shapesOnly {
		var err error
		if t, err = nn.Filled(tensor.Shape{n}, v); err != nil {
			b.fail("zoo: %s: %w", name, err)
			return nil
		}
	}
	return b.leaf(name, tensor.Shape{n}, t)
}

// check records err (from a gorgonia call) and reports whether to go on.
func (b *builder) check(what string, err error) bool {
	if err != nil {
		b.fail("zoo: %s: %w", what, err)
	}
	return b.err == nil
}

func (b *builder) channels(x *G.Node) int { return x.Shape()[1] }

// convSide is the output side of a convolution or pooling window.
func convSide(in, k, stride, pad int) int { return (in+2*pad-k)/stride + 1 }

// convMults is the multiplications per image of a k×k convolution from x
// to out channels, with fan-in inPerGroup×k×k.
func convMults(x *G.Node, out, inPerGroup, k, stride, pad int) int64 {
	s := x.Shape()
	oh, ow := convSide(s[2], k, stride, pad), convSide(s[3], k, stride, pad)
	return int64(out) * int64(oh) * int64(ow) * int64(inPerGroup*k*k)
}

// conv adds a k×k convolution without bias, named name.
func (b *builder) conv(name string, x *G.Node, out, k, stride, pad int) *G.Node {
	if b.err != nil {
		return nil
	}
	in := b.channels(x)
	w := b.weight(name, tensor.Shape{out, in, k, k}, in*k*k, out*k*k, heInit, convMults(x, out, in, k, stride, pad))
	if b.err != nil {
		return nil
	}
	y, err := G.Conv2d(x, w, tensor.Shape{k, k}, []int{pad, pad}, []int{stride, stride}, []int{1, 1})
	if !b.check(name, err) {
		return nil
	}
	return y
}

// addBias adds a learnable per-channel bias (name.bias, zero at first) to
// x, of shape (N, C) or (N, C, H, W).
func (b *builder) addBias(name string, x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	c := b.channels(x)
	bias := b.filled(name+".bias", c, 0)
	if b.err != nil {
		return nil
	}
	if x.Dims() == 2 {
		y, err := G.BroadcastAdd(x, bias, nil, []byte{0})
		if !b.check(name+".bias", err) {
			return nil
		}
		return y
	}
	shaped, err := G.Reshape(bias, tensor.Shape{1, c, 1, 1})
	if !b.check(name+".bias", err) {
		return nil
	}
	y, err := G.BroadcastAdd(x, shaped, nil, []byte{0, 2, 3})
	if !b.check(name+".bias", err) {
		return nil
	}
	return y
}

// depthwise adds a k×k depthwise convolution (one filter per channel).
func (b *builder) depthwise(name string, x *G.Node, k, stride, pad int) *G.Node {
	if b.err != nil {
		return nil
	}
	c := b.channels(x)
	w := b.weight(name, tensor.Shape{c, 1, k, k}, k*k, k*k, heInit, convMults(x, c, 1, k, stride, pad))
	if b.err != nil {
		return nil
	}
	y, err := ops.GroupedConv2d(x, w, ops.ConvArgs{
		Stride: [2]int{stride, stride}, Pad: [2]int{pad, pad}, Dilation: [2]int{1, 1}, Groups: c,
	})
	if !b.check(name, err) {
		return nil
	}
	return y
}

// linear adds x·W for x (batch, in), plus a bias when withBias.
func (b *builder) linear(name string, x *G.Node, out int, withBias bool, kind initKind) *G.Node {
	if b.err != nil {
		return nil
	}
	in := x.Shape()[1]
	w := b.weight(name, tensor.Shape{in, out}, in, out, kind, int64(in)*int64(out))
	if b.err != nil {
		return nil
	}
	y, err := G.Mul(x, w)
	if !b.check(name, err) {
		return nil
	}
	if !withBias {
		return y
	}
	return b.addBias(name, y)
}

// bn adds a batch normalisation of the output of layer name, followed by
// act in the same op (nn.BatchNormAct: one pass over the activations
// instead of two, same values as a separate ReLU or ReLU6).
func (b *builder) bn(name string, x *G.Node, act nn.Activation) *G.Node {
	if b.err != nil {
		return nil
	}
	c := b.channels(x)
	scale := b.filled(name+".bn.scale", c, 1)
	shift := b.filled(name+".bn.bias", c, 0)
	if b.err != nil {
		return nil
	}
	state := nn.NewBatchNormState(c)
	y, err := nn.BatchNormAct(x, scale, shift, state, act)
	if !b.check(name+".bn", err) {
		return nil
	}
	b.net.BatchNorms = append(b.net.BatchNorms, BatchNorm{Name: name + ".bn", State: state, Scale: scale, Bias: shift})
	return y
}

func (b *builder) relu(x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := nn.ReLU(x)
	if !b.check("relu", err) {
		return nil
	}
	return y
}

// maxpool adds a 2×2 max-pooling with stride 2.
func (b *builder) maxpool(x *G.Node) *G.Node { return b.maxpoolK(x, 2, 2) }

// maxpoolK adds a k×k max-pooling with the given stride, no padding.
func (b *builder) maxpoolK(x *G.Node, k, stride int) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := nn.MaxPool2D(x, tensor.Shape{k, k}, []int{0, 0}, []int{stride, stride})
	if !b.check("maxpool", err) {
		return nil
	}
	return y
}

// add adds a residual connection x + y followed by act, as one op.
func (b *builder) add(x, y *G.Node, act nn.Activation) *G.Node {
	if b.err != nil {
		return nil
	}
	z, err := nn.AddAct(x, y, act)
	if !b.check("residual add", err) {
		return nil
	}
	return z
}

func (b *builder) adaptiveAvgPool(x *G.Node, side int) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := nn.AdaptiveAvgPool2D(x, side, side)
	if !b.check("adaptive average pool", err) {
		return nil
	}
	return y
}

func (b *builder) gap(x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := nn.GlobalAvgPool(x)
	if !b.check("global average pool", err) {
		return nil
	}
	return y
}

// flatten reshapes (N, C, H, W) to (N, C*H*W).
func (b *builder) flatten(x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	s := x.Shape()
	y, err := G.Reshape(x, tensor.Shape{s[0], s.TotalSize() / s[0]})
	if !b.check("flatten", err) {
		return nil
	}
	return y
}

// convBN is conv, batch norm and act (nn.NoActivation for none).
func (b *builder) convBN(name string, x *G.Node, out, k, stride, pad int, act nn.Activation) *G.Node {
	return b.bn(name, b.conv(name, x, out, k, stride, pad), act)
}
