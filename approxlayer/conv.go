package approxlayer

import (
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/ops"
)

// WrapConv2d makes a 2-D convolution layer around an existing weight node
// w of shape (O, C/groups, kh, kw), NCHW, with the stride, padding,
// dilation and groups of args. Apply it with Forward.
func WrapConv2d(name string, w *G.Node, args ops.ConvArgs, opts ...Option) (*Layer, error) {
	c := makeConfig(opts)
	if c.bias {
		return nil, fmt.Errorf("approxlayer: layer %q: WithBias applies to NewLinear and NewConv2d; a wrapped layer's bias stays in the graph", name)
	}
	return wrapConv2d(name, w, args, c)
}

func wrapConv2d(name string, w *G.Node, args ops.ConvArgs, c config) (*Layer, error) {
	args = args.Normalized()
	if args.Groups < 1 {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: groups = %d must be at least 1", name, args.Groups)
	}
	l, err := newLayer(name, KindConv2d, w, 4, 0, c)
	if err != nil {
		return nil, err
	}
	s := w.Shape()
	if s[0]%args.Groups != 0 {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: groups = %d does not divide the %d output channels", name, args.Groups, s[0])
	}
	l.conv = args
	l.out, l.in = s[0], s[1]*args.Groups
	l.fanIn = s[1] * s[2] * s[3]
	return l, nil
}

// NewConv2d adds a 2-D convolution layer with in input and out output
// channels and a kh×kw kernel to g: a weight "<name>.weight" of shape
// (out, in/groups, kh, kw) and, with WithBias, a bias "<name>.bias" of shape
// (out), drawn as PyTorch does, uniformly from ±1/√fan-in, with the seed of
// WithSeed. Depthwise convolution is groups = in = out.
func NewConv2d(g *G.ExprGraph, name string, in, out, kh, kw int, args ops.ConvArgs, opts ...Option) (*Layer, error) {
	if in < 1 || out < 1 || kh < 1 || kw < 1 {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: channels (%d, %d) and kernel %dx%d must be positive", name, in, out, kh, kw)
	}
	args = args.Normalized()
	if args.Groups < 1 || in%args.Groups != 0 || out%args.Groups != 0 {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: groups = %d must be at least 1 and divide in = %d and out = %d", name, args.Groups, in, out)
	}
	c := makeConfig(opts)
	rng := rand.New(rand.NewSource(c.seed))
	fanIn := in / args.Groups * kh * kw
	bound := 1 / math.Sqrt(float64(fanIn))
	w, err := newParam(g, name+".weight", tensor.Shape{out, in / args.Groups, kh, kw}, bound, rng, c.float64)
	if err != nil {
		return nil, err
	}
	l, err := wrapConv2d(name, w, args, c)
	if err != nil {
		return nil, err
	}
	if c.bias {
		if l.bias, err = newParam(g, name+".bias", tensor.Shape{out}, bound, rng, c.float64); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// ConvArgs returns the convolution's stride, padding, dilation and groups.
func (l *Layer) ConvArgs() ops.ConvArgs { return l.conv }

// WeightLayout returns how a linear layer stores its weight.
func (l *Layer) WeightLayout() ops.WeightLayout { return l.layout }

func (l *Layer) forwardConv2d(x *G.Node) (*G.Node, error) {
	if s := x.Shape(); x.Dims() != 4 || s[1] != l.in {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: input has shape %v; want (N, %d, H, W)", l.name, x.Shape(), l.in)
	}
	y, err := ops.Conv2d(x, l.weight, l.state, l.conv)
	if err != nil {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: %w", l.name, err)
	}
	ys := y.Shape()
	l.mulsPerSample = ys[1] * ys[2] * ys[3] * l.fanIn
	if l.bias == nil {
		return y, nil
	}
	// The bias (O) is added to every position: seen as (1, O, 1, 1) and
	// broadcast along the batch and both spatial axes.
	b, err := G.Reshape(l.bias, tensor.Shape{1, l.out, 1, 1})
	if err != nil {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: adding the bias: %w", l.name, err)
	}
	if y, err = G.BroadcastAdd(y, b, nil, []byte{0, 2, 3}); err != nil {
		return nil, fmt.Errorf("approxlayer: conv2d layer %q: adding the bias: %w", l.name, err)
	}
	return y, nil
}
