package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goapprox/goapprox/sweep"
)

// -limit retrains on the first N training samples: the sweep records how
// many, measures what a model opened with that limit measures, and a
// resumed sweep with another limit is refused.
func TestSweepLimit(t *testing.T) {
	ck := tinyCheckpoint(t)
	out := filepath.Join(t.TempDir(), "s")
	code, _, stderr := trainCmd("sweep", "-checkpoint", ck, "-threads", "2", "-quiet", "-lut", "trunc:t=10,signed=true",
		"-retrain-epochs", "1", "-limit", "320", "-out", out)
	if code != 0 {
		t.Fatal(stderr)
	}
	r, err := sweep.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.TrainSamples != 320 || len(r.Rows) != 1 || r.Rows[0].AccuracyAfter == nil {
		t.Fatalf("train samples %d, rows %+v", r.TrainSamples, r.Rows)
	}
	m, err := sweep.OpenModel(ck, "trunc:t=10,signed=true", sweep.ModelOptions{Threads: 1, RetrainEpochs: 1, Limit: 320})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	meas, err := m.Measure("trunc:t=10,signed=true", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if *r.Rows[0].AccuracyAfter != meas.After[0] {
		t.Errorf("sweep with -limit 320: %v after retraining; a model opened with Limit 320: %v", *r.Rows[0].AccuracyAfter, meas.After[0])
	}
	whole, err := sweep.OpenModel(ck, "trunc:t=10,signed=true", sweep.ModelOptions{Threads: 1, RetrainEpochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	if n := whole.Trainer().TrainSamples(); n <= 320 {
		t.Fatalf("the tiny model trains on %d samples; the test needs more than the limit", n)
	}
	code, _, stderr = trainCmd("sweep", "-checkpoint", ck, "-threads", "2", "-quiet", "-lut", "trunc:t=10,signed=true",
		"-retrain-epochs", "1", "-limit", "640", "-resume", "-out", out)
	if code != 1 || !strings.Contains(stderr, "-limit: 640 now, 320 in the earlier run") {
		t.Errorf("resume with another limit: exit %d, %s", code, stderr)
	}
	code, _, stderr = trainCmd("sweep", "-checkpoint", ck, "-lut", "exact", "-retrain-epochs", "1", "-limit", "-3", "-out", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "limit -3 must not be negative") {
		t.Errorf("negative limit: exit %d, %s", code, stderr)
	}
}

// The quick default -limit is for the quick first run on MNIST: another
// data set trains on all its samples unless -limit is given, and the
// header says how many samples a limit keeps of how many.
func TestDefaultLimitIsMNISTOnly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, defaultLimit},
		{[]string{"-dataset", "mnist"}, defaultLimit},
		{[]string{"-dataset", "fashion-mnist"}, 0},
		{[]string{"-dataset", "cifar10", "-model", "resnet8"}, 0},
		{[]string{"-dataset", "cifar10", "-model", "resnet8", "-limit", "500"}, 500},
	} {
		o, err := parseFlags(tc.args, io.Discard, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if o.cfg.Limit != tc.want {
			t.Errorf("%v: limit %d, want %d", tc.args, o.cfg.Limit, tc.want)
		}
	}

	code, stdout, stderr := trainCmd("-model", "mlp", "-dataset", "digits", "-limit", "64", "-batch", "32", "-qat-epochs", "1",
		"-lut", "none", "-threads", "1", "-quiet", "-out", filepath.Join(t.TempDir(), "run"))
	if code != 0 {
		t.Fatal(stderr)
	}
	if !strings.Contains(stdout, "training samples 64 of 1437 (-limit 64; -limit 0 uses all)") {
		t.Errorf("the header does not say what -limit drops:\n%s", stdout)
	}
}
