package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/train"
)

// killArgs is a small run on the 8x8 digits: an MLP, eight epochs (about
// a quarter of a second each), so checkpoints are written often.
var killArgs = []string{"-model", "mlp", "-dataset", "digits", "-limit", "0", "-batch", "32",
	"-qat-epochs", "5", "-approx-epochs", "3", "-lut", "trunc:t=8,signed=true", "-seed", "3", "-quiet"}

// TestSIGKILLWhileWritingCheckpoints builds the command, starts a run and
// kills it with SIGKILL several times: twice the moment a temporary
// file appears beside an existing checkpoint (in the middle of replacing
// it), then at seeded
// random moments after the first checkpoint. After every kill the last
// checkpoint must load (the temporary file of the interrupted write may
// stay behind, the checkpoint never half-written), and -resume must carry on; the finished run must
// report exactly the accuracies and per-epoch metrics of an uninterrupted
// run with the same seed.
func TestSIGKILLWhileWritingCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and trains three times")
	}
	if _, err := dataset.Load("digits", dataset.Test, dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skip(err)
	}
	bin := filepath.Join(t.TempDir(), "train")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	start := func(dir string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
		var out bytes.Buffer
		cmd := exec.Command(bin, append(append(append([]string(nil), killArgs...), "-out", dir), extra...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}

	ref := filepath.Join(t.TempDir(), "whole")
	cmd, out := start(ref)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	dir := filepath.Join(t.TempDir(), "killed")
	ckDir := filepath.Join(dir, "checkpoints")
	last := filepath.Join(ckDir, train.LastCheckpoint)
	rng := rand.New(rand.NewPCG(8, 8))
	resumed, kills, midWrite := false, 0, 0
	for round := 0; round < 4; round++ {
		var extra []string
		if resumed {
			extra = []string{"-resume"}
		}
		stale := tempFiles(ckDir) // left by an earlier kill
		cmd, out := start(dir, extra...)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var killed bool
		if round < 2 {
			// In the middle of replacing an existing checkpoint. Should
			// the polling miss three writes in a row (a very fast disk),
			// kill right after the third instead.
			var seen []time.Time
			killed = killWhen(cmd, done, func() bool {
				fi, err := os.Stat(last)
				if err != nil {
					return false
				}
				if len(tempFiles(ckDir)) > len(stale) {
					midWrite++
					return true
				}
				if len(seen) == 0 || !fi.ModTime().Equal(seen[len(seen)-1]) {
					seen = append(seen, fi.ModTime())
				}
				return len(seen) > 3
			})
		} else {
			wait := time.Duration(rng.IntN(1500)) * time.Millisecond
			killed = killWhen(cmd, done, func() bool {
				if _, err := os.Stat(last); err != nil {
					return false
				}
				time.Sleep(wait)
				return true
			})
		}
		if !killed {
			t.Logf("round %d: the run finished before the kill\n%s", round, out)
			break
		}
		kills++
		ck, err := train.ReadCheckpoint(last)
		if err != nil {
			t.Fatalf("round %d: after SIGKILL the last checkpoint does not load: %v\n%s", round, err, out)
		}
		phase, epoch := ck.Phase()
		t.Logf("round %d: killed; %s holds %s epoch %d", round, train.LastCheckpoint, phase, epoch)
		resumed = true
	}
	if kills == 0 {
		t.Fatal("no run was killed: the test proved nothing")
	}
	t.Logf("%d kills, %d of them in the middle of writing a checkpoint", kills, midWrite)
	if resumed {
		cmd, out = start(dir, "-resume")
	} else {
		cmd, out = start(dir)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	want, got := readReport(t, ref), readReport(t, dir)
	if !equalJSON(got["accuracy"], want["accuracy"]) {
		t.Errorf("accuracies after %d kills %v, uninterrupted %v", kills, got["accuracy"], want["accuracy"])
	}
	if a, b := testMetrics(got), testMetrics(want); !equalJSON(a, b) {
		t.Errorf("per-epoch metrics after kills %v, uninterrupted %v", a, b)
	}
}

// killWhen polls ready every half millisecond while the command runs and
// SIGKILLs it when ready says so. It reports whether it killed the
// command (false: the command ended first).
func killWhen(cmd *exec.Cmd, done <-chan error, ready func() bool) bool {
	for {
		select {
		case <-done:
			return false
		default:
		}
		if ready() {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				<-done
				return false
			}
			<-done
			return true
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// tempFiles lists the temporary files of atomicfile in dir. A kill in
// the middle of a write leaves one behind; it is never read.
func tempFiles(dir string) []string {
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp") {
			names = append(names, e.Name())
		}
	}
	return names
}

// testMetrics are a report's per-epoch results without the timings.
func testMetrics(rep map[string]any) []any {
	var out []any
	epochs, _ := rep["epochs"].([]any)
	for _, e := range epochs {
		m, _ := e.(map[string]any)
		out = append(out, []any{m["phase"], m["epoch"], m["train_loss"], m["train_accuracy"], m["test_loss"], m["test_accuracy"]})
	}
	return out
}
