package errmodel

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/ops"
)

// TestNoiseModeStandsInForTheTable takes sigma and mu from a layer's
// recorded histograms and checks, on one compiled graph, that Noise mode
// with them adds noise of the spread and offset that the table's
// Approximate mode really adds.
func TestNoiseModeStandsInForTheTable(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 32768 outputs")
	}
	tab := mustTable(t, "drum:k=4,signed=true")
	c := randomLinearCase(rand.New(rand.NewSource(31)), tab, 32, 256, 1024)
	s := ops.NewLayerState("noise", 99)
	s.XParams, s.WParams = c.XParams, c.WParams
	if err := s.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	s.RecordHistograms = true
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(c.XShape...), tensor.WithBacking(c.X)), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(c.WShape...), tensor.WithBacking(c.W)), gorgonia.WithName("w"))
	out, err := ops.Linear(xn, wn, s, ops.OutIn)
	if err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	run := func(mode ops.Mode) []float32 {
		s.Mode = mode
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), yv.Data().([]float32)...)
	}
	yq := run(ops.Quantized)
	ya := run(ops.Approximate)
	sigma, mu, err := FromState(s, nil, 256, Std(yq))
	if err != nil {
		t.Fatal(err)
	}
	if sigma <= 0 {
		t.Fatalf("sigma %g for an inexact table", sigma)
	}
	s.NoiseSigma, s.NoiseMu, s.Training = sigma, mu, true
	yn := run(ops.Noise)

	diffMoments := func(y []float32) Moments {
		d := make([]float32, len(y))
		var sum float64
		for i := range y {
			d[i] = y[i] - yq[i]
			sum += float64(d[i])
		}
		return Moments{Mean: sum / float64(len(d)), Std: Std(d)}
	}
	approx, noise := diffMoments(ya), diffMoments(yn)
	t.Logf("approximate − quantized %+v, noise − quantized %+v (sigma %.4g, mu %.4g)", approx, noise, sigma, mu)
	for what, got := range map[string]Moments{"approximate": approx, "noise": noise} {
		if math.Abs(got.Std/(sigma*Std(yq))-1) > 0.05 || math.Abs(got.Mean-mu) > 0.05*got.Std {
			t.Errorf("%s − quantized: %+v, want std %g and mean %g (5%% of the std)", what, got, sigma*Std(yq), mu)
		}
	}
}

func TestFromStateErrors(t *testing.T) {
	s := ops.NewLayerState("e", 1)
	if _, _, err := FromState(s, nil, 10, 1); err == nil {
		t.Error("a state without a table gave no error")
	}
	tab := mustTable(t, "mitchell:signed=true")
	if _, _, err := FromState(s, tab, 10, 1); err == nil {
		t.Error("empty histograms gave no error")
	}
	s.XHist[3], s.WHist[5] = 1, 1
	if _, _, err := FromState(s, tab, 10, 0); err == nil {
		t.Error("a zero output std gave no error")
	}
	if _, _, err := FromState(nil, tab, 10, 1); err == nil {
		t.Error("a nil state gave no error")
	}
	// One activation code 3 and one weight code 5: e(3, 5) exactly, K times.
	sigma, mu, err := FromState(s, tab, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := 10 * float64(tab.At(3, 5)-15)
	if sigma != 0 || mu != want*float64(s.XParams.Scale[0]*s.WParams.Scale[0]) {
		t.Errorf("sigma %g mu %g, want 0 and %g", sigma, mu, want)
	}
}
