package search

import (
	"math"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/errmodel"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/quantize"
)

func cost(v float64) *float64 { return &v }

// handLibrary: an exact multiplier and three approximate ones, A and C of
// equal cost.
func handLibrary() Library {
	return Library{
		{Name: "exact", Cost: cost(10), Exact: true},
		{Name: "A", Cost: cost(4), MAE: 50},
		{Name: "B", Cost: cost(2), MAE: 200},
		{Name: "C", Cost: cost(4), MAE: 40},
	}
}

func stds(v ...float64) []errmodel.Moments {
	m := make([]errmodel.Moments, len(v))
	for i, s := range v {
		m[i] = errmodel.Moments{Std: s}
	}
	return m
}

func TestMatchHandLibrary(t *testing.T) {
	layers := []LayerFacts{
		// Tolerance 0.5·2 = 1: B (0.9 < 1.5) does not fit; A and C cost
		// the same and C predicts less error.
		{Name: "conv1", Ops: 100, Sigma: 0.5, OutputStd: 2, Predicted: stds(0, 0.8, 1.5, 0.6)},
		// Tolerance |−0.1|·3 = 0.3: B, the cheapest, fits.
		{Name: "conv2", Ops: 200, Sigma: -0.1, OutputStd: 3, Predicted: stds(0, 0.5, 0.2, 0.4)},
		// Tolerance 0.01: only the exact multiplier fits.
		{Name: "fc", Ops: 50, Sigma: 0.01, OutputStd: 1, Predicted: stds(0, 0.5, 0.2, 0.4)},
		// Tolerance exactly the prediction of B: it fits (<=).
		{Name: "fc2", Ops: 50, Sigma: 0.25, OutputStd: 2, Predicted: stds(0, 0.5, 0.5, 0.4)},
	}
	a, err := Match(layers, handLibrary(), MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"C", "B", "exact", "B"}
	wantTol := []float64{1, 0.3, 0.01, 0.5}
	for i, c := range a.Layers {
		if c.Multiplier != want[i] || !c.Fits || math.Abs(c.ToleratedStd-wantTol[i]) > 1e-15 {
			t.Errorf("layer %s: %s (fits %t, tolerance %v), want %s (tolerance %v)", c.Name, c.Multiplier, c.Fits, c.ToleratedStd, want[i], wantTol[i])
		}
		if c.PredictedStd != layers[i].Predicted[c.Index].Std || a.Layers[i].Name != layers[i].Name || c.Ops != layers[i].Ops {
			t.Errorf("layer %d: choice %+v does not carry the layer's facts", i, c)
		}
	}
	if a.Ranking != ByCost || *a.ReferenceCost != 10 {
		t.Errorf("ranking %s, reference cost %v", a.Ranking, *a.ReferenceCost)
	}
	// Energy: 100·4 + 200·2 + 50·10 + 50·2 = 1400 of 400·10.
	if math.Abs(*a.Energy-1400) > 1e-12 || math.Abs(*a.EnergyReference-4000) > 1e-12 || math.Abs(*a.EnergySaved-(1-1400.0/4000)) > 1e-15 {
		t.Errorf("energy %v of %v, saved %v", *a.Energy, *a.EnergyReference, *a.EnergySaved)
	}
	if !closeAll(a.Layers[1].PredictedStds, []float64{0, 0.5, 0.2, 0.4}, 0) {
		t.Errorf("conv2's predictions of every multiplier: %v", a.Layers[1].PredictedStds)
	}
	if m := a.Multipliers(); m["conv2"] != "B" || len(m) != 4 {
		t.Errorf("Multipliers() = %v", m)
	}
}

