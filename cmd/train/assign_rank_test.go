package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/sweep"
	"github.com/goapprox/goapprox/train"
)

// With RankRetrainEpochs the greedy assignment ranks by drops measured
// after retraining: each recorded drop, the reference and the checked
// accuracy equal what a separate model measures with the same retraining,
// on the whole training set or, with a ranking model of a smaller Limit,
// on its first samples.
func TestAssignRanksAfterRetraining(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model and retrains it once per layer and candidate")
	}
	ck := tinyCheckpoint(t)
	for _, limit := range []int{0, 320} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) { testAssignRanked(t, ck, limit) })
	}
}

func testAssignRanked(t *testing.T, ck string, limit int) {
	open := func(limit int) *sweep.Model {
		m, err := sweep.OpenModel(ck, "exact:signed=true", sweep.ModelOptions{Threads: 2, RetrainEpochs: 1, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	}
	power := func(v float64) sweep.Cost { return sweep.Cost{Power: &v} }
	costs := sweep.Costs{"exact:signed=true": power(1), "trunc:t=4,signed=true": power(0.8), "trunc:t=10,signed=true": power(0.1)}
	o := sweep.AssignOptions{
		Candidates: []string{"exact:signed=true", "trunc:t=4,signed=true", "trunc:t=10,signed=true"},
		Costs:      costs, MaxLoss: 0.02, RankRetrainEpochs: 1}
	if limit > 0 {
		o.RankModel = open(limit)
	}
	whole := open(0)
	a, err := sweep.Assign(whole, o)
	if err != nil {
		t.Fatal(err)
	}
	if a.RankRetrainEpochs != 1 || a.RankReference == nil {
		t.Fatalf("rank retraining not recorded: %d epochs, reference %v", a.RankRetrainEpochs, a.RankReference)
	}
	samples := whole.Trainer().TrainSamples()
	if limit > 0 {
		samples = limit
	}
	if a.RankRetrainSamples != samples {
		t.Errorf("ranking retrained on %d samples, recorded %d", samples, a.RankRetrainSamples)
	}
	m := open(limit)
	ref, err := m.Measure("exact:signed=true", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if *a.RankReference != ref.After[0] {
		t.Errorf("reference %v, the exact model retrained one epoch gives %v", *a.RankReference, ref.After[0])
	}
	approximate := 0
	for _, l := range a.Layers {
		if l.Name == a.Exact {
			continue
		}
		approximate++
		meas, err := m.Measure("", []train.LayerLUT{{Layer: l.Layer, LUT: l.LUT}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.After[0] - meas.After[0]; l.Drop != want {
			t.Errorf("layer %s with %s: drop %v, measured after retraining %v", l.Layer, l.Name, l.Drop, want)
		}
	}
	if approximate > 0 {
		meas, err := m.Measure("", a.LayerLUTs(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if a.Accuracy != meas.After[0] || a.MeasuredLoss != ref.After[0]-meas.After[0] {
			t.Errorf("checked accuracy %v (loss %v), retrained assignment measures %v", a.Accuracy, a.MeasuredLoss, meas.After[0])
		}
	}
	if !strings.Contains(sweep.Summary(a), "ranked after 1 epoch(s) of retraining") {
		t.Errorf("summary does not say how drops were ranked:\n%s", sweep.Summary(a))
	}

	// The assignment's sensitivity.json keeps the drops after retraining,
	// and an assign that reuses it with the same retraining retrains
	// nothing for the ranking and chooses the same.
	if r := a.Sensitivity.Retraining; r == nil || r.Epochs != 1 || r.Samples != samples || r.AccuracyExact != *a.RankReference {
		t.Fatalf("sensitivity records retraining %+v; want 1 epoch on %d samples, exact %v", r, samples, *a.RankReference)
	}
	dir := t.TempDir()
	if err := sweep.WriteAssignment(dir, a); err != nil {
		t.Fatal(err)
	}
	saved, err := sweep.ReadSensitivity(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	o.Sensitivity = &saved
	o.Progress = func(s string) { log = append(log, s) }
	again, err := sweep.Assign(whole, o)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(log, "\n")
	if strings.Contains(text, "retraining epoch(s): ") {
		t.Errorf("the reusing assign retrained for the ranking:\n%s", text)
	}
	if !strings.Contains(text, "are those of the sensitivity measurements given") {
		t.Errorf("the reusing assign does not say it took the retrained drops:\n%s", text)
	}
	if *again.RankReference != *a.RankReference || again.Accuracy != a.Accuracy || len(again.Layers) != len(a.Layers) {
		t.Fatalf("reusing assign: reference %v, accuracy %v; first %v, %v", *again.RankReference, again.Accuracy, *a.RankReference, a.Accuracy)
	}
	for i, l := range again.Layers {
		if l.LUT != a.Layers[i].LUT || l.Drop != a.Layers[i].Drop {
			t.Errorf("layer %s: reusing assign chose %s (drop %v), the first %s (drop %v)", l.Layer, l.Name, l.Drop, a.Layers[i].Name, a.Layers[i].Drop)
		}
	}
}

func TestAssignRankRetrainFlag(t *testing.T) {
	costs := filepath.Join(t.TempDir(), "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\nexact,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-rank-retrain-epochs", "-1"}, "-rank-retrain-epochs -1 must not be negative"},
		{[]string{"-rank-retrain-epochs", "1", "-rank-retrain-limit", "-5"}, "-rank-retrain-limit -5 must not be negative"},
		{[]string{"-rank-retrain-limit", "500"}, "-rank-retrain-limit shortens the ranking's retraining: give -rank-retrain-epochs too"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"assign", "-checkpoint", "x.ckpt", "-lut", "exact", "-costs", costs, "-out", t.TempDir()}, c.args...)
		if code := run(args, &stdout, &stderr, false); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d: %s", c.args, code, stderr.String())
		}
	}
}

// The ranking's retraining is its own: its drops do not depend on the
// final retraining's length, so an assign with another -retrain-epochs
// reuses them from an earlier assign's sensitivity, and one with another
// -rank-retrain-limit retrains them again.
func TestAssignReusesTheRankingsDrops(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model and retrains it once per layer and candidate")
	}
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	costs := filepath.Join(dir, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\nexact:signed=true,1\n\"trunc:t=4,signed=true\",0.8\n\"trunc:t=10,signed=true\",0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	assign := func(out string, extra ...string) string {
		t.Helper()
		args := append([]string{"assign", "-checkpoint", ck, "-threads", "2", "-out", filepath.Join(dir, out), "-costs", costs, "-max-loss", "0.02",
			"-lut", "exact:signed=true", "-lut", "trunc:t=4,signed=true", "-lut", "trunc:t=10,signed=true", "-rank-retrain-epochs", "1"}, extra...)
		code, stdout, stderr := trainCmd(args...)
		if code != 0 {
			t.Fatalf("assign %v: exit %d: %s", extra, code, stderr)
		}
		return stdout
	}
	assign("first", "-retrain-epochs", "2")
	s, err := sweep.ReadSensitivity(filepath.Join(dir, "first"))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Retraining; r == nil || r.Epochs != 1 || r.ScheduleEpochs != 1 {
		t.Fatalf("the ranking's retraining is recorded as %+v; want 1 epoch of a 1-epoch schedule", r)
	}
	const reused = "are those of the sensitivity measurements given"
	if out := assign("other-final", "-retrain-epochs", "1", "-sensitivity", filepath.Join(dir, "first")); !strings.Contains(out, reused) || strings.Contains(out, "exact model after") {
		t.Errorf("another -retrain-epochs did not reuse the ranking's drops:\n%s", out)
	}
	if out := assign("other-limit", "-rank-retrain-limit", "320", "-sensitivity", filepath.Join(dir, "first")); strings.Contains(out, reused) || !strings.Contains(out, "exact model after 1 retraining epoch(s)") {
		t.Errorf("another -rank-retrain-limit reused the ranking's drops:\n%s", out)
	}
}
