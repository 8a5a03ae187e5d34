package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ReLU returns max(x, 0) elementwise, as one op with its own gradient op.
// Gorgonia's Rectify builds x ⊙ (x >= 0) from two element-wise nodes that
// allocate a new tensor on every run (a comparison mask and a product) and
// differentiates through the product; in a LeNet-5 training step that was
// 15% of the time and over half of the memory allocated.
//
// Semantics are PyTorch's: the gradient is dy where x > 0 and 0 where
// x <= 0 (Rectify passes dy at exactly 0); NaN stays NaN and passes dy,
// -Inf gives 0 (Rectify gives NaN), -0 gives +0.
func ReLU(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&ReLUOp{dims: x.Shape().Dims()}, x)
}

// ReLUOp is the op built by ReLU. Only the input rank is a field (it fixes
// the type).
type ReLUOp struct {
	dims int
	out  *tensor.Dense // output buffer reused between runs
	loop mapLoop
}

func (op *ReLUOp) Arity() int { return 1 }
func (op *ReLUOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op *ReLUOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("relu: %d inputs, expected 1", len(in))
	}
	s, err := shapeOf(in[0], "relu input")
	if err != nil {
		return nil, err
	}
	if s.Dims() != op.dims {
		return nil, fmt.Errorf("relu: input shape %v; the op was built for %d dimensions", s, op.dims)
	}
	return s.Clone(), nil
}
func (op *ReLUOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *ReLUOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("relu: %d inputs, expected 1", len(in))
	}
	x, xs, err := float32s(in[0], "relu input")
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, xs, x)
	op.loop.run(relu, y, x)
	return out, nil
}
func (op *ReLUOp) ReturnsPtr() bool          { return false }
func (op *ReLUOp) CallsExtern() bool         { return false }
func (op *ReLUOp) OverwritesInput() int      { return -1 }
func (op *ReLUOp) WriteHash(h hash.Hash)     { fmt.Fprintf(h, "nn.ReLU(dims=%d)", op.dims) }
func (op *ReLUOp) Hashcode() uint32          { return hashOf(op) }
func (op *ReLUOp) String() string            { return "ReLU" }
func (op *ReLUOp) DiffWRT(inputs int) []bool { return []bool{true} }
func (op *ReLUOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("relu: %d inputs, expected 1", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&reluGradOp{dims: op.dims}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// reluGradOp passes dy where x is not <= 0.
type reluGradOp struct {
	dims int
	out  *tensor.Dense
	loop gradLoop
}

func (op *reluGradOp) Arity() int { return 2 }
func (op *reluGradOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}
func (op *reluGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("relu gradient: %d inputs, expected 2", len(in))
	}
	s, err := shapeOf(in[0], "relu gradient x")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}
func (op *reluGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *reluGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("relu gradient: %d inputs, expected 2", len(in))
	}
	x, xs, err := float32s(in[0], "relu gradient x")
	if err != nil {
		return nil, err
	}
	dy, dys, err := float32s(in[1], "relu gradient dy")
	if err != nil {
		return nil, err
	}
	if !xs.Eq(dys) || len(x) != len(dy) {
		return nil, fmt.Errorf("relu gradient: x %v and dy %v differ in shape", xs, dys)
	}
	out, dx := output(prealloc, &op.out, xs, x, dy)
	op.loop.run(reluGrad, dx, x, dy)
	return out, nil
}
func (op *reluGradOp) ReturnsPtr() bool      { return false }
func (op *reluGradOp) CallsExtern() bool     { return false }
func (op *reluGradOp) OverwritesInput() int  { return -1 }
func (op *reluGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.ReLUGrad(dims=%d)", op.dims) }
func (op *reluGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *reluGradOp) String() string        { return "ReLUGrad" }
