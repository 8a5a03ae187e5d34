package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/internal/values"
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
	return gorgonia.ApplyOp(newReLUOp(x.Shape().Dims()), x)
}

// ReLU6 returns min(max(x, 0), 6) elementwise (MobileNetV2's activation). Its
// gradient is 1 strictly inside (0, 6) and 0 elsewhere, including at 0 and 6
// and for NaN, matching PyTorch's hardtanh backward.
func ReLU6(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(newReLU6Op(x.Shape().Dims()), x)
}

// ReLUOp and ReLU6Op are the ops built by ReLU and ReLU6: one clamp
// min(max(x, 0), hi), on float32 (the AVX2 loops of vec.go) and float64
// values. Only the input rank is a field (it fixes the type).
type (
	ReLUOp  struct{ clampOp }
	ReLU6Op struct{ clampOp }
)

func newReLUOp(dims int) *ReLUOp   { return &ReLUOp{clampOp{dims: dims}} }
func newReLU6Op(dims int) *ReLU6Op { return &ReLU6Op{clampOp{Six: true, dims: dims}} }

// clampOp is the implementation of both: hi is 6 with Six, +Inf without.
type clampOp struct {
	Six  bool
	dims int
	out  *tensor.Dense // output buffer reused between runs
	loop mapLoop
}

// clampNames name the ops and their inputs in errors, as constants so that
// a run builds no strings.
var clampNames = [2]struct{ op, in, grad, x, dy string }{
	{"relu", "relu input", "relu gradient", "relu gradient x", "relu gradient dy"},
	{"relu6", "relu6 input", "relu6 gradient", "relu6 gradient x", "relu6 gradient dy"},
}

func clampName(six bool) *struct{ op, in, grad, x, dy string } {
	if six {
		return &clampNames[1]
	}
	return &clampNames[0]
}

func (op *clampOp) name() string { return clampName(op.Six).op }

func (op *clampOp) Arity() int { return 1 }
func (op *clampOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op *clampOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: %d inputs, expected 1", op.name(), len(in))
	}
	s, err := shapeOf(in[0], clampName(op.Six).in)
	if err != nil {
		return nil, err
	}
	if s.Dims() != op.dims {
		return nil, fmt.Errorf("%s: input shape %v; the op was built for %d dimensions", op.name(), s, op.dims)
	}
	return s.Clone(), nil
}
func (op *clampOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *clampOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: %d inputs, expected 1", op.name(), len(in))
	}
	if isFloat64(in[0]) {
		x, xs, err := values.Read[float64](in[0], clampName(op.Six).in)
		if err != nil {
			return nil, err
		}
		out, y := values.Output(prealloc, &op.out, xs, x)
		hi := math.Inf(1)
		if op.Six {
			hi = 6
		}
		parallel.Run(len(y), 0, minPerPart, parallel.Func(func(_, lo, end int) {
			for i, v := range x[lo:end] {
				y[lo+i] = min(max(v, 0), hi)
			}
		}))
		return out, nil
	}
	x, xs, err := float32s(in[0], clampName(op.Six).in)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, xs, x)
	if op.Six {
		op.loop.run(relu6, y, x)
	} else {
		op.loop.run(relu, y, x)
	}
	return out, nil
}
func (op *clampOp) ReturnsPtr() bool     { return false }
func (op *clampOp) CallsExtern() bool    { return false }
func (op *clampOp) OverwritesInput() int { return -1 }
func (op *clampOp) WriteHash(h hash.Hash) {
	if op.Six {
		fmt.Fprintf(h, "nn.ReLU6(dims=%d)", op.dims)
		return
	}
	fmt.Fprintf(h, "nn.ReLU(dims=%d)", op.dims)
}
func (op *clampOp) Hashcode() uint32 { return hashOf(op) }
func (op *clampOp) String() string {
	if op.Six {
		return "ReLU6"
	}
	return "ReLU"
}
func (op *clampOp) DiffWRT(inputs int) []bool { return []bool{true} }
func (op *clampOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%s: %d inputs, expected 1", op.name(), len(inputs))
	}
	g, err := gorgonia.ApplyOp(&ClampGradOp{Six: op.Six, dims: op.dims}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// ClampGradOp passes dy where the ClampOp's input was inside its range:
// x > 0 for ReLU (NaN passes), 0 < x < 6 for ReLU6 (NaN does not).
type ClampGradOp struct {
	Six  bool
	dims int
	out  *tensor.Dense
	loop gradLoop
}

func (op *ClampGradOp) name() string { return clampName(op.Six).grad }

func (op *ClampGradOp) Arity() int { return 2 }
func (op *ClampGradOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}
func (op *ClampGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, expected 2", op.name(), len(in))
	}
	s, err := shapeOf(in[0], clampName(op.Six).x)
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}
func (op *ClampGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *ClampGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, expected 2", op.name(), len(in))
	}
	if isFloat64(in[0]) {
		return clampGrad64(op, prealloc, in)
	}
	x, xs, err := float32s(in[0], clampName(op.Six).x)
	if err != nil {
		return nil, err
	}
	dy, dys, err := float32s(in[1], clampName(op.Six).dy)
	if err != nil {
		return nil, err
	}
	if !xs.Eq(dys) || len(x) != len(dy) {
		return nil, fmt.Errorf("%s: x %v and dy %v differ in shape", op.name(), xs, dys)
	}
	out, dx := output(prealloc, &op.out, xs, x, dy)
	if op.Six {
		op.loop.run(relu6Grad, dx, x, dy)
	} else {
		op.loop.run(reluGrad, dx, x, dy)
	}
	return out, nil
}

func clampGrad64(op *ClampGradOp, prealloc gorgonia.Value, in []gorgonia.Value) (gorgonia.Value, error) {
	x, xs, err := values.Read[float64](in[0], clampName(op.Six).x)
	if err != nil {
		return nil, err
	}
	dy, dys, err := values.Read[float64](in[1], clampName(op.Six).dy)
	if err != nil {
		return nil, err
	}
	if !xs.Eq(dys) || len(x) != len(dy) {
		return nil, fmt.Errorf("%s: x %v and dy %v differ in shape", op.name(), xs, dys)
	}
	out, dx := values.Output(prealloc, &op.out, xs, x, dy)
	six := op.Six
	parallel.Run(len(dx), 0, minPerPart, parallel.Func(func(_, lo, end int) {
		for i, v := range x[lo:end] {
			pass := !(v <= 0)
			if six {
				pass = v > 0 && v < 6
			}
			if pass {
				dx[lo+i] = dy[lo+i]
			} else {
				dx[lo+i] = 0
			}
		}
	}))
	return out, nil
}
func (op *ClampGradOp) ReturnsPtr() bool     { return false }
func (op *ClampGradOp) CallsExtern() bool    { return false }
func (op *ClampGradOp) OverwritesInput() int { return -1 }
func (op *ClampGradOp) WriteHash(h hash.Hash) {
	if op.Six {
		fmt.Fprintf(h, "nn.ReLU6Grad(dims=%d)", op.dims)
		return
	}
	fmt.Fprintf(h, "nn.ReLUGrad(dims=%d)", op.dims)
}
func (op *ClampGradOp) Hashcode() uint32 { return hashOf(op) }
func (op *ClampGradOp) String() string {
	if op.Six {
		return "ReLU6Grad"
	}
	return "ReLUGrad"
}
