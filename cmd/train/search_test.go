package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/search"
)

// searchArgs are a quick search of the tiny checkpoint among three
// multipliers with costs.
func searchArgs(t *testing.T, ck string) []string {
	t.Helper()
	costs := filepath.Join(t.TempDir(), "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\nexact:signed=true,0.4\n\"trunc:t=6,signed=true\",0.25\n\"trunc:t=9,signed=true\",0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"search", "-checkpoint", ck, "-threads", "2", "-costs", costs, "-quiet",
		"-lut", "exact:signed=true", "-lut", "trunc:t=6,signed=true", "-lut", "trunc:t=9,signed=true",
		"-lambda", "0.5", "-search-epochs", "1", "-retrain-epochs", "1"}
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr, false); code != 0 {
		t.Fatalf("train %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestSearchCommand runs train search twice into two folders: search.json
// holds what the issue asks for, consistent with itself and the costs, and
// the two runs write the same bytes.
func TestSearchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model and searches it twice")
	}
	ck := tinyCheckpoint(t)
	args := searchArgs(t, ck)
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, d := range dirs {
		runOK(t, append(args, "-out", d)...)
	}
	a, err := os.ReadFile(filepath.Join(dirs[0], search.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dirs[1], search.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with the same seed wrote different search.json:\n%s\n%s", a, b)
	}
	for _, f := range []string{search.ReportCSV, search.ReportMD, search.PlotSigma} {
		if _, err := os.Stat(filepath.Join(dirs[0], f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}

	// The fields by their JSON names.
	var raw map[string]any
	if err := json.Unmarshal(a, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accuracy_exact", "accuracy_before", "accuracy_after", "energy_saved", "lambda", "layers"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("search.json has no %q", k)
		}
	}
	layers, _ := raw["layers"].([]any)
	if len(layers) == 0 {
		t.Fatal("search.json has no layers")
	}
	for _, l := range layers {
		m, _ := l.(map[string]any)
		for _, k := range []string{"name", "sigma", "tolerated_std", "multiplier", "predicted_std"} {
			if _, ok := m[k]; !ok {
				t.Errorf("layer %v has no %q", m["name"], k)
			}
		}
	}

	r, err := search.ReadReport(filepath.Join(dirs[0], search.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if r.Lambda != 0.5 || r.SearchEpochs != 1 || r.RetrainEpochs != 1 || len(r.SigmaHistory) != 1 || r.SearchLR != 1e-3 {
		t.Errorf("settings: lambda %v, %d search and %d retrain epochs, %d sigma epochs, search lr %v (want the checkpoint's 1e-3)", r.Lambda, r.SearchEpochs, r.RetrainEpochs, len(r.SigmaHistory), r.SearchLR)
	}
	for _, acc := range []float64{r.AccuracyExact, r.AccuracyBefore, r.AccuracyAfter} {
		if !(acc > 0.1 && acc <= 1) {
			t.Errorf("accuracies exact %v, before %v, after %v", r.AccuracyExact, r.AccuracyBefore, r.AccuracyAfter)
		}
	}
	power := map[string]float64{"exact:signed=true": 0.4, "trunc:t=6,signed=true": 0.25, "trunc:t=9,signed=true": 0.1}
	var e, eRef float64
	for _, l := range r.Layers {
		if !(l.Sigma != 0) || math.Abs(l.ToleratedStd-math.Abs(l.Sigma)*l.OutputStd) > 1e-12 {
			t.Errorf("layer %s: sigma %v, output std %v, tolerated %v", l.Name, l.Sigma, l.OutputStd, l.ToleratedStd)
		}
		p, ok := power[l.Multiplier]
		if !ok {
			t.Fatalf("layer %s: multiplier %q is not one given", l.Name, l.Multiplier)
		}
		if l.Fits != (l.PredictedStd <= l.ToleratedStd) {
			t.Errorf("layer %s: predicted %v, tolerated %v, fits %v", l.Name, l.PredictedStd, l.ToleratedStd, l.Fits)
		}
		// No cheaper multiplier fits.
		for i, m := range r.Library {
			if *m.Cost < p && l.PredictedStds[i] <= l.ToleratedStd {
				t.Errorf("layer %s: %s fits and is cheaper than %s", l.Name, m.Name, l.Multiplier)
			}
		}
		e += float64(l.Ops) * p
		eRef += float64(l.Ops) * 0.4
	}
	if r.EnergySaved == nil || math.Abs(*r.EnergySaved-(1-e/eRef)) > 1e-12 {
		t.Errorf("energy saved %v, want %v", r.EnergySaved, 1-e/eRef)
	}
}

// Bad flags are usage errors (exit 2) saying what is wrong; a budget no
// lambda meets is an error of the run (exit 1).
func TestSearchFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o"}, "no multipliers"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-lambda", "-1"}, "lambda -1 must be a finite number >= 0"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-sigma-max", "0"}, "sigma max 0 must be finite and > 0"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-sigma-init", "2"}, "initial sigma 2 is not below sigma max 1"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-budget", "-0.5"}, "budget -0.5"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-budget", "150"}, "budget 150 must be a number of accuracy points from 0 to 100"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-search-epochs", "0"}, "-search-epochs 0"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-lambda-min", "0", "-budget", "1"}, "smallest lambda of the grid is 0"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-lambda-decades", "0", "-budget", "1"}, "0 decades of lambda"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-lambda-decades", "2"}, "-lambda-decades shapes the lambda grid of a budget search: give -budget"},
		{[]string{"search", "-checkpoint", "x.ckpt", "-out", "o", "-lut", "exact", "-lambda", "0.1", "-budget", "1"}, "-budget searches lambda itself: drop -lambda"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr, false)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and a message containing %q", c.args[5:], code, stderr.String(), c.want)
		}
	}
}

