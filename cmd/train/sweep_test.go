package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/sweep"
	"github.com/goapprox/goapprox/train"
)

// tinyCheckpoint trains an MLP on the digits data set (1,437 training
// images of 8x8) for one QAT epoch and returns its qat.ckpt: a model that
// evaluates in milliseconds.
func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	if _, err := dataset.Load("digits", dataset.Test, dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skip(err)
	}
	cfg := train.DefaultConfig()
	cfg.Model, cfg.Dataset, cfg.Batch, cfg.QATEpochs, cfg.Threads = "mlp", "digits", 32, 1, 2
	tr, err := train.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	dir := t.TempDir()
	if _, err := tr.Run(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, train.PhaseCheckpoint(train.PhaseQAT))
}

// buildTrain builds the command into a temporary directory.
func buildTrain(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "train")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// readSweep reads a sweep folder's json and csv with the seconds (the one
// measured, run-dependent value) set to zero.
func readSweep(t *testing.T, dir string) (sweep.Result, string) {
	t.Helper()
	r, err := sweep.ReadResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Rows {
		r.Rows[i].Seconds = 0
	}
	data, err := os.ReadFile(filepath.Join(dir, sweep.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, l := range lines {
		lines[i] = l[:strings.LastIndex(l, ",")] // drop the seconds column
	}
	return r, strings.Join(lines, "\n")
}

// TestShardedSweepMatchesUnsharded runs a sweep whole and as two shards in
// separate processes (one from -shard, one from a Kubernetes index), merges
// the shards and compares: everything but the seconds must be identical.
func TestShardedSweepMatchesUnsharded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs it four times")
	}
	ck := tinyCheckpoint(t)
	bin := buildTrain(t)
	out := t.TempDir()
	costs := filepath.Join(out, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power,area\nexact:signed=true,0.39,700\n\"trunc:t=8,signed=true\",0.2,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"sweep", "-checkpoint", ck, "-threads", "2", "-retrain-epochs", "1", "-costs", costs, "-quiet",
		"-lut", "exact:signed=true", "-lut", "trunc:t=8,signed=true", "-lut", "mitchell:signed=true"}
	runBin := func(env []string, extra ...string) {
		t.Helper()
		cmd := exec.Command(bin, append(append([]string(nil), args...), extra...)...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("train %v: %v\n%s", extra, err, out)
		}
	}
	whole := filepath.Join(out, "whole")
	runBin(nil, "-out", whole)
	shards := filepath.Join(out, "sharded")
	runBin(nil, "-shard", "0/2", "-out", shards)
	runBin([]string{"JOB_COMPLETION_INDEX=1"}, "-shard-count", "2", "-out", shards)
	merged := filepath.Join(out, "merged")
	cmd := exec.Command(bin, "merge", "-out", merged,
		filepath.Join(shards, "shard-000-of-002"), filepath.Join(shards, "shard-001-of-002"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("merge: %v\n%s", err, b)
	}

	w, wcsv := readSweep(t, whole)
	m, mcsv := readSweep(t, merged)
	if !reflect.DeepEqual(w, m) {
		a, _ := json.MarshalIndent(w, "", " ")
		b, _ := json.MarshalIndent(m, "", " ")
		t.Fatalf("merged sweep differs from the whole one:\n%s\n%s", a, b)
	}
	if wcsv != mcsv {
		t.Fatalf("merged csv differs:\n%s\n%s", wcsv, mcsv)
	}
	for _, f := range []string{sweep.PlotMAE, sweep.PlotBars, sweep.PlotPower} {
		if _, err := os.Stat(filepath.Join(merged, f)); err != nil {
			t.Errorf("merged folder lacks %s", f)
		}
	}

	// What the rows say, independently of sharding.
	if len(w.Rows) != 3 || w.Rows[0].LUT != "exact:signed=true" || w.Rows[2].LUT != "mitchell:signed=true" {
		t.Fatalf("rows: %+v", w.Rows)
	}
	// The exact table in Approximate mode computes what Quantized mode does.
	if w.Rows[0].AccuracyBefore != w.AccuracyExact || w.Rows[0].MAE != 0 {
		t.Errorf("exact multiplier: accuracy %v, exact products %v, MAE %v", w.Rows[0].AccuracyBefore, w.AccuracyExact, w.Rows[0].MAE)
	}
	if r := w.Rows[1]; r.Power == nil || *r.Power != 0.2 || r.Area != nil || r.AccuracyAfter == nil {
		t.Errorf("trunc row costs/retraining: %+v", r)
	}
	if w.Rows[2].Power != nil {
		t.Errorf("mitchell has no cost in the file, got power %v", *w.Rows[2].Power)
	}
}

func TestSweepErrors(t *testing.T) {
	dir := t.TempDir()
	costs := filepath.Join(dir, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\nmitchell,0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "-lut", "mitchell", "-out", dir}, "-checkpoint FILE is required"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-out", dir}, "no multipliers"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "a", "-lut", "a", "-out", dir}, "listed twice"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-shard", "2/2"}, "index must be in 0..count-1"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-shard-count", "2"}, "without a shard index"},
		{[]string{"sweep", "-checkpoint", filepath.Join(dir, "none.ckpt"), "-lut", "mitchell", "-out", dir}, "reading the checkpoint"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-costs", filepath.Join(dir, "no.csv")}, "-costs"},
		{[]string{"merge", "-out", dir}, "usage: train merge"},
		{[]string{"merge", "-out", dir, filepath.Join(dir, "missing")}, "not a sweep folder"},
		{[]string{"assign", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir}, "-costs CSV is required"},
		{[]string{"sensitivity", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-limit", "10", "-costs", "c.csv"}, "-costs, -limit: sensitivity measures the trained model as it is"},
		{[]string{"assign", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-costs", costs, "-max-loss", "5"}, "-max-loss 5 must be a fraction from 0 to 1"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-retrain-lr", "0.01"}, "-retrain-lr is the learning rate of the fine-tuning: give -retrain-epochs"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-retrain-lr", "-1", "-retrain-epochs", "1"}, "-retrain-lr -1 must be a positive number"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-limit", "100"}, "-limit chooses the samples of the fine-tuning"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-limit", "-5", "-retrain-epochs", "1"}, "-limit -5 must not be negative"},
	} {
		code, _, stderr := trainCmd(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train %v: exit %d, stderr %q; want an error containing %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestSensitivityAndAssign runs both in-process on the tiny model: the exact
// multiplier in a layer changes nothing and is predicted to add no error;
// shares add up to one; a generous budget takes the cheapest multiplier
// everywhere, a zero budget only moves that cost no accuracy.
func TestSensitivityAndAssign(t *testing.T) {
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	code, _, stderr := trainCmd("sensitivity", "-checkpoint", ck, "-threads", "2", "-out", dir,
		"-lut", "exact:signed=true", "-lut", "trunc:t=10,signed=true")
	if code != 0 {
		t.Fatal(stderr)
	}
	var sens sweep.SensitivityResult
	data, err := os.ReadFile(filepath.Join(dir, sweep.SensitivityJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sens); err != nil {
		t.Fatal(err)
	}
	if len(sens.Multipliers) != 2 || len(sens.Layers) != 3 {
		t.Fatalf("got %d multipliers, %d layers", len(sens.Multipliers), len(sens.Layers))
	}
	share := 0.0
	for _, l := range sens.Layers {
		share += l.Share
	}
	if share < 0.999999 || share > 1.000001 {
		t.Errorf("shares add up to %v", share)
	}
	for _, l := range sens.Multipliers[0].Layers {
		if l.Drop != 0 || l.PredictedStd != 0 || l.PredictedMean != 0 {
			t.Errorf("exact in %s: drop %v, predicted %v ± %v", l.Layer, l.Drop, l.PredictedMean, l.PredictedStd)
		}
	}
	for _, l := range sens.Multipliers[1].Layers {
		if !(l.PredictedStd > 0) || !(l.OutputStd > 0) {
			t.Errorf("trunc:t=10 in %s: predicted std %v, output std %v", l.Layer, l.PredictedStd, l.OutputStd)
		}
	}

	costs := filepath.Join(dir, "costs.csv")
	os.WriteFile(costs, []byte("name,power\nexact:signed=true,1\n\"trunc:t=4,signed=true\",0.8\n\"trunc:t=10,signed=true\",0.1\n"), 0o644)
	for _, tc := range []struct {
		budget string
		check  func(a sweep.Assignment)
	}{
		{"1", func(a sweep.Assignment) {
			for _, l := range a.Layers {
				if l.Name != "trunc:t=10,signed=true" {
					t.Errorf("budget 1: layer %s got %s, want the cheapest", l.Layer, l.Name)
				}
			}
			if d := a.Saving - 0.9; d > 1e-9 || d < -1e-9 {
				t.Errorf("saving %v, want 0.9 (power 0.1 of 1 everywhere)", a.Saving)
			}
		}},
		{"0", func(a sweep.Assignment) {
			for _, l := range a.Layers {
				if l.Name != a.Exact && l.Drop > 0 {
					t.Errorf("budget 0: layer %s got %s with drop %v", l.Layer, l.Name, l.Drop)
				}
			}
		}},
	} {
		out := filepath.Join(dir, "assign"+tc.budget)
		code, _, stderr := trainCmd("assign", "-checkpoint", ck, "-threads", "2", "-out", out, "-costs", costs,
			"-max-loss", tc.budget, "-lut", "exact:signed=true", "-lut", "trunc:t=4,signed=true", "-lut", "trunc:t=10,signed=true")
		if code != 0 {
			t.Fatal(stderr)
		}
		var a sweep.Assignment
		data, _ := os.ReadFile(filepath.Join(out, sweep.AssignmentJSON))
		if err := json.Unmarshal(data, &a); err != nil {
			t.Fatal(err)
		}
		tc.check(a)
	}

	// Reusing the drops of the budget-1 run gives the budget-0 run's
	// assignment byte for byte; drops of another list are refused.
	reused := filepath.Join(dir, "assign0-reused")
	code, stdout, stderr := trainCmd("assign", "-checkpoint", ck, "-threads", "2", "-out", reused, "-costs", costs,
		"-max-loss", "0", "-lut", "exact:signed=true", "-lut", "trunc:t=4,signed=true", "-lut", "trunc:t=10,signed=true",
		"-sensitivity", filepath.Join(dir, "assign1"))
	if code != 0 {
		t.Fatal(stderr)
	}
	if strings.Contains(stdout, "predicted sigma") { // a sensitivity measurement's progress line
		t.Errorf("the reusing run measured drops again:\n%s", stdout)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "assign0", sweep.AssignmentJSON))
	got, _ := os.ReadFile(filepath.Join(reused, sweep.AssignmentJSON))
	if len(want) == 0 || string(got) != string(want) {
		t.Errorf("assignment with reused drops:\n%s\nmeasured:\n%s", got, want)
	}
	code, _, stderr = trainCmd("assign", "-checkpoint", ck, "-threads", "2", "-out", filepath.Join(dir, "bad"), "-costs", costs,
		"-lut", "exact:signed=true", "-lut", "trunc:t=4,signed=true", "-lut", "trunc:t=10,signed=true", "-sensitivity", dir)
	if code != 1 || !strings.Contains(stderr, "the sensitivity measurements lack [trunc:t=4,signed=true] (by table content)") {
		t.Errorf("drops of another list: exit %d, %s", code, stderr)
	}

	// Neither writes into a folder holding results: an assign into the
	// folder of the sensitivity it reuses, a sensitivity into an assign's.
	before, _ := os.ReadFile(filepath.Join(dir, sweep.SensitivityJSON))
	code, _, stderr = trainCmd("assign", "-checkpoint", ck, "-threads", "2", "-out", dir, "-costs", costs,
		"-lut", "exact:signed=true", "-lut", "trunc:t=10,signed=true", "-sensitivity", dir)
	if code != 1 || !strings.Contains(stderr, "already holds other results (sensitivity.json, sensitivity.csv, sensitivity.png)") {
		t.Errorf("assign into the sensitivity folder: exit %d, %s", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, sweep.SensitivityJSON)); string(after) != string(before) {
		t.Error("the refused assign changed the sensitivity it was given")
	}
	code, _, stderr = trainCmd("sensitivity", "-checkpoint", ck, "-threads", "2", "-out", reused, "-lut", "exact:signed=true")
	if code != 1 || !strings.Contains(stderr, "already holds other results") || !strings.Contains(stderr, sweep.AssignmentJSON) {
		t.Errorf("sensitivity into an assign folder: exit %d, %s", code, stderr)
	}
}

// TestSweepFolderSafety: a sweep that stops on a bad table leaves a folder
// a corrected sweep can use; costs that match no table are named with the
// row that was meant; merge never writes over another sweep's folder, and
// says what to give it instead of a whole sweep's folder.
func TestSweepFolderSafety(t *testing.T) {
	ck := tinyCheckpoint(t)
	root := t.TempDir()
	sweepIn := func(out string, extra ...string) (int, string, string) {
		args := append([]string{"sweep", "-checkpoint", ck, "-threads", "2", "-quiet", "-out", out}, extra...)
		return trainCmd(args...)
	}

	bad := filepath.Join(root, "bad")
	if code, _, stderr := sweepIn(bad, "-lut", "exact:signed=true", "-lut", "trunc:t=99"); code == 0 || !strings.Contains(stderr, "trunc:t=99") {
		t.Fatalf("a bad table: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(bad, sweep.RecordFile)); err == nil {
		t.Error("the failed sweep recorded itself in its folder")
	}
	// The folders a failed command created are removed again, a shard's
	// parents included.
	fresh := filepath.Join(root, "fresh")
	if code, _, _ := sweepIn(filepath.Join(fresh, "deep"), "-lut", "trunc:t=99", "-shard", "0/2"); code == 0 {
		t.Fatal("a bad table was accepted")
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed sweep left %s behind (%v)", fresh, err)
	}
	costs := filepath.Join(root, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\nEXACT:SIGNED=TRUE,0.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := sweepIn(bad, "-lut", "exact:signed=true", "-lut", "trunc:t=8,signed=true", "-costs", costs)
	if code != 0 {
		t.Fatalf("the corrected sweep in the same folder: exit %d, %s", code, stderr)
	}
	if !strings.Contains(stdout, `row "EXACT:SIGNED=TRUE" would match "exact:signed=true"`) || !strings.Contains(stdout, "no row for 2 of the 2") {
		t.Errorf("no warning about the costs that match no table:\n%s", stdout)
	}

	// A folder whose sweep measured nothing (its record alone) is taken
	// over; one whose results cannot be read is not.
	empty := filepath.Join(root, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	rec, err := os.ReadFile(filepath.Join(bad, sweep.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, sweep.RecordFile), rec, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sweepIn(empty, "-lut", "exact:signed=true"); code != 0 {
		t.Errorf("a folder with a record and no rows was not taken over: %s", stderr)
	}
	if err := os.WriteFile(filepath.Join(empty, sweep.JSONFile), []byte("{\"rows\": [}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sweepIn(empty, "-lut", "exact:signed=true"); code == 0 || !strings.Contains(stderr, "results cannot be read") {
		t.Errorf("a folder with unreadable results: exit %d, %q", code, stderr)
	}

	shards := filepath.Join(root, "shards")
	for _, s := range []string{"0/2", "1/2"} {
		if code, _, stderr := sweepIn(shards, "-lut", "exact:signed=true", "-lut", "mitchell:signed=true", "-shard", s); code != 0 {
			t.Fatalf("shard %s: %s", s, stderr)
		}
	}
	parts := []string{filepath.Join(shards, "shard-000-of-002"), filepath.Join(shards, "shard-001-of-002")}
	before, _ := os.ReadFile(filepath.Join(bad, sweep.JSONFile))
	code, _, stderr = trainCmd(append([]string{"merge", "-out", bad}, parts...)...)
	if code == 0 || !strings.Contains(stderr, "holds a sweep run there") {
		t.Errorf("merge into another sweep's folder: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(bad, sweep.JSONFile)); string(after) != string(before) {
		t.Error("the refused merge changed the other sweep's results")
	}
	merged := filepath.Join(root, "merged")
	for range 2 { // merging the same shards again is allowed
		if code, _, stderr := trainCmd(append([]string{"merge", "-out", merged}, parts...)...); code != 0 {
			t.Fatalf("merge: %s", stderr)
		}
	}
	other := filepath.Join(root, "other")
	for _, s := range []string{"0/2", "1/2"} {
		if code, _, stderr := sweepIn(other, "-lut", "exact:signed=true", "-lut", "trunc:t=8,signed=true", "-shard", s); code != 0 {
			t.Fatalf("shard %s: %s", s, stderr)
		}
	}
	code, _, stderr = trainCmd("merge", "-out", merged, filepath.Join(other, "shard-000-of-002"), filepath.Join(other, "shard-001-of-002"))
	if code == 0 || !strings.Contains(stderr, "results of another sweep") {
		t.Errorf("merge of other shards into a merged folder: exit %d, %q", code, stderr)
	}
	code, _, stderr = trainCmd("merge", "-out", filepath.Join(root, "m2"), bad)
	if code == 0 || !strings.Contains(stderr, "not a shard: give the shard folders") {
		t.Errorf("merge of a whole sweep's folder: exit %d, %q", code, stderr)
	}
	code, _, stderr = trainCmd("merge", "-out", filepath.Join(root, "m3"), parts[0])
	if code == 0 || !strings.Contains(stderr, "train sweep -shard 1/2") {
		t.Errorf("merge with a shard missing: exit %d, %q", code, stderr)
	}
}

// TestSweepCtrlC interrupts a sweep process after its first saved row: it
// says how to go on and exits 130, and -resume then finishes the sweep
// from the rows saved.
func TestSweepCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	ck := tinyCheckpoint(t)
	bin := buildTrain(t)
	out := filepath.Join(t.TempDir(), "sweep")
	args := []string{"sweep", "-checkpoint", ck, "-threads", "2", "-quiet", "-retrain-epochs", "3", "-out", out}
	for _, l := range []string{"exact:signed=true", "trunc:t=8,signed=true", "mitchell:signed=true", "trunc:t=9,signed=true", "trunc:t=10,signed=true", "trunc:t=11,signed=true"} {
		args = append(args, "-lut", l)
	}
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	interrupted := false
	for !interrupted {
		select {
		case err = <-done:
			t.Fatalf("the sweep ended (%v) before it could be interrupted: make it longer", err)
		case <-time.After(time.Millisecond):
		}
		if r, rerr := sweep.ReadResult(out); rerr == nil && len(r.Rows) > 0 {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			interrupted = true
		}
	}
	err = <-done
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 130 || !strings.Contains(stderr.String(), "interrupted") ||
		!strings.Contains(stderr.String(), "-resume") {
		t.Fatalf("after Ctrl-C: %v, stderr %q; want exit 130 and a message saying to -resume", err, stderr.String())
	}
	resumed := exec.Command(bin, append(args, "-resume")...)
	if b, err := resumed.CombinedOutput(); err != nil || !strings.Contains(string(b), "were measured before") {
		t.Fatalf("-resume: %v\n%s", err, b)
	}
	if r, err := sweep.ReadResult(out); err != nil || len(r.Rows) != 6 {
		t.Fatalf("after -resume: %d rows, %v", len(r.Rows), err)
	}
}
