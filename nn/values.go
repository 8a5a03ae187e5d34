package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/values"
)

// float32s returns v's data in row-major order with its shape. Views (which
// Gorgonia may pass to Do) are materialised into a contiguous copy.
func float32s(v gorgonia.Value, what string) ([]float32, tensor.Shape, error) {
	return values.Read[float32](v, what)
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

// output returns the tensor an op writes its result into (values.Output:
// the machine's preallocated value if it fits, else the op's own buffer
// from its previous run, cache, may be nil, else a new one).
func output(prealloc gorgonia.Value, cache **tensor.Dense, shape tensor.Shape, inputs ...[]float32) (*tensor.Dense, []float32) {
	return values.Output(prealloc, cache, shape, inputs...)
}

// shapeOf converts an InferShape argument.
func shapeOf(d gorgonia.DimSizer, what string) (tensor.Shape, error) {
	return values.Shape(d, -1, what)
}
