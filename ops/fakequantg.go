package ops

import (
	"gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/internal/values"
)

// fakeQuantDoG is FakeQuantOp.UsePreallocDo for float64 values.
func fakeQuantDoG[T values.Float](op *FakeQuantOp, prealloc gorgonia.Value, vs []gorgonia.Value) (gorgonia.Value, error) {
	in, shapes, err := readAll[T](vs, "FakeQuant input")
	if err != nil {
		return nil, err
	}
	if _, err := op.InferShape(shapes[0]); err != nil {
		return nil, err
	}
	out, y := values.Output(prealloc, &op.out, shapes[0], in[0])
	quantizeG(&quantizedG[T]{fq: y}, op.Params, in[0], shapes[0], nil, 0)
	return out, nil
}

// fakeQuantGradDoG is FakeQuantGradOp.UsePreallocDo for float64 values.
func fakeQuantGradDoG[T values.Float](op *FakeQuantGradOp, prealloc gorgonia.Value, vs []gorgonia.Value) (gorgonia.Value, error) {
	in, shapes, err := readAll[T](vs, "FakeQuantGrad x", "FakeQuantGrad dy")
	if err != nil {
		return nil, err
	}
	x, dy := in[0], in[1]
	if _, err := op.InferShape(shapes[0], shapes[1]); err != nil {
		return nil, err
	}
	op.mask = grow(op.mask, len(x))
	quantizeG(&quantizedG[T]{mask: op.mask}, op.Params, x, shapes[0], nil, 0)
	out, r := values.Output(prealloc, &op.out, shapes[0], x, dy)
	copy(r, dy)
	applyMaskG(r, op.mask, 0)
	return out, nil
}
