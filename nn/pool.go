package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GlobalAvgPool averages each channel of an (N, C, H, W) input over its H*W
// positions, giving (N, C) ready for a fully connected layer.
func GlobalAvgPool(x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Shape().Dims() != 4 {
		return nil, fmt.Errorf("global average pool: input %s has shape %v; expected (N, C, H, W)", x.Name(), x.Shape())
	}
	return gorgonia.ApplyOp(GlobalAvgPoolOp{}, x)
}

// GlobalAvgPoolOp is the op built by GlobalAvgPool; it has no parameters.
type GlobalAvgPoolOp struct{}

func (GlobalAvgPoolOp) Arity() int { return 1 }
func (GlobalAvgPoolOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 4, Of: a}, gorgonia.TensorType{Dims: 2, Of: a})
}
func (GlobalAvgPoolOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("global average pool: %d inputs, expected 1", len(in))
	}
	s, err := shapeOf(in[0], "global average pool input")
	if err != nil {
		return nil, err
	}
	if s.Dims() != 4 || s[2]*s[3] == 0 {
		return nil, fmt.Errorf("global average pool: input shape %v; expected (N, C, H, W) with H, W > 0", s)
	}
	return tensor.Shape{s[0], s[1]}, nil
}
func (op GlobalAvgPoolOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op GlobalAvgPoolOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("global average pool: %d inputs, expected 1", len(in))
	}
	x, xs, err := float32s(in[0], "global average pool input")
	if err != nil {
		return nil, err
	}
	os, err := op.InferShape(xs)
	if err != nil {
		return nil, err
	}
	hw := xs[2] * xs[3]
	out, y := output(prealloc, nil, os, x)
	inv := 1 / float32(hw)
	for i := range y {
		var s float32
		for _, v := range x[i*hw : (i+1)*hw] {
			s += v
		}
		y[i] = s * inv
	}
	return out, nil
}
func (GlobalAvgPoolOp) ReturnsPtr() bool          { return false }
func (GlobalAvgPoolOp) CallsExtern() bool         { return false }
func (GlobalAvgPoolOp) OverwritesInput() int      { return -1 }
func (GlobalAvgPoolOp) WriteHash(h hash.Hash)     { fmt.Fprint(h, "nn.GlobalAvgPool(NCHW->NC)") }
func (op GlobalAvgPoolOp) Hashcode() uint32       { return hashOf(op) }
func (GlobalAvgPoolOp) String() string            { return "GlobalAvgPool" }
func (GlobalAvgPoolOp) DiffWRT(inputs int) []bool { return []bool{true} }
func (GlobalAvgPoolOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("global average pool: %d inputs, expected 1", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&globalAvgPoolGradOp{}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// globalAvgPoolGradOp spreads dy[n, c] / (H*W) over every position of
// channel c; x is an input only for its shape.
type globalAvgPoolGradOp struct{ out *tensor.Dense }

func (op *globalAvgPoolGradOp) Arity() int { return 2 }
func (op *globalAvgPoolGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	x := gorgonia.TensorType{Dims: 4, Of: a}
	return hm.NewFnType(x, gorgonia.TensorType{Dims: 2, Of: a}, x)
}
func (op *globalAvgPoolGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("global average pool gradient: %d inputs, expected 2", len(in))
	}
	s, err := shapeOf(in[0], "global average pool gradient x")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}
func (op *globalAvgPoolGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *globalAvgPoolGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("global average pool gradient: %d inputs, expected 2", len(in))
	}
	xs := in[0].Shape()
	dy, dys, err := float32s(in[1], "global average pool gradient dy")
	if err != nil {
		return nil, err
	}
	if xs.Dims() != 4 || !dys.Eq(tensor.Shape{xs[0], xs[1]}) {
		return nil, fmt.Errorf("global average pool gradient: x %v and dy %v do not match", xs, dys)
	}
	hw := xs[2] * xs[3]
	out, dx := output(prealloc, &op.out, xs, dy)
	inv := 1 / float32(hw)
	for i, g := range dy {
		v := g * inv
		for j := range dx[i*hw : (i+1)*hw] {
			dx[i*hw+j] = v
		}
	}
	return out, nil
}
func (op *globalAvgPoolGradOp) ReturnsPtr() bool      { return false }
func (op *globalAvgPoolGradOp) CallsExtern() bool     { return false }
func (op *globalAvgPoolGradOp) OverwritesInput() int  { return -1 }
func (op *globalAvgPoolGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "nn.GlobalAvgPoolGrad") }
func (op *globalAvgPoolGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *globalAvgPoolGradOp) String() string        { return "GlobalAvgPoolGrad" }
