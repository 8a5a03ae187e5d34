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

// leaf adds a learnable float32 leaf with the given value.
func (b *builder) leaf(name string, v *tensor.Dense) *G.Node {
	if b.names[name] {
		b.fail("zoo: two parameters named %q", name)
		return nil
	}
	b.names[name] = true
	n := G.NewTensor(b.g, tensor.Float32, v.Dims(), G.WithShape(v.Shape()...), G.WithName(name), G.WithValue(v))
	b.net.Params = append(b.net.Params, n)
	return n
}

// weight draws a weight of the given shape and fan-in.
func (b *builder) weight(name string, shape tensor.Shape, fanIn, fanOut int, kind initKind) *G.Node {
	if b.err != nil {
		return nil
	}
	var v *tensor.Dense
	var err error
	if kind == glorotInit {
		v, err = nn.GlorotUniform(b.rng, shape, fanIn, fanOut)
	} else {
		v, err = nn.KaimingUniform(b.rng, shape, fanIn)
	}
	if err != nil {
		b.fail("zoo: initialising %s: %w", name, err)
		return nil
	}
	w := b.leaf(name, v)
	if w != nil {
		b.net.Weights = append(b.net.Weights, w)
	}
	return w
}

func (b *builder) filled(name string, n int, v float32) *G.Node {
	if b.err != nil {
		return nil
	}
	t, err := nn.Filled(tensor.Shape{n}, v)
	if err != nil {
		b.fail("zoo: %s: %w", name, err)
		return nil
	}
	return b.leaf(name, t)
}

// check records err (from a gorgonia call) and reports whether to go on.
func (b *builder) check(what string, err error) bool {
	if err != nil {
		b.fail("zoo: %s: %w", what, err)
	}
	return b.err == nil
}

func (b *builder) channels(x *G.Node) int { return x.Shape()[1] }

// conv adds a k×k convolution without bias, named name.
func (b *builder) conv(name string, x *G.Node, out, k, stride, pad int) *G.Node {
	if b.err != nil {
		return nil
	}
	in := b.channels(x)
	w := b.weight(name, tensor.Shape{out, in, k, k}, in*k*k, out*k*k, heInit)
	if b.err != nil {
		return nil
	}
	y, err := G.Conv2d(x, w, tensor.Shape{k, k}, []int{pad, pad}, []int{stride, stride}, []int{1, 1})
	if !b.check(name, err) {
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
	w := b.weight(name, tensor.Shape{c, 1, k, k}, k*k, k*k, heInit)
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
	w := b.weight(name, tensor.Shape{in, out}, in, out, kind)
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
	bias := b.filled(name+".bias", out, 0)
	if b.err != nil {
		return nil
	}
	y, err = G.BroadcastAdd(y, bias, nil, []byte{0})
	if !b.check(name+".bias", err) {
		return nil
	}
	return y
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
func (b *builder) maxpool(x *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	y, err := nn.MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
	if !b.check("maxpool", err) {
		return nil
	}
	return y
}

func (b *builder) add(x, y *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	z, err := G.Add(x, y)
	if !b.check("residual add", err) {
		return nil
	}
	return z
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
