package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestBatchNormSums checks the unrolled float64 sums against plain loops
// for every length up to past the unrolling.
func TestBatchNormSums(t *testing.T) {
	v := randTensor(3, 2, 11).Float32s()
	g := randTensor(4, 1, 11).Float32s()
	for n := 0; n <= len(v); n++ {
		var sum, sq, sdy, sdyx float64
		const mean, inv = 0.3, 1.7
		for i := 0; i < n; i++ {
			sum += float64(v[i])
			d := float64(v[i]) - mean
			sq += d * d
			sdy += float64(g[i])
			sdyx += float64(g[i]) * float64((v[i]-mean)*inv)
		}
		a, b := sumsDyXhat(v[:n], g[:n], mean, inv)
		if !near(sum64(v[:n]), sum, 1e-12) || !near(sqDev64(v[:n], mean), sq, 1e-12) || !near(a, sdy, 1e-12) || !near(b, sdyx, 1e-12) {
			t.Errorf("n=%d: sums %g %g %g %g, want %g %g %g %g", n, sum64(v[:n]), sqDev64(v[:n], mean), a, b, sum, sq, sdy, sdyx)
		}
	}
}

// TestBatchNormGradientsAcrossRuns runs the ops on two batches held in the
// same buffers (as a machine does): the gradient ops share their sums within
// a run and must not carry them into the next. The second run must match
// fresh ops.
func TestBatchNormGradientsAcrossRuns(t *testing.T) {
	shape := tensor.Shape{3, 2, 4, 5}
	s, b := randTensor(5, 1, 2), randTensor(6, 1, 2)
	// run computes the gradients in the given order; a scale or bias
	// gradient run before dx computes the sums itself (its fourth input,
	// dx, is only there to order the ops in a graph).
	run := func(fwd *BatchNormOp, x, dy *tensor.Dense, order ...int) [][]float32 {
		t.Helper()
		if _, err := fwd.Do(x, s, b); err != nil {
			t.Fatal(err)
		}
		out := make([][]float32, 3)
		for _, wrt := range order {
			in := []G.Value{x, s, dy}
			if wrt > 0 {
				in = append(in, x)
			}
			g, err := (&batchNormGradOp{fwd: fwd, wrt: wrt}).Do(in...)
			if err != nil {
				t.Fatal(err)
			}
			out[wrt] = append([]float32(nil), g.Data().([]float32)...)
		}
		return out
	}
	newOp := func() *BatchNormOp { return &BatchNormOp{state: NewBatchNormState(2), dims: 4, channels: 2} }
	x, dy := randTensor(1, 1, shape...), randTensor(2, 1, shape...)
	op := newOp()
	run(op, x, dy, 0, 1, 2)
	copy(x.Float32s(), randTensor(3, 3, shape...).Float32s())
	got := run(op, x, dy, 2, 1, 0)
	want := run(newOp(), x, dy, 0, 1, 2)
	for k := range want {
		for i := range want[k] {
			if math.Abs(float64(got[k][i]-want[k][i])) > 1e-6 {
				t.Fatalf("gradient %d element %d: second run %g, fresh ops %g", k, i, got[k][i], want[k][i])
			}
		}
	}
}
