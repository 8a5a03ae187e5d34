package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/quantize"
)

// FakeQuantOp quantizes and dequantizes a float32 or float64 tensor with fixed
// parameters (per tensor, or per channel along any axis; any [qmin, qmax]
// inside 8 bits; rounding half to even). Its gradient is straight-through,
// passed only where the value fell inside [qmin, qmax].
type FakeQuantOp struct {
	Params quantize.Params
	dims   int
	out    *tensor.Dense // output buffer reused between runs
}

// FakeQuant adds a fake-quantization of x with parameters p to x's graph.
func FakeQuant(x *gorgonia.Node, p quantize.Params) (*gorgonia.Node, error) {
	if err := checkFloats("FakeQuant", x); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("ops: FakeQuant: %w", err)
	}
	if x.Dims() < 1 {
		return nil, fmt.Errorf("ops: FakeQuant: %s is a scalar; fake-quantize a tensor", x.Name())
	}
	if err := p.CheckShape(x.Shape()); err != nil {
		return nil, fmt.Errorf("ops: FakeQuant: %w", err)
	}
	return gorgonia.ApplyOp(&FakeQuantOp{Params: p.Clone(), dims: x.Dims()}, x)
}

func (op *FakeQuantOp) Arity() int    { return 1 }
func (op *FakeQuantOp) Type() hm.Type { return fnType(1, op.dims) }

func (op *FakeQuantOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(ds) != 1 {
		return nil, fmt.Errorf("ops: FakeQuant takes 1 input, got %d", len(ds))
	}
	s, err := shapeOf(ds[0], op.dims, "FakeQuant input")
	if err != nil {
		return nil, err
	}
	if err := op.Params.CheckShape(s); err != nil {
		return nil, fmt.Errorf("ops: FakeQuant: %w", err)
	}
	return s.Clone(), nil
}

func (op *FakeQuantOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

func (op *FakeQuantOp) UsePreallocDo(prealloc gorgonia.Value, vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != 1 {
		return nil, fmt.Errorf("ops: FakeQuant takes 1 input, got %d", len(vs))
	}
	if isFloat64(vs[0]) {
		return fakeQuantDoG[float64](op, prealloc, vs)
	}
	x, xs, err := floats(vs[0], "FakeQuant input")
	if err != nil {
		return nil, err
	}
	if _, err := op.InferShape(xs); err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, xs, x)
	quantizeTensor(&quantized{fq: y}, op.Params, x, xs, nil, 0)
	return out, nil
}

func (op *FakeQuantOp) ReturnsPtr() bool     { return false }
func (op *FakeQuantOp) CallsExtern() bool    { return false }
func (op *FakeQuantOp) OverwritesInput() int { return -1 }

func (op *FakeQuantOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.FakeQuant{dims=%d ", op.dims)
	writeParams(h, op.Params)
	h.Write([]byte("}"))
}

func (op *FakeQuantOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *FakeQuantOp) String() string {
	return fmt.Sprintf("FakeQuant([%d, %d], axis=%d)", op.Params.QMin, op.Params.QMax, op.Params.Axis)
}

func (op *FakeQuantOp) DiffWRT(inputs int) []bool { return []bool{true} }

func (op *FakeQuantOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("ops: FakeQuant takes 1 input, got %d", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&FakeQuantGradOp{Params: op.Params, dims: op.dims}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// FakeQuantGradOp passes the gradient dy of a FakeQuantOp where its input x
// fell inside [qmin, qmax] and zeroes it elsewhere. Inputs: (x, dy).
type FakeQuantGradOp struct {
	Params quantize.Params
	dims   int
	out    *tensor.Dense // output buffer reused between runs
	mask   []bool        // scratch reused between runs
}

func (op *FakeQuantGradOp) Arity() int    { return 2 }
func (op *FakeQuantGradOp) Type() hm.Type { return fnType(2, op.dims) }

func (op *FakeQuantGradOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(ds) != 2 {
		return nil, fmt.Errorf("ops: FakeQuantGrad takes x and dy, got %d inputs", len(ds))
	}
	xs, err := shapeOf(ds[0], op.dims, "FakeQuantGrad x")
	if err != nil {
		return nil, err
	}
	dys, err := shapeOf(ds[1], op.dims, "FakeQuantGrad dy")
	if err != nil {
		return nil, err
	}
	if !xs.Eq(dys) {
		return nil, fmt.Errorf("ops: FakeQuantGrad: dy has shape %v, want %v", dys, xs)
	}
	return xs.Clone(), nil
}

func (op *FakeQuantGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

func (op *FakeQuantGradOp) UsePreallocDo(prealloc gorgonia.Value, vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("ops: FakeQuantGrad takes 2 inputs, got %d", len(vs))
	}
	if isFloat64(vs[0]) {
		return fakeQuantGradDoG[float64](op, prealloc, vs)
	}
	x, xs, err := floats(vs[0], "FakeQuantGrad x")
	if err != nil {
		return nil, err
	}
	dy, dys, err := floats(vs[1], "FakeQuantGrad dy")
	if err != nil {
		return nil, err
	}
	if _, err := op.InferShape(xs, dys); err != nil {
		return nil, err
	}
	op.mask = grow(op.mask, len(x))
	quantizeTensor(&quantized{mask: op.mask}, op.Params, x, xs, nil, 0)
	out, r := output(prealloc, &op.out, xs, x, dy)
	copy(r, dy)
	applyMask(r, op.mask, 0)
	return out, nil
}

func (op *FakeQuantGradOp) ReturnsPtr() bool     { return false }
func (op *FakeQuantGradOp) CallsExtern() bool    { return false }
func (op *FakeQuantGradOp) OverwritesInput() int { return -1 }

func (op *FakeQuantGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.FakeQuantGrad{dims=%d ", op.dims)
	writeParams(h, op.Params)
	h.Write([]byte("}"))
}

func (op *FakeQuantGradOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *FakeQuantGradOp) String() string { return "FakeQuantGrad" }
