package search

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// vectorSigmaRun builds Σ LearnedNoise(x·W, σ)⊙C − λ·R(σ) with σ a scalar or
// a one-element vector, runs it with gradients and returns the cost and
// d cost / d σ.
func vectorSigmaRun(t *testing.T, vector bool) (float64, float64) {
	t.Helper()
	c := smallLayer(tensor.Float32)
	g := gorgonia.NewGraph()
	x := gorgonia.NodeFromAny(g, tensorOf(c.dt, c.x, c.batch, c.in), gorgonia.WithName("x"))
	w := gorgonia.NodeFromAny(g, tensorOf(c.dt, c.w, c.in, c.outs), gorgonia.WithName("w"))
	cn := gorgonia.NodeFromAny(g, tensorOf(c.dt, c.c, c.batch, c.outs), gorgonia.WithName("c"))
	var sigma *gorgonia.Node
	if vector {
		sigma = gorgonia.NodeFromAny(g, tensorOf(c.dt, []float64{c.sigma}, 1), gorgonia.WithName("sigma"))
	} else {
		sigma = gorgonia.NewScalar(g, c.dt, gorgonia.WithName("sigma"), gorgonia.WithValue(float32(c.sigma)))
	}
	y := gorgonia.Must(gorgonia.Mul(x, w))
	out, _, err := LearnedNoise(y, sigma, "layer", c.seed, 1)
	if err != nil {
		t.Fatal(err)
	}
	task := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, cn))))
	loss, err := SearchLoss(task, gorgonia.Nodes{sigma}, []int64{10}, 0.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, sigma, w); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(sigma, w))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	lv, _, err := scalarValue(loss.Value(), "loss")
	if err != nil {
		t.Fatal(err)
	}
	gv, err := sigma.Grad()
	if err != nil {
		t.Fatal(err)
	}
	if vector {
		if _, ok := gv.(*tensor.Dense); !ok || !gv.Shape().Eq(tensor.Shape{1}) {
			t.Fatalf("gradient of a one-element sigma is %T of shape %v; want a tensor of shape (1)", gv, gv.Shape())
		}
	}
	d, _, err := scalarValue(gv, "d sigma")
	if err != nil {
		t.Fatal(err)
	}
	return lv, d
}

// A sigma held in a one-element vector (what an optimizer of tensors
// trains) gives the scalar sigma's loss and gradient, the gradient being a
// tensor of the sigma's shape.
func TestVectorSigmaMatchesScalar(t *testing.T) {
	ls, ds := vectorSigmaRun(t, false)
	lv, dv := vectorSigmaRun(t, true)
	if ls != lv || ds != dv {
		t.Errorf("vector sigma: loss %v, gradient %v; scalar sigma: %v, %v", lv, dv, ls, ds)
	}
	// Without the regulariser's −λ·share the gradient would be the noise's
	// alone; the regulariser's part must be there.
	if ds == 0 {
		t.Error("the gradient of sigma is 0")
	}
}
