package nn

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Hand-computed case: (N=4, F=2). Channel 0 holds 1,2,3,4: mean 2.5, biased
// variance 1.25, unbiased 5/3. Channel 1 holds 0,0,0,8: mean 2, biased
// variance 12, unbiased 16.
func TestBatchNormTrainingThenEvalHandComputed(t *testing.T) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, f32(tensor.Shape{4, 2}, 1, 0, 2, 0, 3, 0, 4, 8), G.WithName("x"))
	scale := G.NodeFromAny(g, f32(tensor.Shape{2}, 2, 1), G.WithName("scale"))
	bias := G.NodeFromAny(g, f32(tensor.Shape{2}, 0.5, -1), G.WithName("bias"))
	st := NewBatchNormState(2)
	y, err := BatchNorm(x, scale, bias, st)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	inv0 := 1 / math.Sqrt(1.25+1e-5)
	inv1 := 1 / math.Sqrt(12+1e-5)
	want := []float64{
		(1-2.5)*inv0*2 + 0.5, (0-2)*inv1 - 1,
		(2-2.5)*inv0*2 + 0.5, (0-2)*inv1 - 1,
		(3-2.5)*inv0*2 + 0.5, (0-2)*inv1 - 1,
		(4-2.5)*inv0*2 + 0.5, (8-2)*inv1 - 1,
	}
	for i, v := range y.Value().Data().([]float32) {
		if !near(float64(v), want[i], 1e-5) {
			t.Errorf("training y[%d] = %g, want %g", i, v, want[i])
		}
	}
	// Running statistics after one step from (0, 1) with momentum 0.1, using
	// the unbiased batch variance.
	wantMean := []float64{0.25, 0.2}
	wantVar := []float64{0.9 + 0.1*5.0/3, 0.9 + 0.1*16}
	for c := 0; c < 2; c++ {
		if !near(float64(st.Mean[c]), wantMean[c], 1e-6) || !near(float64(st.Var[c]), wantVar[c], 1e-6) {
			t.Errorf("channel %d running mean/var %g/%g, want %g/%g", c, st.Mean[c], st.Var[c], wantMean[c], wantVar[c])
		}
	}

	// Same compiled machine, evaluation mode: running statistics, no update.
	st.Training = false
	m.Reset()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	xs := []float64{1, 0, 2, 0, 3, 0, 4, 8}
	for i, v := range y.Value().Data().([]float32) {
		c := i % 2
		w := (xs[i]-wantMean[c])/math.Sqrt(wantVar[c]+1e-5)*[]float64{2, 1}[c] + []float64{0.5, -1}[c]
		if !near(float64(v), w, 1e-5) {
			t.Errorf("eval y[%d] = %g, want %g", i, v, w)
		}
	}
	if !near(float64(st.Mean[0]), 0.25, 1e-7) {
		t.Errorf("evaluation changed the running mean to %g", st.Mean[0])
	}
}

func TestBatchNormGradientsNCHW(t *testing.T) {
	st := NewBatchNormState(3)
	build := func(in []*G.Node) (*G.Node, error) { return BatchNorm(in[0], in[1], in[2], st) }
	inputs := []*tensor.Dense{randTensor(1, 1, 2, 3, 2, 2), f32(tensor.Shape{3}, 1.5, -0.7, 0.3), f32(tensor.Shape{3}, 0.1, 0.2, -0.3)}
	// Shift channel 1 so mean and variance are far from (0, 1).
	for i, v := range inputs[0].Float32s() {
		if (i/4)%3 == 1 {
			inputs[0].Float32s()[i] = 3*v + 5
		}
	}
	checkGrad(t, build, inputs, []bool{true, true, true}, 1e-2, 2e-3, 1e-2)

	// In training mode the x-gradient of each channel sums to zero (shifting
	// a channel's inputs does not change its normalised output).
	_, grads := cost(t, build, inputs, []bool{true, false, false}, true)
	sums := make([]float64, 3)
	for i, v := range grads[0].Float32s() {
		sums[(i/4)%3] += float64(v)
	}
	for c, s := range sums {
		if math.Abs(s) > 1e-5 {
			t.Errorf("channel %d: Σ dx = %g, want 0", c, s)
		}
	}

	st.Training = false
	st.Var[2] = 0.25
	checkGrad(t, build, inputs, []bool{true, true, true}, 1e-2, 2e-3, 1e-2)
}

func TestBatchNormGradientsNF(t *testing.T) {
	st := NewBatchNormState(4)
	build := func(in []*G.Node) (*G.Node, error) { return BatchNorm(in[0], in[1], in[2], st) }
	inputs := []*tensor.Dense{randTensor(2, 2, 5, 4), randTensor(3, 1, 4), randTensor(4, 1, 4)}
	checkGrad(t, build, inputs, []bool{true, true, true}, 1e-2, 2e-3, 1e-2)
}

func TestBatchNormHashAndErrors(t *testing.T) {
	s1, s2 := NewBatchNormState(3), NewBatchNormState(3)
	a := &BatchNormOp{state: s1, dims: 4, channels: 3}
	b := &BatchNormOp{state: s2, dims: 4, channels: 3}
	c := &BatchNormOp{state: s1, dims: 2, channels: 3}
	a2 := &BatchNormOp{state: s1, dims: 4, channels: 3}
	if a.Hashcode() == b.Hashcode() || a.Hashcode() == c.Hashcode() || a.Hashcode() != a2.Hashcode() {
		t.Error("BatchNormOp hash does not follow (state, dims, channels)")
	}
	gx, gs := &batchNormGradOp{fwd: a, wrt: 0}, &batchNormGradOp{fwd: a, wrt: 1}
	if gx.Hashcode() == gs.Hashcode() || gx.Hashcode() == (&batchNormGradOp{fwd: b}).Hashcode() {
		t.Error("gradient ops with different targets share a hash")
	}

	// Two layers on the same input with different states stay two nodes.
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 2, 2), G.WithName("x"))
	sc := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("s"))
	bi := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("b"))
	y1, _ := BatchNorm(x, sc, bi, s1)
	y2, _ := BatchNorm(x, sc, bi, s2)
	if y1 == y2 {
		t.Error("batch norms with different states were merged")
	}

	bad := G.NewVector(g, tensor.Float32, G.WithShape(4), G.WithName("bad"))
	if _, err := BatchNorm(x, bad, bi, s1); err == nil || !strings.Contains(err.Error(), "expected (3)") {
		t.Errorf("wrong scale size: %v", err)
	}
	if _, err := BatchNorm(x, sc, bi, NewBatchNormState(2)); err == nil {
		t.Error("state with the wrong channel count accepted")
	}
	v := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("v"))
	if _, err := BatchNorm(v, sc, bi, s1); err == nil {
		t.Error("1-d input accepted")
	}
	// One value per channel cannot give a batch variance.
	one := &BatchNormOp{state: NewBatchNormState(2), dims: 2, channels: 2}
	if _, err := one.Do(f32(tensor.Shape{1, 2}, 1, 2), f32(tensor.Shape{2}, 1, 1), f32(tensor.Shape{2}, 0, 0)); err == nil {
		t.Error("training on a batch of one accepted")
	}
}
