package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goapprox/goapprox/train"
)

func TestNoiseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-noise-epochs", "2", "-noise-sigma", "0.25", "-noise-mu", "-0.5"}, os.Stderr, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.NoiseEpochs != 2 || c.NoiseSigma == nil || *c.NoiseSigma != 0.25 || c.NoiseMu == nil || *c.NoiseMu != -0.5 {
		t.Errorf("config %+v", c)
	}
	// Unset, sigma and mu are left to the error model: nil, not 0.
	o, err = parseFlags([]string{"-noise-epochs", "1"}, os.Stderr, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.NoiseEpochs != 1 || o.cfg.NoiseSigma != nil || o.cfg.NoiseMu != nil {
		t.Errorf("config %+v", o.cfg)
	}
	if o, err := parseFlags(nil, os.Stderr, time.Time{}); err != nil || o.cfg.NoiseEpochs != 0 {
		t.Errorf("default run has %d noise epochs (%v), want none", o.cfg.NoiseEpochs, err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-noise-epochs", "-1"}, "must not be negative (float 0, QAT 2, noise -1"},
		{[]string{"-noise-epochs", "1", "-noise-sigma", "-0.1"}, "noise sigma -0.1 must be a finite number >= 0"},
		{[]string{"-noise-epochs", "1", "-lut", "none"}, "give the multiplier it stands in for (-lut, -layer-lut)"},
		{[]string{"-noise-sigma", "0.1"}, "add -noise-epochs N"},
		{[]string{"-noise-epochs", "x"}, "invalid value"},
	}
	for _, tc := range cases {
		code, _, stderr := trainCmd(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// -resume must agree with the checkpoint on the noise settings.
	ck := train.DefaultConfig()
	ck.NoiseEpochs, ck.LUT = 1, "mitchell"
	o, err = parseFlags([]string{"-out", "x", "-resume", "-noise-sigma", "0.3"}, os.Stderr, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.resumeConfig(ck); err == nil || !strings.Contains(err.Error(), "drop -noise-sigma") {
		t.Errorf("resume with another -noise-sigma: %v", err)
	}
}

// TestNoiseRun trains LeNet-5 on 128 MNIST images through QAT, a noise
// epoch and an approximate epoch, checks that the phase is in metrics.csv,
// report.json and the printed summary, then rewinds to the end of QAT and
// resumes: the report must come out the same.
func TestNoiseRun(t *testing.T) {
	needMNIST(t)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"-limit", "128", "-qat-epochs", "1", "-noise-epochs", "1", "-approx-epochs", "1", "-threads", "2", "-out", dir}
	code, stdout, stderr := trainCmd(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"QAT 1, noise 1, approximate 1", "after noise training, exact products", "noise phase: y + N(0,1)",
		"global-model sigma", "errmodel"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(filepath.Join(dir, metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, r := range rows[1:] {
		phases = append(phases, r[1])
	}
	if want := []string{"qat", "noise", "approx"}; !reflect.DeepEqual(phases, want) {
		t.Errorf("metrics.csv phases %v, want %v", phases, want)
	}

	rep := readReport(t, dir)
	noise, _ := rep["noise"].([]any)
	if len(noise) != 5 {
		t.Fatalf("report.json noise %v, want LeNet-5's 5 layers", rep["noise"])
	}
	for _, n := range noise {
		m, _ := n.(map[string]any)
		if s, _ := m["sigma"].(float64); !(s > 0) || m["sigma_from"] != "errmodel" || m["table"] != "trunc:t=9,signed=true" {
			t.Errorf("noise record %v", m)
		}
	}
	acc, _ := rep["accuracy"].(map[string]any)
	if v, ok := acc["noise"].(float64); !ok || v <= 0 || v > 1 {
		t.Errorf("accuracy.noise = %v", acc["noise"])
	}
	if cfg, _ := rep["config"].(map[string]any); cfg["noise_epochs"] != 1.0 {
		t.Errorf("report config %v", cfg)
	}

	ck := filepath.Join(dir, "checkpoints")
	data, err := os.ReadFile(filepath.Join(ck, train.PhaseCheckpoint(train.PhaseQAT)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ck, train.LastCheckpoint), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := trainCmd("-out", dir, "-resume", "-threads", "1"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	again := readReport(t, dir)
	if !equalJSON(again["accuracy"], acc) || !equalJSON(again["noise"], rep["noise"]) {
		t.Errorf("resumed: accuracy %v noise %v; uninterrupted %v %v", again["accuracy"], again["noise"], acc, rep["noise"])
	}
}
