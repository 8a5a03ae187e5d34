package train

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/search"
)

func searchConfig() Config {
	c := smallConfig()
	c.FloatEpochs, c.QATEpochs, c.ApproxEpochs = 0, 1, 1
	return c
}

// qatCheckpoint trains the small model one QAT epoch and returns its state.
func qatCheckpoint(t *testing.T, tn *Trainer) *Checkpoint {
	t.Helper()
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.TrainEpoch(); err != nil {
		t.Fatal(err)
	}
	ck, err := tn.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func searchMultipliers(t *testing.T, quant string) SearchMultipliers {
	t.Helper()
	m := SearchMultipliers{Args: []string{"exact:signed=true", "trunc:t=6,signed=true", "trunc:t=9,signed=true"}}
	costs := map[string]float64{}
	for i, a := range m.Args {
		tab, err := LoadTable(a, quant)
		if err != nil {
			t.Fatal(err)
		}
		m.Tables = append(m.Tables, tab)
		costs[tab.Name()] = []float64{10, 6, 3}[i]
	}
	lib, err := search.LibraryOf(m.Tables, costs)
	if err != nil {
		t.Fatal(err)
	}
	m.Library = lib
	return m
}

// The search graph's noise is off outside Search: a trainer built
// WithSearch evaluates a checkpoint exactly as a plain trainer does.
func TestSearchGraphEvaluatesLikePlain(t *testing.T) {
	cfg := searchConfig()
	plain := newSmall(t, cfg)
	ck := qatCheckpoint(t, plain)
	want, err := plain.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	tn := newSmall(t, cfg, WithSearch(SearchGraphOptions{}))
	if err := tn.Restore(ck); err != nil {
		t.Fatal(err)
	}
	got, err := tn.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	if got.Loss != want.Loss || got.Correct != want.Correct {
		t.Errorf("search trainer: loss %v, %d correct; plain: %v, %d", got.Loss, got.Correct, want.Loss, want.Correct)
	}
}

// SearchAssign end to end: the regulariser pushes sigmas up in proportion
// to λ, the facts are the calibration's, the assignment's multipliers run
// in Approximate mode, and the same λ from the same checkpoint repeats bit
// for bit, on the same trainer and on another.
func TestSearchAssign(t *testing.T) {
	cfg := searchConfig()
	tn := newSmall(t, cfg, WithSearch(SearchGraphOptions{SigmaMax: 1}))
	ck := qatCheckpoint(t, tn)
	m := searchMultipliers(t, cfg.Quant)
	var lines []string
	o := SearchOptions{Lambda: 5, SigmaInitial: 0.1, Epochs: 2, LR: 0.01, Log: func(s string) { lines = append(lines, s) }}
	a, err := tn.SearchAssign(ck, o, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := a.Search
	if len(r.History) != 2 || len(lines) != 2 || !strings.Contains(lines[1], "search epoch 2/2") {
		t.Fatalf("history %v, log %q", r.History, lines)
	}
	names := tn.Layers().Names()
	if !reflect.DeepEqual(r.Layers, names) {
		t.Errorf("searched layers %v, model layers %v", r.Layers, names)
	}
	for i, l := range tn.Layers().Layers() {
		if r.Ops[i] != int64(l.MulsPerSample()) {
			t.Errorf("layer %s: ops %d, want %d", l.Name(), r.Ops[i], l.MulsPerSample())
		}
	}
	// The assignment is what the trainer runs.
	for _, c := range a.Assignment.Layers {
		if math.Abs(c.ToleratedStd-math.Abs(c.Sigma)*c.OutputStd) > 1e-12 || !(c.OutputStd > 0) {
			t.Errorf("layer %s: tolerated %v, sigma %v, output std %v", c.Name, c.ToleratedStd, c.Sigma, c.OutputStd)
		}
		tab := tn.Layers().Layer(c.Name).Table()
		if tab == nil || tab.Name() != c.Multiplier {
			t.Errorf("layer %s: assigned %s, running %v", c.Name, c.Multiplier, tab)
		}
	}
	// The retrained trainer's checkpoint is a plain one: a trainer built
	// without the search restores it and evaluates the same.
	after, err := tn.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	plain := newSmall(t, cfg)
	if err := plain.SetMultipliers("", tn.Config().LayerLUTs); err != nil {
		t.Fatal(err)
	}
	if err := plain.Restore(after); err != nil {
		t.Fatalf("a plain trainer cannot restore the search trainer's checkpoint: %v", err)
	}
	if ev, err := plain.Evaluate(); err != nil || ev.Accuracy != a.AccuracyAfter {
		t.Errorf("plain trainer: accuracy %v (%v), search trainer %v", ev.Accuracy, err, a.AccuracyAfter)
	}
	// λ = 0: only the task moves the sigmas (the gradient reaches them),
	// and they end below those the regulariser pushed.
	z, err := tn.SearchAssign(ck, SearchOptions{Lambda: 0, SigmaInitial: 0.1, Epochs: 2, LR: 0.01}, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range z.Search.Sigmas {
		if s == 0.1 || s >= r.Sigmas[i] {
			t.Errorf("layer %s: sigma %v with lambda 0, %v with lambda 5", r.Layers[i], s, r.Sigmas[i])
		}
	}
	if z.AccuracyAfter != z.AccuracyBefore || len(z.Retrain) != 0 {
		t.Errorf("no retraining, yet accuracy %v -> %v", z.AccuracyBefore, z.AccuracyAfter)
	}
	if len(a.Retrain) != 1 || a.AccuracyAfter != a.Retrain[0].TestAccuracy {
		t.Errorf("retraining: %+v, accuracy after %v", a.Retrain, a.AccuracyAfter)
	}
	// Again, on this trainer and on a fresh one: the same, bit for bit.
	b, err := tn.SearchAssign(ck, o, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	other := newSmall(t, cfg, WithSearch(SearchGraphOptions{SigmaMax: 1}))
	c, err := other.SearchAssign(ck, o, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []SearchOutcome{b, c} {
		if !sameOutcome(a, x) {
			t.Errorf("repeated search differs:\n%+v\n%+v", a, x)
		}
	}
}

func sameOutcome(a, b SearchOutcome) bool {
	strip := func(o SearchOutcome) SearchOutcome {
		o.Search.Epochs, o.Retrain = nil, nil
		return o
	}
	x, y := strip(a), strip(b)
	if !reflect.DeepEqual(x, y) {
		return false
	}
	for i := range a.Retrain {
		if a.Retrain[i].TestLoss != b.Retrain[i].TestLoss || a.Retrain[i].TrainLoss != b.Retrain[i].TrainLoss {
			return false
		}
	}
	return true
}

func TestSearchErrors(t *testing.T) {
	cfg := searchConfig()
	plain := newSmall(t, cfg)
	if _, err := plain.Search(SearchOptions{Lambda: 1, SigmaInitial: 0.1, Epochs: 1}); err == nil || !strings.Contains(err.Error(), "WithSearch") {
		t.Errorf("search on a plain trainer: %v", err)
	}
	tn := newSmall(t, cfg, WithSearch(SearchGraphOptions{SigmaMax: 0.5}))
	cases := []struct {
		o    SearchOptions
		want string
	}{
		{SearchOptions{Lambda: -1, SigmaInitial: 0.1, Epochs: 1}, "lambda -1"},
		{SearchOptions{Lambda: 1, SigmaInitial: 0.5, Epochs: 1}, "not below sigma max 0.5"},
		{SearchOptions{Lambda: 1, SigmaInitial: 0.1, Epochs: 0}, "at least one epoch"},
		{SearchOptions{Lambda: 1, SigmaInitial: 0.1, Epochs: 1, LR: math.NaN()}, "learning rate"},
	}
	for _, c := range cases {
		if _, err := tn.Search(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.o, err, c.want)
		}
	}
	if _, err := tn.SearchFacts(SearchResult{}, nil); err == nil || !strings.Contains(err.Error(), "no multipliers") {
		t.Errorf("no tables: %v", err)
	}
	unsigned, err := LoadTable("trunc:t=6", "unsigned")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.SearchFacts(SearchResult{}, []*lut.Table{unsigned}); err == nil || !strings.Contains(err.Error(), "preset") {
		t.Errorf("unsigned table on a signed preset: %v", err)
	}
}
