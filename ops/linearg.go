package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/values"
)

// A linear layer's weight may be a vector (in): a layer with one output,
// as gorgonia.Mul(X, theta) computes (logistic and linear regression). Its
// output is then (batch, 1), and its weight is quantized per tensor.

// isVector reports whether a weight shape is a vector.
func isVector(ws tensor.Shape) bool { return len(ws) == 1 }

// useGeneric reports whether a linear op's inputs go to the generic code:
// float64 values, or a vector weight.
func useGeneric(vs []gorgonia.Value) bool {
	for _, v := range vs {
		if t, ok := v.(tensor.Tensor); ok && (t.Dtype() == tensor.Float64 || t.Dims() == 1) {
			return true
		}
	}
	return false
}

func isFloat64(v gorgonia.Value) bool {
	t, ok := v.(tensor.Tensor)
	return ok && t.Dtype() == tensor.Float64
}

// readAll reads the input values of a generic op as T.
func readAll[T values.Float](vs []gorgonia.Value, names ...string) ([][]T, []tensor.Shape, error) {
	data := make([][]T, len(vs))
	shapes := make([]tensor.Shape, len(vs))
	for i, v := range vs {
		var err error
		if data[i], shapes[i], err = values.Read[T](v, names[i]); err != nil {
			return nil, nil, fmt.Errorf("ops: %w (all inputs of an op have one dtype, float32 or float64)", err)
		}
		shapes[i] = shapes[i].Clone()
	}
	return data, shapes, nil
}

// linearDoG is LinearOp.UsePreallocDo on the generic code.
func linearDoG[T values.Float](op *LinearOp, prealloc gorgonia.Value, vs []gorgonia.Value) (gorgonia.Value, error) {
	in, shapes, err := readAll[T](vs, "Linear input x", "Linear weights w")
	if err != nil {
		return nil, err
	}
	x, w, xs, ws := in[0], in[1], shapes[0], shapes[1]
	ys, err := op.InferShape(xs, ws)
	if err != nil {
		return nil, err
	}
	out, y := values.Output(prealloc, &op.out, ys, x, w)
	if err := linearForwardG(op.State, op.Layout, op.rec, y, x, w, xs, ws); err != nil {
		return nil, err
	}
	return out, nil
}

// linearForwardG computes y for the state's mode and records the run.
func linearForwardG[T values.Float](s *LayerState, layout WeightLayout, rec *runRecord, y, x, w []T, xs, ws tensor.Shape) error {
	vector := isVector(ws)
	wAxis := layout.outAxis()
	if vector {
		if s != nil && s.WParams.IsPerChannel() {
			return fmt.Errorf("ops: layer %q: a vector weight has one output; quantize it per tensor, not per channel", s.ID)
		}
		wAxis = 0
	}
	g, err := beginG(rec, s, x, xs, w, ws, wAxis)
	if err != nil {
		return err
	}
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	switch s.Mode {
	case Float, Observe:
		linearFloatG(layout, vector, y, x, w, m, n, k)
	case Quantized, Noise:
		g.quantizeInputs(rec, s, x, xs, w, ws, false, true)
		linearFloatG(layout, vector, y, g.x.q.fq, g.w.q.fq, m, n, k)
		if s.Mode == Noise && s.Training {
			g.noise = addNoise(s, y, &g.noiseBuf)
		}
	case Approximate, Surrogate:
		g.quantizeInputs(rec, s, x, xs, w, ws, true, false)
		if vector {
			layout = OutIn // one row of k codes: both layouts are the same
		}
		_, err := linearApprox(s, rec, layout, y, g.x.q.bytes, g.w.q.bytes, m, n, k)
		return err
	}
	return nil
}

// linearFloatG computes y (m×n) = x (m×k) · Wᵀ, W stored per layout, with
// the BLAS call gorgonia.Mul makes for the same operands.
func linearFloatG[T values.Float](layout WeightLayout, vector bool, y, x, w []T, m, n, k int) {
	switch {
	case vector:
		gemv(m, k, x, w, y)
	case layout == InOut:
		gemm(false, false, m, n, k, x, k, w, n, y, n)
	default:
		gemm(false, true, m, n, k, x, k, w, k, y, n)
	}
}

// linearGradDoG is LinearGradOp.UsePreallocDo on the generic code.
func linearGradDoG[T values.Float](op *LinearGradOp, prealloc gorgonia.Value, vs []gorgonia.Value) (gorgonia.Value, error) {
	in, shapes, err := readAll[T](vs, "LinearGrad x", "LinearGrad w", "LinearGrad dy")
	if err != nil {
		return nil, err
	}
	x, w, dy := in[0], in[1], in[2]
	rs, err := op.InferShape(shapes[0], shapes[1], shapes[2])
	if err != nil {
		return nil, err
	}
	if !op.rec.ran {
		return nil, errNoForward
	}
	out, r := values.Output(prealloc, &op.out, rs, x, w, dy)
	if !gradNeeded(op.node) {
		clear(r)
		return out, nil
	}
	own := genericOwn[T](&op.own64, &op.own32)
	if op.rec.grad.Kind == TableGradient {
		if err := linearTableBackwardG(op.State, op.rec, op.Layout, op.WRT, r, x, w, dy, shapes[0], shapes[1], own, &op.tg); err != nil {
			return nil, err
		}
		return out, nil
	}
	linearBackwardG(op.rec, op.Layout, op.WRT, r, x, w, dy, shapes[0], shapes[1], own, op.State.threads())
	return out, nil
}

// genericOwn returns a gradient op's scratch operands for T.
func genericOwn[T values.Float](o64 **[2]operandG[float64], o32 **[2]operandG[float32]) *[2]operandG[T] {
	var z T
	if _, ok := any(z).(float64); ok {
		if *o64 == nil {
			*o64 = new([2]operandG[float64])
		}
		return any(*o64).(*[2]operandG[T])
	}
	if *o32 == nil {
		*o32 = new([2]operandG[float32])
	}
	return any(*o32).(*[2]operandG[T])
}

// linearBackwardG writes into r the gradient with respect to input wrt.
func linearBackwardG[T values.Float](rec *runRecord, layout WeightLayout, wrt int, r, x, w, dy []T, xs, ws tensor.Shape, own *[2]operandG[T], threads int) {
	g := generic[T](rec)
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	if isVector(ws) {
		layout = InOut // w is k×1
	}
	dy = g.noise.backward(dy, threads)
	var mask []bool
	if rec.mode.Quantizes() {
		xq, wq := g.gradInputs(rec, x, xs, w, ws, own, threads)
		x, w, mask = xq.fq, wq.fq, xq.mask
		if wrt == 1 {
			mask = wq.mask
		}
	}
	switch {
	case wrt == 0 && layout == OutIn: // dx (m×k) = dy (m×n) · W (n×k)
		gemm(false, false, m, k, n, dy, n, w, k, r, k)
	case wrt == 0: // dx (m×k) = dy (m×n) · Wᵀ, W (k×n)
		gemm(false, true, m, k, n, dy, n, w, n, r, k)
	case layout == OutIn: // dW (n×k) = dyᵀ (n×m) · x (m×k)
		gemm(true, false, n, k, m, dy, n, x, k, r, k)
	default: // dW (k×n) = xᵀ (k×m) · dy (m×n)
		gemm(true, false, k, n, m, x, k, dy, n, r, n)
	}
	applyMaskG(r, mask, threads)
}
