package search

import (
	"math"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// runSearchLoss builds xent − lambda·R on scalar nodes of dtype dt, runs it
// with gradients and returns the loss and d loss / d sigma_l.
func runSearchLoss(t *testing.T, dt tensor.Dtype, xent float64, sigmas []float64, ops []int64, lambda, sigmaMax float64) (float64, []float64) {
	t.Helper()
	g := gorgonia.NewGraph()
	scalar := func(v float64, name string) *gorgonia.Node {
		if dt == tensor.Float64 {
			return gorgonia.NewScalar(g, dt, gorgonia.WithName(name), gorgonia.WithValue(v))
		}
		return gorgonia.NewScalar(g, dt, gorgonia.WithName(name), gorgonia.WithValue(float32(v)))
	}
	x := scalar(xent, "xent")
	nodes := make(gorgonia.Nodes, len(sigmas))
	for i, s := range sigmas {
		nodes[i] = scalar(s, "sigma"+string(rune('a'+i)))
	}
	loss, err := SearchLoss(x, nodes, ops, lambda, sigmaMax)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, nodes...); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(nodes...))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	lv, _, err := scalarValue(loss.Value(), "loss")
	if err != nil {
		t.Fatal(err)
	}
	grads := make([]float64, len(nodes))
	for i, n := range nodes {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		if grads[i], _, err = scalarValue(gv, "grad"); err != nil {
			t.Fatal(err)
		}
	}
	return lv, grads
}

func TestRegulariserHandComputed(t *testing.T) {
	// Op shares 0.1, 0.3, 0.5, 0.1; sigma max 1. Layer 2 is above the cap
	// and layer 3 at sigma 0: neither has a gradient.
	ops := []int64{100, 300, 500, 100}
	sigmas := []float64{0.3, -0.5, 1.5, 0}
	op, err := NewRegulariserOp(ops, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantR := 0.1*0.3 + 0.3*0.5 + 0.5*1.0 + 0.1*0
	if r := op.Value(sigmas); math.Abs(r-wantR) > 1e-15 {
		t.Errorf("R = %v, want %v", r, wantR)
	}
	wantSlope := []float64{0.1, -0.3, 0, 0}
	for l, s := range sigmas {
		if got := op.Slope(l, s); math.Abs(got-wantSlope[l]) > 1e-15 {
			t.Errorf("slope of layer %d at %v = %v, want %v", l, s, got, wantSlope[l])
		}
	}
	// Exactly at the cap: 0, in either sign.
	if op.Slope(0, 1) != 0 || op.Slope(0, -1) != 0 {
		t.Errorf("slope at |sigma| = sigma max must be 0")
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		const lambda, xent = 0.2, 2.5
		loss, grads := runSearchLoss(t, dt, xent, sigmas, ops, lambda, 1)
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 1e-6
		}
		if want := xent - lambda*wantR; math.Abs(loss-want) > tol {
			t.Errorf("%v: loss %v, want %v", dt, loss, want)
		}
		for l := range grads {
			if want := -lambda * wantSlope[l]; math.Abs(grads[l]-want) > tol {
				t.Errorf("%v: d loss/d sigma_%d = %v, want %v", dt, l, grads[l], want)
			}
		}
	}
}

func TestRegulariserFiniteDifferences(t *testing.T) {
	ops := []int64{1200, 40, 7, 3000, 555}
	sigmas := []float64{0.25, -0.7, 0.05, 2.2, -1.9}
	const lambda, sigmaMax, h = 0.37, 0.8, 1e-4
	_, grads := runSearchLoss(t, tensor.Float64, 1, sigmas, ops, lambda, sigmaMax)
	for l := range sigmas {
		at := func(d float64) float64 {
			s := append([]float64(nil), sigmas...)
			s[l] += d
			loss, _ := runSearchLoss(t, tensor.Float64, 1, s, ops, lambda, sigmaMax)
			return loss
		}
		fd := (at(h) - at(-h)) / (2 * h)
		if math.Abs(fd-grads[l]) > 1e-9 {
			t.Errorf("layer %d: gradient %v, finite difference %v", l, grads[l], fd)
		}
	}
}

func TestRegulariserErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	s := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("s"))
	x := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("x"))
	s64 := gorgonia.NewScalar(g, tensor.Float64, gorgonia.WithName("s64"))
	v := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("v"))
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"no layers", errOf(Regulariser(nil, nil, 1)), "no layers"},
		{"count mismatch", errOf(Regulariser(gorgonia.Nodes{s}, []int64{1, 2}, 1)), "1 sigma nodes for 2"},
		{"zero ops", errOf(Regulariser(gorgonia.Nodes{s}, []int64{0}, 1)), "positive op count"},
		{"sigma max", errOf(Regulariser(gorgonia.Nodes{s}, []int64{1}, 0)), "sigma max"},
		{"not scalar", errOf(Regulariser(gorgonia.Nodes{v}, []int64{1}, 1)), "scalar"},
		{"mixed types", errOf(Regulariser(gorgonia.Nodes{s, s64}, []int64{1, 1}, 1)), "differ in type"},
		{"negative lambda", errOf(SearchLoss(x, gorgonia.Nodes{s}, []int64{1}, -1, 1)), "lambda"},
		{"loss type", errOf(SearchLoss(x, gorgonia.Nodes{s64}, []int64{1}, 1, 1)), "cross-entropy is float32"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.want)
		}
	}
}

func TestRegulariserHashCoversFields(t *testing.T) {
	a := &RegulariserOp{Weights: []float64{0.5, 0.5}, SigmaMax: 1}
	variants := []*RegulariserOp{
		{Weights: []float64{0.25, 0.75}, SigmaMax: 1},
		{Weights: []float64{0.5, 0.5}, SigmaMax: 2},
		{Weights: []float64{0.5, 0.5, 0}, SigmaMax: 1},
	}
	for _, v := range variants {
		if v.Hashcode() == a.Hashcode() {
			t.Errorf("%+v hashes like %+v", v, a)
		}
	}
	ga, gb := &RegulariserGradOp{Weight: 0.5, SigmaMax: 1}, &RegulariserGradOp{Weight: 0.5, SigmaMax: 2}
	gc := &RegulariserGradOp{Weight: 0.25, SigmaMax: 1}
	if ga.Hashcode() == gb.Hashcode() || ga.Hashcode() == gc.Hashcode() {
		t.Error("gradient op hash ignores a field")
	}
}

func errOf[T any](_ T, err error) error { return err }
