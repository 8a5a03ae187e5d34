package search

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleReport(t *testing.T, lib Library) Report {
	t.Helper()
	layers := []LayerFacts{
		{Name: "conv1", Ops: 100, Sigma: 0.5, OutputStd: 2, Predicted: stds(0, 0.8, 1.5, 0.6)},
		{Name: "conv2", Ops: 200, Sigma: -0.1, OutputStd: 3, Predicted: stds(0, 0.5, 0.2, 0.4)},
		{Name: "fc", Ops: 50, Sigma: 0.01, OutputStd: 1, Predicted: stds(0, 0.5, 0.2, 0.4)},
	}
	a, err := Match(layers, lib, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := NewReport(a, lib, 0.05, 0.1, 1)
	budget := 1.0
	r.Model, r.Dataset, r.Budget, r.SearchEpochs, r.RetrainEpochs = "lenet5", "mnist", &budget, 3, 1
	r.AccuracyExact, r.AccuracyBefore, r.AccuracyAfter = 0.99, 0.95, 0.985
	s1, s2 := 0.3, 0.6
	r.LambdasTried = []Point{
		{Lambda: 0.005, Phase: "coarse", EnergySaved: &s1, Accuracy: 0.988, Loss: 0.2, WithinBudget: true},
		{Lambda: 0.05, Phase: "coarse", EnergySaved: &s2, Accuracy: 0.985, Loss: 0.5, WithinBudget: true},
		{Lambda: 0.5, Phase: "coarse", EnergySaved: &s2, Accuracy: 0.9, Loss: 9, WithinBudget: false},
	}
	if a.EnergySaved == nil {
		for i := range r.LambdasTried {
			r.LambdasTried[i].EnergySaved = nil
		}
	}
	r.SigmaHistory = []EpochSigmas{{Epoch: 1, Sigmas: []float64{0.2, -0.1, 0.05}}, {Epoch: 2, Sigmas: []float64{0.5, -0.1, 0.01}}}
	return r
}

func TestReportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport(t, handLibrary())
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(filepath.Join(dir, ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("read back\n%+v\nwrote\n%+v", back, r)
	}
	js, _ := os.ReadFile(filepath.Join(dir, ReportJSON))
	for _, key := range []string{`"layers"`, `"name": "conv1"`, `"sigma": -0.1`, `"tolerated_std"`, `"multiplier": "B"`,
		`"predicted_std"`, `"ops": 200`, `"accuracy_exact": 0.99`, `"accuracy_before"`, `"accuracy_after"`,
		`"energy_saved"`, `"lambda": 0.05`, `"lambdas_tried"`} {
		if !bytes.Contains(js, []byte(key)) {
			t.Errorf("search.json lacks %s", key)
		}
	}
	for _, name := range []string{PlotSigma, PlotLambdas} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width < 300 || cfg.Height < 300 {
			t.Errorf("%s: %v %+v", name, err, cfg)
		}
	}
}

func TestReportTables(t *testing.T) {
	r := sampleReport(t, handLibrary())
	md := r.Markdown()
	for _, row := range []string{"| conv1 | 100 | 28.6% | 0.5 | 1 | C | 0.6 | yes |",
		"| conv2 | 200 | 57.1% | -0.1 | 0.3 | B | 0.2 | yes |",
		"| fc | 50 | 14.3% | 0.01 | 0.01 | exact | 0 | yes |",
		"| 0.05 | coarse | 60.0% | 98.50% | 0.50 | true |",
		"budget 1.00 points", "exact 99.00%", "energy saved: 62.9% (reference cost 10"} {
		if !strings.Contains(md, row) {
			t.Errorf("search.md lacks %q:\n%s", row, md)
		}
	}
	c, err := r.CSV()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(c)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "layer" || rows[2][0] != "conv2" || rows[2][6] != "B" || rows[2][9] != "2" || rows[3][10] != "true" {
		t.Errorf("search.csv:\n%s", c)
	}
}

// Without costs the saving is null, the table says so and no lambda plot
// is drawn.
func TestReportWithoutCosts(t *testing.T) {
	lib := handLibrary()
	for i := range lib {
		lib[i].Cost = nil
	}
	r := sampleReport(t, lib)
	dir := t.TempDir()
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(dir, ReportJSON))
	if !bytes.Contains(js, []byte(`"energy_saved": null`)) || !strings.Contains(r.Markdown(), "unknown (no costs given)") {
		t.Errorf("no-cost report:\n%s", js)
	}
	if _, err := os.Stat(filepath.Join(dir, PlotLambdas)); !os.IsNotExist(err) {
		t.Errorf("lambda plot without savings: %v", err)
	}
	if _, err := ReadReport(filepath.Join(dir, ReportJSON)); err != nil {
		t.Error(err)
	}
}

func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport(t, handLibrary())
	bad := r
	bad.AccuracyAfter = 98.5
	if err := WriteReport(dir, bad); err == nil || !strings.Contains(err.Error(), "accuracy_after") {
		t.Errorf("percent accuracy: %v", err)
	}
	bad = r
	bad.SigmaHistory = []EpochSigmas{{Epoch: 1, Sigmas: []float64{1}}}
	if err := WriteReport(dir, bad); err == nil || !strings.Contains(err.Error(), "1 sigmas for 3 layers") {
		t.Errorf("short history: %v", err)
	}
	bad = r
	bad.Layers = append([]Choice(nil), r.Layers...)
	bad.Layers[0].Index = 1 // A, while the layer names C
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), `"C" at library index 1`) {
		t.Errorf("library index: %v", err)
	}
	bad = r
	bad.Layers = nil
	if err := bad.Check(); err == nil {
		t.Error("a report without layers passed")
	}
	p := filepath.Join(dir, "x.json")
	os.WriteFile(p, []byte(`{"layers": [], "surprise": 1}`), 0o644)
	if _, err := ReadReport(p); err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Errorf("unknown field: %v", err)
	}
}
