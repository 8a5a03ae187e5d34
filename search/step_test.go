package search

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// searchSteps trains two layers' sigmas and a weight with SGD on
// Σ noisy(x⊙w_l)⊙c − λ·R for the given steps and returns the sigmas
// after each step and the final weights.
func searchSteps(t *testing.T, c []float64, steps, threads int, lambda, sigmaMax, lr float64) ([][2]float64, []float64) {
	t.Helper()
	const rows, cols = 3, NoiseChunk + 1000 // four chunks
	g := gorgonia.NewGraph()
	x := gorgonia.NodeFromAny(g, tensorOf(tensor.Float64, randomValues(21, rows*cols), rows, cols), gorgonia.WithName("x"))
	w := gorgonia.NodeFromAny(g, tensorOf(tensor.Float64, randomValues(22, rows*cols), rows, cols), gorgonia.WithName("w"))
	cn := gorgonia.NodeFromAny(g, tensorOf(tensor.Float64, c, rows, cols), gorgonia.WithName("c"))
	var sigmas gorgonia.Nodes
	var ops []*LearnedNoiseOp
	var terms gorgonia.Nodes
	for l := range 2 {
		s := gorgonia.NewScalar(g, tensor.Float64, gorgonia.WithName([]string{"sigma1", "sigma2"}[l]), gorgonia.WithValue(0.1))
		y, err := gorgonia.HadamardProd(x, w)
		if err != nil {
			t.Fatal(err)
		}
		if l == 1 {
			if y, err = gorgonia.Square(y); err != nil {
				t.Fatal(err)
			}
		}
		out, op, err := LearnedNoise(y, s, []string{"l1", "l2"}[l], uint64(100+l), threads)
		if err != nil {
			t.Fatal(err)
		}
		p, err := gorgonia.HadamardProd(out, cn)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := gorgonia.Sum(p)
		if err != nil {
			t.Fatal(err)
		}
		sigmas, ops, terms = append(sigmas, s), append(ops, op), append(terms, sum)
	}
	task, err := gorgonia.Add(terms[0], terms[1])
	if err != nil {
		t.Fatal(err)
	}
	// Layer 2 costs three times the multiplications of layer 1.
	loss, err := SearchLoss(task, sigmas, []int64{1000, 3000}, lambda, sigmaMax)
	if err != nil {
		t.Fatal(err)
	}
	learn := gorgonia.Nodes{sigmas[0], sigmas[1], w}
	if _, err := gorgonia.Grad(loss, learn...); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(learn...))
	defer m.Close()
	solver := gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(lr))
	var hist [][2]float64
	for range steps {
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := solver.Step(gorgonia.NodesToValueGrads(learn)); err != nil {
			t.Fatal(err)
		}
		m.Reset()
		var h [2]float64
		for l, s := range sigmas {
			h[l], _, _ = scalarValue(s.Value(), "sigma")
		}
		hist = append(hist, h)
	}
	for _, op := range ops {
		if op.Runs() != uint64(steps) {
			t.Errorf("%s ran %d times in %d steps", op.ID, op.Runs(), steps)
		}
	}
	return hist, valuesOf(t, w.Value())
}

// With no task loss only the regulariser moves the sigmas: each SGD step
// adds lr·λ·ops_l/Σops until sigma max, where the push stops.
func TestSearchStepRegulariserOnly(t *testing.T) {
	const lambda, sigmaMax, lr = 2.0, 0.5, 0.1
	zero := make([]float64, 3*(NoiseChunk+1000))
	hist, _ := searchSteps(t, zero, 12, 1, lambda, sigmaMax, lr)
	want := [2]float64{0.1, 0.1}
	share := [2]float64{0.25, 0.75}
	for i, h := range hist {
		for l := range 2 {
			if want[l] < sigmaMax {
				want[l] += lr * lambda * share[l]
			}
			if math.Abs(h[l]-want[l]) > 1e-12 {
				t.Errorf("step %d layer %d: sigma %v, want %v", i+1, l+1, h[l], want[l])
			}
		}
	}
	if hist[len(hist)-1][1] < sigmaMax || hist[len(hist)-1][0] < sigmaMax {
		t.Errorf("the sigmas did not reach the cap: %v", hist[len(hist)-1])
	}
}

// With a task loss the search is the same, bit for bit, on 1 and 3
// threads.
func TestSearchStepsThreadIndependent(t *testing.T) {
	c := randomValues(23, 3*(NoiseChunk+1000))
	h1, w1 := searchSteps(t, c, 3, 1, 0.2, 1, 0.01)
	h3, w3 := searchSteps(t, c, 3, 3, 0.2, 1, 0.01)
	for i := range h1 {
		if h1[i] != h3[i] {
			t.Errorf("step %d: sigmas %v on 1 thread, %v on 3", i+1, h1[i], h3[i])
		}
	}
	if !closeAll(w1, w3, 0) {
		t.Error("weights differ between 1 and 3 threads")
	}
	if h1[0][0] == 0.1+0.01*0.2*0.25 {
		t.Error("the task loss did not reach sigma 1")
	}
}