// Equal cost and equal prediction: the multiplier listed first wins.
func TestMatchTiesGoToLibraryOrder(t *testing.T) {
	lib := Library{{Name: "exact", Cost: cost(10), Exact: true}, {Name: "P", Cost: cost(3)}, {Name: "Q", Cost: cost(3)}}
	for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}} {
		l := Library{lib[order[0]], lib[order[1]], lib[order[2]]}
		a, err := Match([]LayerFacts{{Name: "l", Ops: 1, Sigma: 1, OutputStd: 1, Predicted: stds(0, 0.5, 0.5)}}, l, MatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a.Layers[0].Multiplier != l[1].Name {
			t.Errorf("library %v: chose %s, want the first listed %s", order, a.Layers[0].Multiplier, l[1].Name)
		}
	}
}

// Without an exact multiplier, a layer nothing fits gets the most accurate
// multiplier, flagged; savings are measured against the dearest cost.
func TestMatchNothingFits(t *testing.T) {
	lib := Library{{Name: "A", Cost: cost(4)}, {Name: "B", Cost: cost(2)}, {Name: "D", Cost: cost(3)}}
	a, err := Match([]LayerFacts{{Name: "l", Ops: 10, Sigma: 0.1, OutputStd: 1, Predicted: stds(0.5, 0.3, 0.3)}}, lib, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := a.Layers[0]
	// B and D predict the same; B is cheaper.
	if c.Multiplier != "B" || c.Fits {
		t.Errorf("chose %s (fits %t), want B, not fitting", c.Multiplier, c.Fits)
	}
	if *a.ReferenceCost != 4 || math.Abs(*a.EnergySaved-0.5) > 1e-15 {
		t.Errorf("reference %v, saved %v; want 4 and 0.5", *a.ReferenceCost, *a.EnergySaved)
	}
}

// With no costs at all, a larger MAE ranks as cheaper and no saving is
// stated; costs for some multipliers only are an error naming the others.
func TestMatchCostsMissing(t *testing.T) {
	lib := handLibrary()
	for i := range lib {
		lib[i].Cost = nil
	}
	layer := LayerFacts{Name: "l", Ops: 1, Sigma: 1, OutputStd: 1, Predicted: stds(0, 0.8, 1.5, 0.6)}
	a, err := Match([]LayerFacts{layer}, lib, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// B (MAE 200) does not fit; A (MAE 50) is the next by MAE.
	if a.Layers[0].Multiplier != "A" || a.Ranking != ByMAE || a.EnergySaved != nil || a.ReferenceCost != nil {
		t.Errorf("by MAE: chose %s, ranking %s, saving %v", a.Layers[0].Multiplier, a.Ranking, a.EnergySaved)
	}
	lib[3].Cost = cost(1)
	_, err = Match([]LayerFacts{layer}, lib, MatchOptions{})
	if err == nil || !strings.Contains(err.Error(), "no cost for exact, A, B") || !strings.Contains(err.Error(), "or none") {
		t.Errorf("partial costs: %v", err)
	}
}

// WithMean charges a multiplier for the shift it causes.
func TestMatchWithMean(t *testing.T) {
	layer := LayerFacts{Name: "l", Ops: 1, Sigma: 1, OutputStd: 1,
		Predicted: []errmodel.Moments{{}, {Mean: 0.9, Std: 0.5}, {Mean: 2, Std: 0.2}, {Mean: 0, Std: 0.95}}}
	want := map[bool]string{false: "B", true: "C"}
	for withMean, w := range want {
		a, err := Match([]LayerFacts{layer}, handLibrary(), MatchOptions{WithMean: withMean})
		if err != nil {
			t.Fatal(err)
		}
		if a.Layers[0].Multiplier != w {
			t.Errorf("WithMean %t: chose %s, want %s", withMean, a.Layers[0].Multiplier, w)
		}
	}
}

func TestMatchErrors(t *testing.T) {
	good := LayerFacts{Name: "l", Ops: 1, Sigma: 0.1, OutputStd: 1, Predicted: stds(0, 1, 1, 1)}
	mod := func(f func(*LayerFacts)) []LayerFacts { l := good; f(&l); return []LayerFacts{l} }
	zero := Library{{Name: "x", Cost: cost(0)}}
	cases := []struct {
		layers []LayerFacts
		lib    Library
		want   string
	}{
		{[]LayerFacts{good}, nil, "no multipliers"},
		{nil, handLibrary(), "no layers"},
		{mod(func(l *LayerFacts) { l.Ops = 0 }), handLibrary(), "positive op count"},
		{mod(func(l *LayerFacts) { l.Sigma = math.NaN() }), handLibrary(), "diverged"},
		{mod(func(l *LayerFacts) { l.OutputStd = -1 }), handLibrary(), "calibration"},
		{mod(func(l *LayerFacts) { l.Predicted = stds(0) }), handLibrary(), "1 predictions for 4"},
		{mod(func(l *LayerFacts) { l.Predicted = stds(0, math.Inf(1), 0, 0) }), handLibrary(), "finite"},
		{[]LayerFacts{good, good}, handLibrary(), "twice"},
		{[]LayerFacts{{Name: "l", Ops: 1, Predicted: stds(0)}}, zero, "costs 0"},
		{[]LayerFacts{good}, Library{{Name: "x", Cost: cost(-1)}, {Name: "y", Cost: cost(1)}, {Name: "z", Cost: cost(1)}, {Name: "w", Cost: cost(1)}}, "finite and >= 0"},
	}
	for i, c := range cases {
		_, err := Match(c.layers, c.lib, MatchOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, c.want)
		}
	}
}

// LibraryOf reads names, exactness and MAE from the tables; PredictLayer
// gives the Population model's moments, checked here by hand on a table
// that errs by +1 on odd activations.
func TestLibraryOfAndPredictLayer(t *testing.T) {
	exact := lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed})
	odd, err := lut.Tabulate("odd", lut.Signs{X: lut.Unsigned, W: lut.Signed}, func(x, w int) int { return x*w + x%2 })
	if err != nil {
		t.Fatal(err)
	}
	lib, err := LibraryOf([]*lut.Table{exact, odd}, map[string]float64{"odd": 1.5, "other": 9})
	if err != nil {
		t.Fatal(err)
	}
	if !lib[0].Exact || lib[0].Cost != nil || lib[0].MAE != 0 || lib[1].Exact || *lib[1].Cost != 1.5 || lib[1].MAE != 0.5 {
		t.Errorf("library %+v %+v", lib[0], lib[1])
	}
	if _, err := LibraryOf([]*lut.Table{odd, odd}, nil); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate table: %v", err)
	}
	// One field of K = 8 codes, half odd: per product the error is 0 or 1
	// with equal probability, so the sum has mean K/2 and variance K/4,
	// times the scales 0.5·0.25.
	const k = 8
	var f errmodel.Field
	f.Hist[3], f.Hist[4] = k/2, k/2
	wh := make([]float64, 256)
	wh[5], wh[0xFF] = 3, 5 // codes 5 and -1
	tmpl := errmodel.Layer{FanIn: k, XParams: quantize.PerTensor(0.5, 0, 0, 127), WParams: quantize.PerTensor(0.25, 0, -128, 127),
		WHist: wh, Fields: []errmodel.Field{f}}
	p, err := PredictLayer(tmpl, []*lut.Table{exact, odd})
	if err != nil {
		t.Fatal(err)
	}
	s := 0.5 * 0.25
	if p[0] != (errmodel.Moments{}) || math.Abs(p[1].Mean-k/2.0*s) > 1e-12 || math.Abs(p[1].Std-math.Sqrt(k/4.0)*s) > 1e-12 {
		t.Errorf("predictions %+v, want exact 0 and mean %v std %v", p, k/2.0*s, math.Sqrt(k/4.0)*s)
	}
	signed := lut.ExactTable(lut.Both(lut.Signed))
	if _, err := PredictLayer(tmpl, []*lut.Table{signed}); err != nil {
		// Unsigned activation codes 0..127 fit a signed axis too.
		t.Errorf("signed table: %v", err)
	}
	tmpl.Fields = nil
	if _, err := PredictLayer(tmpl, []*lut.Table{odd}); err == nil || !strings.Contains(err.Error(), "multiplier odd") {
		t.Errorf("no fields: %v", err)
	}
}
