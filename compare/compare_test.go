package compare

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/search"
	"github.com/goapprox/goapprox/sweep"
)

func f(v float64) *float64 { return &v }

// runs writes a sweep, an assignment and a search of one model by hand,
// with numbers whose comparison is worked out in the tests.
func runs(t *testing.T) (sweepDir, assignDir, searchDir string) {
	t.Helper()
	root := t.TempDir()
	write := func(dir, name string, v any) string {
		d := filepath.Join(root, dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	row := func(name string, mae, power, before, after float64) sweep.Row {
		return sweep.Row{Name: name, MAE: mae, WCE: mae * 4, Cost: sweep.Cost{Power: f(power)}, AccuracyBefore: before, AccuracyAfter: f(after)}
	}
	sw := sweep.Result{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, RetrainEpochs: 1, Rows: []sweep.Row{
		row("exact", 0, 0.4, 0.99, 0.991),
		row("mild", 10, 0.3, 0.98, 0.989),    // saves 25%, loses 0.1 points
		row("medium", 100, 0.2, 0.90, 0.984), // saves 50%, loses 0.6
		row("harsh", 1000, 0.1, 0.10, 0.90),  // saves 75%, loses 9
		{Name: "no-power", MAE: 5, AccuracyAfter: f(0.99)},
	}}
	a := sweep.Assignment{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, MaxLoss: 0.01, Exact: "exact",
		Saving: 0.6, Accuracy: 0.97, AccuracyRetrained: f(0.982), // loses 0.8
		Layers: []sweep.LayerChoice{{LayerFacts: sweep.LayerFacts{Layer: "fc"}, Name: "medium", LUT: "medium"}}}
	r := search.Report{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, AccuracyBefore: 0.5, AccuracyAfter: 0.987,
		Lambda: 0.5, RetrainEpochs: 1, EnergySaved: f(0.55),
		Layers: []search.Choice{{Name: "fc", Multiplier: "medium"}},
		LambdasTried: []search.Point{
			{Lambda: 0.05, EnergySaved: f(0.3), Accuracy: 0.99},
			{Lambda: 0.5, EnergySaved: f(0.55), Accuracy: 0.987}, // loses 0.3
			{Lambda: 5, EnergySaved: f(0.7), Accuracy: 0.975},    // loses 1.5
		}}
	return write("sweep", sweep.JSONFile, sw), write("assign", sweep.AssignmentJSON, a), write("search", search.ReportJSON, r)
}

func TestBestWithinBudgets(t *testing.T) {
	s, a, r := runs(t)
	set, err := Load([]string{s, a, r})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Points) != 4+1+3 {
		t.Fatalf("%d points, want 4 of the sweep (one has no power), 1 assignment, 3 lambdas", len(set.Points))
	}
	for _, c := range []struct {
		m      Method
		budget float64
		label  string
		saved  float64
	}{
		{Uniform, 0.5, "mild", 0.25}, {Uniform, 1, "medium", 0.5}, {Uniform, 0.6, "medium", 0.5},
		{Greedy, 1, "max loss 1.00 points", 0.6},
		{Search, 0.5, "λ 0.5", 0.55}, {Search, 1, "λ 0.5", 0.55}, {Search, 2, "λ 5", 0.7},
	} {
		p, ok := set.Best(c.m, c.budget)
		if !ok || p.Label != c.label || abs(p.EnergySaved-c.saved) > 1e-12 {
			t.Errorf("%s within %g points: %+v (found %v), want %s saving %g", c.m, c.budget, p, ok, c.label, c.saved)
		}
	}
	if p, ok := set.Best(Greedy, 0.5); ok {
		t.Errorf("greedy within 0.5 points: %+v; its only assignment loses 0.8", p)
	}
	if len(set.Notes) != 1 || !strings.Contains(set.Notes[0], "has no power for no-power: left out") {
		t.Errorf("notes %q, want one naming the sweep's row without power", set.Notes)
	}
	table := set.Table([]float64{0.5, 1})
	for _, want := range []string{
		"| 0.5 points (≥ 98.50%) | uniform | mild | 25.0% | 98.90% (98.00%) |",
		"|  | greedy | none within the budget | | |",
		"|  | search | λ 0.5 (search) | 55.0% | 98.70% (50.00%) |",
		"| 1 point (≥ 98.00%) | uniform | medium | 50.0% | 98.40% (90.00%) |",
		"|  | greedy | max loss 1.00 points (assign) | 60.0% | 98.20% (97.00%) |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	lines := strings.Split(strings.TrimSpace(string(set.CSV())), "\n")
	if len(lines) != 9 || !strings.HasPrefix(lines[1], "uniform,exact,0,0.991,0.99,-0.1000,") || !strings.HasPrefix(lines[8], "search,λ 5,0.7,0.975,,1.5000,") {
		t.Errorf("csv:\n%s", strings.Join(lines, "\n"))
	}

	dir := filepath.Join(t.TempDir(), "cmp")
	if err := Write(dir, set, []float64{0.5, 1}, 5); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, PlotFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Errorf("compare.png: %v", err)
	}
	if md, _ := os.ReadFile(filepath.Join(dir, MDFile)); string(md) != table {
		t.Errorf("compare.md is not the table")
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// Runs of another model, a folder of no run, a sweep without an exact
// multiplier and runs without retraining are refused, saying why.
func TestLoadErrors(t *testing.T) {
	s, a, _ := runs(t)
	other := t.TempDir()
	data, _ := json.Marshal(sweep.Assignment{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.98, AccuracyRetrained: f(0.97)})
	os.WriteFile(filepath.Join(other, sweep.AssignmentJSON), data, 0o644)
	noExact := t.TempDir()
	data, _ = json.Marshal(sweep.Result{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, RetrainEpochs: 1,
		Rows: []sweep.Row{{Name: "mild", MAE: 1, Cost: sweep.Cost{Power: f(0.3)}, AccuracyAfter: f(0.99)}}})
	os.WriteFile(filepath.Join(noExact, sweep.JSONFile), data, 0o644)
	unretrained := t.TempDir()
	data, _ = json.Marshal(sweep.Assignment{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, Exact: "exact",
		Layers: []sweep.LayerChoice{{LayerFacts: sweep.LayerFacts{Layer: "fc"}, Name: "medium", LUT: "medium"}}})
	os.WriteFile(filepath.Join(unretrained, sweep.AssignmentJSON), data, 0o644)
	otherCheckpoint := t.TempDir()
	data, _ = json.Marshal(sweep.Assignment{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, AccuracyRetrained: f(0.97), CheckpointSHA256: "bbbbbbbbbbbbbbbb",
		Layers: []sweep.LayerChoice{{LayerFacts: sweep.LayerFacts{Layer: "fc"}, Name: "medium", LUT: "medium"}}})
	os.WriteFile(filepath.Join(otherCheckpoint, sweep.AssignmentJSON), data, 0o644)
	shaSweep := t.TempDir()
	data, _ = json.Marshal(sweep.Result{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, RetrainEpochs: 1, CheckpointSHA256: "aaaaaaaaaaaaaaaa",
		Rows: []sweep.Row{{Name: "exact", Cost: sweep.Cost{Power: f(0.4)}, AccuracyAfter: f(0.99)}}})
	os.WriteFile(filepath.Join(shaSweep, sweep.JSONFile), data, 0o644)
	for _, c := range []struct {
		dirs []string
		want string
	}{
		{nil, "no run folders given"},
		{[]string{shaSweep, otherCheckpoint}, "was made from another checkpoint (SHA-256 bbbbbbbbbbbb…) than the runs before it (aaaaaaaaaaaa…)"},
		{[]string{filepath.Join(t.TempDir(), "none")}, "is not a folder"},
		{[]string{s, other}, "with exact accuracy 98.0000%, the runs before it of lenet5 on mnist with 99.0000%: compare runs of one checkpoint"},
		{[]string{t.TempDir()}, "holds none of sweep.json (train sweep), assignment.json (train assign) and search.json (train search)"},
		{[]string{noExact}, "has no exact multiplier with a power"},
		{[]string{a, unretrained}, "was not retrained (-retrain-epochs 0)"},
	} {
		if _, err := Load(c.dirs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%v): %v, want an error containing %q", c.dirs, err, c.want)
		}
	}
	if err := CheckBudgets([]float64{0.5, -1}); err == nil || !strings.Contains(err.Error(), "budget -1 points must be a number from 0 to 100") {
		t.Errorf("negative budget: %v", err)
	}
	if err := CheckBudgets([]float64{0.5, 0.5}); err == nil || !strings.Contains(err.Error(), "budget 0.5 points is given twice") {
		t.Errorf("a budget twice: %v", err)
	}
}

// TestAllExactAssignment: an assignment that kept every layer exact has
// nothing to retrain; it counts as the exact model's accuracy at no saving.
func TestAllExactAssignment(t *testing.T) {
	dir := t.TempDir()
	data, _ := json.Marshal(sweep.Assignment{Model: "lenet5", Dataset: "mnist", AccuracyExact: 0.99, MaxLoss: 0.00001, RetrainEpochs: 1,
		Layers: []sweep.LayerChoice{{LayerFacts: sweep.LayerFacts{Layer: "fc"}, Name: "exact", LUT: "exact"}}, Exact: "exact"})
	if err := os.WriteFile(filepath.Join(dir, sweep.AssignmentJSON), data, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Points) != 1 || set.Points[0].EnergySaved != 0 || set.Points[0].AccuracyAfter != 0.99 || !strings.Contains(set.Points[0].Label, "every layer exact") {
		t.Errorf("points %+v", set.Points)
	}
}