func TestSearchBudgetNotMet(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	ck := tinyCheckpoint(t)
	var stdout, stderr bytes.Buffer
	// One multiplier that ruins the model: no lambda can keep it within a
	// tenth of a point.
	args := []string{"search", "-checkpoint", ck, "-threads", "2", "-quiet", "-lut", "trunc:t=14,signed=true",
		"-budget", "0.1", "-search-epochs", "1", "-out", filepath.Join(t.TempDir(), "s")}
	code := run(args, &stdout, &stderr, false)
	if code != 1 || !strings.Contains(stderr.String(), "no lambda keeps the accuracy within the budget") {
		t.Errorf("exit %d, %q; want 1 and the budget error", code, stderr.String())
	}
	// A costs file that names none of the multipliers (a typo in the names).
	costs := filepath.Join(t.TempDir(), "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\nmul8u_1JFF,0.39\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	code = run(append(args[:len(args)-2], "-costs", costs, "-out", filepath.Join(t.TempDir(), "c")), &stdout, &stderr, false)
	if code != 1 || !strings.Contains(stderr.String(), "-costs names none of the 1 multipliers given (names are table names: trunc:t=14,signed=true)") {
		t.Errorf("exit %d, %q; want 1 and the costs error", code, stderr.String())
	}
}

// TestSearchSaysWhenNothingFits searches with a tiny noise and no exact
// multiplier: no layer's tolerance is met, the table says so per layer and
// a warning says what to add. The saved lambda records the -data folder,
// so a resume with another one does not take it.
func TestSearchSaysWhenNothingFits(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	ck := tinyCheckpoint(t)
	out := filepath.Join(t.TempDir(), "s")
	data := t.TempDir() // the digits files, reached through a link
	root, err := dataset.CacheRoot()
	if err != nil {
		t.Skip(err)
	}
	if err := os.Symlink(filepath.Join(root, "digits"), filepath.Join(data, "digits")); err != nil {
		t.Fatal(err)
	}
	stdout := runOK(t, "search", "-checkpoint", ck, "-threads", "2", "-quiet", "-lut", "trunc:t=9,signed=true", "-lut", "trunc:t=12,signed=true",
		"-sigma-init", "0.001", "-lambda", "0", "-search-epochs", "1", "-data", data, "-out", out)
	if !strings.Contains(stdout, "warning: no multiplier's predicted error fits the tolerance of") || !strings.Contains(stdout, "-lut exact") {
		t.Errorf("no warning that nothing fits:\n%s", stdout)
	}
	if !strings.Contains(stdout, "fits") || !strings.Contains(stdout, "  no") {
		t.Errorf("the table has no fits column saying no:\n%s", stdout)
	}
	raw, err := os.ReadFile(lambdaFile(out, 0))
	if err != nil {
		t.Fatal(err)
	}
	var saved savedLambda
	if err := json.Unmarshal(raw, &saved); err != nil || saved.Key.DataDir != data {
		t.Errorf("saved lambda key %+v (%v): want the -data folder %s", saved.Key, err, data)
	}
	// The folder is recorded absolute: the same folder given relative to
	// the working directory reuses the saved lambda.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, data)
	if err != nil {
		t.Skip(err)
	}
	stdout = runOK(t, "search", "-checkpoint", ck, "-threads", "2", "-lut", "trunc:t=9,signed=true", "-lut", "trunc:t=12,signed=true",
		"-sigma-init", "0.001", "-lambda", "0", "-search-epochs", "1", "-data", rel, "-out", out, "-resume")
	if !strings.Contains(stdout, "lambda 0 (searched before, reused)") {
		t.Errorf("-data %s (relative) did not reuse the lambda saved with %s:\n%s", rel, data, stdout)
	}
	// A key that holds the folder relative is taken relative to the
	// working directory.
	saved.Key.DataDir = rel
	if raw, err = json.Marshal(saved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lambdaFile(out, 0), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout = runOK(t, "search", "-checkpoint", ck, "-threads", "2", "-lut", "trunc:t=9,signed=true", "-lut", "trunc:t=12,signed=true",
		"-sigma-init", "0.001", "-lambda", "0", "-search-epochs", "1", "-data", data, "-out", out, "-resume")
	if !strings.Contains(stdout, "lambda 0 (searched before, reused)") {
		t.Errorf("a lambda saved with -data %s (relative) was not reused with %s:\n%s", rel, data, stdout)
	}
}
