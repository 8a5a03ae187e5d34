package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ReLU6 returns min(max(x, 0), 6) elementwise (MobileNetV2's activation). Its
// gradient is 1 strictly inside (0, 6) and 0 elsewhere, including at 0 and 6,
// matching PyTorch's hardtanh backward.
func ReLU6(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&ReLU6Op{dims: x.Shape().Dims()}, x)
}

// ReLU6Op is the op built by ReLU6. Only the input rank is a field (it fixes
// the type); the clamp bounds are constants.
type ReLU6Op struct {
	dims int
	out  *tensor.Dense // output buffer reused between runs
	loop mapLoop
}

func (op *ReLU6Op) Arity() int { return 1 }
func (op *ReLU6Op) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op *ReLU6Op) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("relu6: %d inputs, expected 1", len(in))
	}
	s, err := shapeOf(in[0], "relu6 input")
	if err != nil {
		return nil, err
	}
	if s.Dims() != op.dims {
		return nil, fmt.Errorf("relu6: input shape %v; the op was built for %d dimensions", s, op.dims)
	}
	return s.Clone(), nil
}
func (op *ReLU6Op) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *ReLU6Op) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("relu6: %d inputs, expected 1", len(in))
	}
	x, xs, err := float32s(in[0], "relu6 input")
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, xs, x)
	op.loop.run(relu6, y, x)
	return out, nil
}
func (op *ReLU6Op) ReturnsPtr() bool          { return false }
func (op *ReLU6Op) CallsExtern() bool         { return false }
func (op *ReLU6Op) OverwritesInput() int      { return -1 }
func (op *ReLU6Op) WriteHash(h hash.Hash)     { fmt.Fprintf(h, "nn.ReLU6(dims=%d)", op.dims) }
func (op *ReLU6Op) Hashcode() uint32          { return hashOf(op) }
func (op *ReLU6Op) String() string            { return "ReLU6" }
func (op *ReLU6Op) DiffWRT(inputs int) []bool { return []bool{true} }
func (op *ReLU6Op) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("relu6: %d inputs, expected 1", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&relu6GradOp{dims: op.dims}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// relu6GradOp passes dy where 0 < x < 6.
type relu6GradOp struct {
	dims int
	out  *tensor.Dense
	loop gradLoop
}

func (op *relu6GradOp) Arity() int { return 2 }
func (op *relu6GradOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}
func (op *relu6GradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("relu6 gradient: %d inputs, expected 2", len(in))
	}
	s, err := shapeOf(in[0], "relu6 gradient x")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}
func (op *relu6GradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *relu6GradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("relu6 gradient: %d inputs, expected 2", len(in))
	}
	x, xs, err := float32s(in[0], "relu6 gradient x")
	if err != nil {
		return nil, err
	}
	dy, dys, err := float32s(in[1], "relu6 gradient dy")
	if err != nil {
		return nil, err
	}
	if !xs.Eq(dys) {
		return nil, fmt.Errorf("relu6 gradient: x %v and dy %v differ in shape", xs, dys)
	}
	out, dx := output(prealloc, &op.out, xs, x, dy)
	op.loop.run(relu6Grad, dx, x, dy)
	return out, nil
}
func (op *relu6GradOp) ReturnsPtr() bool      { return false }
func (op *relu6GradOp) CallsExtern() bool     { return false }
func (op *relu6GradOp) OverwritesInput() int  { return -1 }
func (op *relu6GradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.ReLU6Grad(dims=%d)", op.dims) }
func (op *relu6GradOp) Hashcode() uint32      { return hashOf(op) }
func (op *relu6GradOp) String() string        { return "ReLU6Grad" }
