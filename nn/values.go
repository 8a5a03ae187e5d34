package nn

import (
	"fmt"
	"unsafe"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// float32s returns v's data in row-major order with its shape. Views (which
// Gorgonia may pass to Do) are materialised into a contiguous copy.
func float32s(v gorgonia.Value, what string) ([]float32, tensor.Shape, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, nil, fmt.Errorf("%s: expected a float32 tensor, got %T", what, v)
	}
	if t.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("%s: expected float32, got %v", what, t.Dtype())
	}
	if t.IsMaterializable() {
		m, ok := t.Materialize().(*tensor.Dense)
		if !ok {
			return nil, nil, fmt.Errorf("%s: could not materialise a view", what)
		}
		t = m
	}
	return t.Float32s(), t.Shape(), nil
}

// scalar32 reads a scalar float32 value (an upstream gradient of a loss),
// either Gorgonia's *F32 or a one-element tensor.
func scalar32(v gorgonia.Value, what string) (float32, error) {
	switch s := v.(type) {
	case *gorgonia.F32:
		return float32(*s), nil
	case *tensor.Dense:
		if s.Dtype() == tensor.Float32 && s.Shape().TotalSize() == 1 {
			return s.Float32s()[0], nil
		}
	}
	return 0, fmt.Errorf("%s: expected a float32 scalar, got %T %v", what, v, v.Shape())
}

// reuse returns prealloc's backing slice when prealloc is a contiguous
// float32 tensor of exactly the wanted shape that shares no memory with the
// inputs; otherwise nil, and the caller allocates. The TapeMachine passes
// whatever its register last held, which may belong to another node.
func reuse(prealloc gorgonia.Value, shape tensor.Shape, inputs ...[]float32) []float32 {
	t, ok := prealloc.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 || !t.Shape().Eq(shape) || t.IsMaterializable() {
		return nil
	}
	out := t.Float32s()
	if len(out) != shape.TotalSize() || len(out) == 0 {
		return nil
	}
	for _, in := range inputs {
		if overlaps(out, in) {
			return nil
		}
	}
	return out
}

func overlaps(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0 := uintptr(unsafe.Pointer(&a[0]))
	b0 := uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+uintptr(len(b))*4 && b0 < a0+uintptr(len(a))*4
}

// output returns the tensor an op writes its result into: the machine's
// preallocated value if it fits, else the op's own buffer from its previous
// run (cache, may be nil), else a new tensor that becomes the op's buffer.
// The TapeMachine clears its registers on Reset, so without the op's buffer
// every run would allocate; like any Gorgonia value, a result is valid only
// until the next run.
func output(prealloc gorgonia.Value, cache **tensor.Dense, shape tensor.Shape, inputs ...[]float32) (*tensor.Dense, []float32) {
	if buf := reuse(prealloc, shape, inputs...); buf != nil {
		return prealloc.(*tensor.Dense), buf
	}
	if cache != nil && *cache != nil {
		if buf := reuse(*cache, shape, inputs...); buf != nil {
			return *cache, buf
		}
	}
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape.Clone()...))
	if cache != nil {
		*cache = t
	}
	return t, t.Float32s()
}

// shapeOf converts an InferShape argument.
func shapeOf(d gorgonia.DimSizer, what string) (tensor.Shape, error) {
	s, ok := d.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: expected a tensor.Shape, got %T", what, d)
	}
	return s, nil
}
