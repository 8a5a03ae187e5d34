package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/train"
)

// trainCmd runs the command in-process without progress bars.
func trainCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut, false)
	return code, out.String(), errOut.String()
}

func needMNIST(t *testing.T) {
	t.Helper()
	if _, err := dataset.Load("mnist", dataset.Test, dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skip(err)
	}
}

func TestFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-model", "resnet110"}, "alexnet, lenet5, mlp, mobilenetv2, mobilenetv2-small, resnet14, resnet20, resnet32, resnet44, resnet56, resnet8, resnet8-1x1, vgg, vgg11, vgg16"},
		{[]string{"-dataset", "svhn"}, "cifar10, cifar100, cifar100-coarse, digits, fashion-mnist, mnist"},
		{[]string{"-dataset", "digits"}, "lenet5 cannot take digits images"},
		{[]string{"-quant", "int4"}, "signed, unsigned, torchapprox"},
		{[]string{"-optimizer", "lbfgs"}, "adam, sgd"},
		{[]string{"-batch", "0"}, "batch size"},
		{[]string{"-lr", "-1"}, "learning rate"},
		{[]string{"-layer-lut", "conv1"}, "NAME=SPEC"},
		{[]string{"-lut", "none", "-approx-epochs", "2"}, "no multiplier to fine-tune"},
		{[]string{"-lut", "none", "-approx-lr", "0.1"}, "no noise or approximate phase"},
		{[]string{"-resume"}, "-resume needs -out"},
		{[]string{"-model", "resnet8", "-dataset", "folder:" + dir, "-data", dir}, "an image folder is read from the path in folder:DIR"},
		{[]string{"-model", "alexnet", "-dataset", "digits"}, "it takes none of the registered data sets, only an image folder (folder:DIR)"},
		{[]string{"-model", "mlp", "-dataset", "digits", "-image-size", "32"}, "image size 32 applies to image folders (folder:DIR) only"},
		{[]string{"-limit", "-5"}, "must not be negative"},
		{[]string{"-qat-epochs", "-1"}, "must not be negative"},
		{[]string{"stray"}, `unknown subcommand "stray": the subcommands are assign, compare, merge, models, search, sensitivity, sweep`},
		{[]string{"-lr", "0.1", "stray"}, "unexpected argument"},
		{[]string{"-epochs", "3"}, "flag provided but not defined"},
		{[]string{"-out", dir, "-resume"}, "holds no run"},
	}
	for _, tc := range cases {
		code, _, stderr := trainCmd(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train %v: exit %d, stderr %q; want an error containing %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, stdout, _ := trainCmd("-h"); code != 0 && !strings.Contains(stdout, "-layer-lut") {
		t.Errorf("-h: exit %d", code)
	}
}

// TestMultiplierErrors needs the data: multipliers are checked against the
// built model's layers.
func TestMultiplierErrors(t *testing.T) {
	needMNIST(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-lut", "wallace"}, "built-ins: exact, trunc"},
		{[]string{"-lut", "missing/table.bin"}, "missing/table.bin"},
		{[]string{"-lut", "trunc:t=4"}, "unsigned preset"},
		{[]string{"-layer-lut", "conv9=mitchell:signed=true"}, "conv1 conv2 fc1 fc2 fc3"},
	}
	for _, tc := range cases {
		args := append([]string{"-limit", "64", "-out", t.TempDir()}, tc.args...)
		code, _, stderr := trainCmd(args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train %v: exit %d, stderr %q; want exit 1 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func readReport(t *testing.T, dir string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, reportFile))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTinyRunAndResume trains LeNet-5 on 128 MNIST images (one QAT and one
// approximate epoch), checks every file of the run folder, then rewinds
// a copy of the folder to the end of QAT and resumes it: the accuracies
// must come out identical.
func TestTinyRunAndResume(t *testing.T) {
	needMNIST(t)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"-limit", "128", "-qat-epochs", "1", "-approx-epochs", "1", "-threads", "2", "-out", dir}
	code, stdout, stderr := trainCmd(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"QAT, exact products", "approximate, before retraining", "approximate, after retraining",
		"trunc:t=9,signed=true", "MAE", "ms/step"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	rep := readReport(t, dir)
	if rep["model"] != "lenet5" || rep["dataset"] != "mnist" || rep["lut"] != "trunc:t=9,signed=true" {
		t.Errorf("report names %v on %v with %v", rep["model"], rep["dataset"], rep["lut"])
	}
	acc, _ := rep["accuracy"].(map[string]any)
	for _, k := range []string{"qat", "approx_before", "approx_after"} {
		v, ok := acc[k].(float64)
		if !ok || v <= 0 || v > 1 {
			t.Errorf("accuracy.%s = %v, want a fraction", k, acc[k])
		}
	}
	if cfg, _ := rep["config"].(map[string]any); cfg["limit"] != 128.0 || cfg["qat_epochs"] != 1.0 {
		t.Errorf("report config %v", cfg)
	}
	if epochs, _ := rep["epochs"].([]any); len(epochs) != 2 {
		t.Errorf("report has %d epochs, want 2", len(epochs))
	}
	if n, _ := rep["test_samples"].(float64); n != 10000 {
		t.Errorf("evaluated on %v test samples, want the full 10000", n)
	}

	rows := readCSV(t, filepath.Join(dir, metricsFile))
	if len(rows) != 3 || rows[0][1] != "phase" || rows[1][1] != "qat" || rows[2][1] != "approx" {
		t.Errorf("metrics.csv rows %v", rows)
	}
	f, err := os.Open(filepath.Join(dir, plotFile))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 300 {
		t.Errorf("plot: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "checkpoints"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "approx.ckpt last.ckpt qat.ckpt" {
		t.Errorf("checkpoints %v (leftover temporary files?)", names)
	}

	// Running again into the same folder without -resume is refused.
	if code, _, stderr := trainCmd(args...); code != 1 || !strings.Contains(stderr, "-resume") {
		t.Errorf("second run into %s: exit %d, %s", dir, code, stderr)
	}

	// Rewind to the end of QAT and resume: same accuracies.
	ck := filepath.Join(dir, "checkpoints")
	data, err := os.ReadFile(filepath.Join(ck, train.PhaseCheckpoint(train.PhaseQAT)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ck, train.LastCheckpoint), data, 0o644); err != nil {
		t.Fatal(err)
	}
	firstSeconds, _ := readReport(t, dir)["seconds"].(float64)
	code, stdout, stderr = trainCmd("-out", dir, "-resume", "-threads", "1")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	// The resumed run's time adds to the time the report it found holds.
	if s, _ := readReport(t, dir)["seconds"].(float64); !(firstSeconds > 0) || s <= firstSeconds {
		t.Errorf("report seconds %g after resuming, %g before: the resumed run's time must add to it", s, firstSeconds)
	}
	if !strings.Contains(stdout, "resuming") {
		t.Errorf("resume output: %s", stdout)
	}
	again := readReport(t, dir)["accuracy"]
	if !equalJSON(again, acc) {
		t.Errorf("resumed accuracies %v, uninterrupted %v", again, acc)
	}
	// A flag that changes the result contradicts -resume.
	if code, _, stderr := trainCmd("-out", dir, "-resume", "-lr", "0.5"); code != 1 || !strings.Contains(stderr, "drop -lr or") {
		t.Errorf("resume with another -lr: exit %d, %s", code, stderr)
	}
	// The error names the flags that differ, not every flag repeated.
	if code, _, stderr := trainCmd(append(args, "-resume", "-seed", "7")...); code != 1 || !strings.Contains(stderr, "drop -seed or") {
		t.Errorf("resume with the run's flags and another -seed: exit %d, %s", code, stderr)
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestDivergence: an absurd learning rate makes the loss NaN; the command
// fails naming phase, epoch and step, and still writes its report.
func TestDivergence(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	code, _, stderr := trainCmd("-limit", "256", "-qat-epochs", "2", "-lr", "1e30", "-out", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	for _, want := range []string{"diverged", "phase qat", "epoch 1", "step", "no checkpoint", "start a new run (another -out) with a lower rate"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	if rep := readReport(t, dir); !strings.Contains(rep["error"].(string), "diverged") {
		t.Errorf("report error %v", rep["error"])
	}
}

// Runs started in the same second without -out get default folders of
// their own.
func TestClaimDefaultFolder(t *testing.T) {
	base := filepath.Join(t.TempDir(), "runs", "lenet5-mnist-20261207-120000")
	for _, want := range []string{base, base + "-2", base + "-3"} {
		got, err := claimDefaultFolder(base)
		if err != nil || got != want {
			t.Fatalf("claimed %q (%v), want %q", got, err, want)
		}
		if st, err := os.Stat(got); err != nil || !st.IsDir() {
			t.Fatalf("%s was not created: %v", got, err)
		}
	}
}
