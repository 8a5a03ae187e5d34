package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reshape is a float32 op from an (N, C, H, W) input to an output whose
// shape depends on the input's alone (a pooling to a fixed size, a
// subsample with channel padding): what its gradient op needs of it.
type reshape interface {
	outShape(xs tensor.Shape) (tensor.Shape, error)
	// backward writes dx (of x's shape xs) from dy (of shape dys).
	backward(dx []float32, xs tensor.Shape, dy []float32, dys tensor.Shape)
	gradName() string
	WriteHash(h hash.Hash)
	String() string
}

// reshapeGradOp is the gradient of a reshape op: dx from x, an input only
// for its shape, and dy. It keeps its output buffer between runs.
type reshapeGradOp struct {
	fwd reshape
	out *tensor.Dense
}

func (op *reshapeGradOp) Arity() int { return 2 }
func (op *reshapeGradOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}
func (op *reshapeGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, expected 2", op.fwd.gradName(), len(in))
	}
	s, err := shapeOf(in[0], op.fwd.gradName()+" x")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}
func (op *reshapeGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *reshapeGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	name := op.fwd.gradName()
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, expected 2", name, len(in))
	}
	xs := in[0].Shape()
	dy, dys, err := float32s(in[1], name+" dy")
	if err != nil {
		return nil, err
	}
	want, err := op.fwd.outShape(xs)
	if err != nil {
		return nil, err
	}
	if !dys.Eq(want) {
		return nil, fmt.Errorf("%s: dy has shape %v, want %v for x %v", name, dys, want, xs)
	}
	out, dx := output(prealloc, &op.out, xs, dy)
	op.fwd.backward(dx, xs, dy, dys)
	return out, nil
}
func (op *reshapeGradOp) ReturnsPtr() bool     { return false }
func (op *reshapeGradOp) CallsExtern() bool    { return false }
func (op *reshapeGradOp) OverwritesInput() int { return -1 }

// WriteHash covers the forward op's whole hash, so the gradients of two
// different ops never merge.
func (op *reshapeGradOp) WriteHash(h hash.Hash) {
	fmt.Fprint(h, "nn.Grad(")
	op.fwd.WriteHash(h)
	fmt.Fprint(h, ")")
}
func (op *reshapeGradOp) Hashcode() uint32 { return hashOf(op) }
func (op *reshapeGradOp) String() string   { return "Grad(" + op.fwd.String() + ")" }
