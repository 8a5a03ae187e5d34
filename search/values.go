package search

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// floats is a tensor's data in row-major order, as float32 or float64
// (exactly one of the two slices is set).
type floats struct {
	f32   []float32
	f64   []float64
	shape tensor.Shape
}

func (f floats) len() int {
	if f.f32 != nil {
		return len(f.f32)
	}
	return len(f.f64)
}

func (f floats) at(i int) float64 {
	if f.f32 != nil {
		return float64(f.f32[i])
	}
	return f.f64[i]
}

func (f floats) dtype() tensor.Dtype {
	if f.f32 != nil {
		return tensor.Float32
	}
	return tensor.Float64
}

// tensorFloats reads a float32 or float64 tensor value; views, which
// Gorgonia may pass to Do, are materialised into a contiguous copy.
func tensorFloats(v gorgonia.Value, what string) (floats, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return floats{}, fmt.Errorf("%s: expected a float tensor, got %T", what, v)
	}
	if t.IsMaterializable() {
		m, ok := t.Materialize().(*tensor.Dense)
		if !ok {
			return floats{}, fmt.Errorf("%s: could not materialise a view", what)
		}
		t = m
	}
	switch t.Dtype() {
	case tensor.Float32:
		d := t.Float32s()
		if d == nil {
			d = []float32{}
		}
		return floats{f32: d, shape: t.Shape()}, nil
	case tensor.Float64:
		d := t.Float64s()
		if d == nil {
			d = []float64{}
		}
		return floats{f64: d, shape: t.Shape()}, nil
	}
	return floats{}, fmt.Errorf("%s: expected float32 or float64, got %v", what, t.Dtype())
}

// scalarValue reads a float32 or float64 scalar: Gorgonia's *F32 or *F64,
// or a one-element tensor.
func scalarValue(v gorgonia.Value, what string) (float64, tensor.Dtype, error) {
	switch s := v.(type) {
	case *gorgonia.F32:
		return float64(*s), tensor.Float32, nil
	case *gorgonia.F64:
		return float64(*s), tensor.Float64, nil
	case *tensor.Dense:
		if s.Shape().TotalSize() == 1 {
			switch s.Dtype() {
			case tensor.Float32:
				return float64(s.Float32s()[0]), tensor.Float32, nil
			case tensor.Float64:
				return s.Float64s()[0], tensor.Float64, nil
			}
		}
	}
	if v == nil {
		return 0, tensor.Dtype{}, fmt.Errorf("%s: no value", what)
	}
	return 0, tensor.Dtype{}, fmt.Errorf("%s: expected a float32 or float64 scalar, got %T of shape %v", what, v, v.Shape())
}

// newScalar returns v as a scalar value of dtype dt.
func newScalar(v float64, dt tensor.Dtype) gorgonia.Value {
	if dt == tensor.Float64 {
		return gorgonia.NewF64(v)
	}
	return gorgonia.NewF32(float32(v))
}

// isScalarShape accepts Gorgonia's scalar shape and one-element shapes.
func isScalarShape(s tensor.Shape) bool {
	return s.IsScalar() || s.TotalSize() == 1
}

func bits(v float64) uint64 { return math.Float64bits(v) }
