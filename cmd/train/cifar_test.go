package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/dataset"
)

// writeSyntheticCIFAR10 writes a small CIFAR-10 set in the official binary
// layout under root/cifar-10-batches-bin: perLabel images of each class in
// each of the five training batches and in the test batch. Each class has
// its own colour, so a network can learn it in a few steps.
func writeSyntheticCIFAR10(t *testing.T, root string, perLabel int) {
	t.Helper()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(name string) {
		var labels, pixels []uint8
		for label := range 10 {
			for range perLabel {
				labels = append(labels, uint8(label))
				for c := range 3 {
					base := uint8(25 * ((label + 3*c) % 10))
					for range 32 * 32 {
						pixels = append(pixels, base+uint8(rng.IntN(20)))
					}
				}
			}
		}
		var buf bytes.Buffer
		if err := dataset.WriteCIFAR10(&buf, labels, pixels); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		write("data_batch_" + string(rune('0'+i)) + ".bin")
	}
	write("test_batch.bin")
}

// TestCIFARRun trains the CIFAR ResNet-8 on a synthetic CIFAR-10 set in the
// official layout, with the default augmentation (random crop and flip) and
// SGD with a multistep schedule, through QAT and one approximate epoch.
func TestCIFARRun(t *testing.T) {
	root := t.TempDir()
	writeSyntheticCIFAR10(t, root, 2)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := trainCmd("-model", "resnet8", "-dataset", "cifar10", "-data", root, "-batch", "16",
		"-limit", "0", "-qat-epochs", "1", "-approx-epochs", "1", "-lut", "mitchell:signed=true",
		"-optimizer", "sgd", "-lr", "0.05", "-weight-decay", "1e-4", "-schedule", "multistep", "-milestones", "1",
		"-threads", "2", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	rep := readReport(t, out)
	if rep["model"] != "resnet8" || rep["dataset"] != "cifar10" {
		t.Fatalf("report names %v on %v", rep["model"], rep["dataset"])
	}
	if cfg, _ := rep["config"].(map[string]any); cfg["augment"] != "crop=4+flip" {
		t.Errorf("report config says augmentation %v, want CIFAR's default crop=4+flip", cfg["augment"])
	}
	if n, _ := rep["test_samples"].(float64); n != 20 {
		t.Errorf("evaluated on %v test samples, want the 20 of test_batch.bin", n)
	}
	if n, _ := rep["train_samples"].(float64); n != 100 {
		t.Errorf("trained on %v samples, want the 100 of the five batches", n)
	}
	acc, _ := rep["accuracy"].(map[string]any)
	for _, k := range []string{"qat", "approx_before", "approx_after"} {
		if v, ok := acc[k].(float64); !ok || v < 0 || v > 1 {
			t.Errorf("accuracy.%s = %v, want a fraction", k, acc[k])
		}
	}
	for _, f := range []string{"metrics.csv", "checkpoints/qat.ckpt", "checkpoints/approx.ckpt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("run folder lacks %s: %v", f, err)
		}
	}
}

// TestCIFARMissing says where the files go when the set is not there, and
// leaves no empty run folder behind.
func TestCIFARMissing(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "runs")
	code, _, stderr := trainCmd("-model", "resnet8", "-dataset", "cifar10", "-data", t.TempDir(), "-out", filepath.Join(parent, "run"))
	if code == 0 || !bytes.Contains([]byte(stderr), []byte("cifar-10-batches-bin")) {
		t.Fatalf("exit %d, stderr %q: want an error naming the folder the files go in", code, stderr)
	}
	if _, err := os.Stat(parent); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed run left %s behind (%v)", parent, err)
	}
}

// TestCIFAR100RunReportsTop5 trains on a synthetic CIFAR-100 set (fine
// labels, 100 classes) and checks that the report and the summary carry
// top-5 accuracy beside top-1, and that top-5 is at least top-1.
func TestCIFAR100RunReportsTop5(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-100-binary")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, perClass int) {
		var coarse, fine, pixels []uint8
		for c := range 100 {
			for range perClass {
				coarse, fine = append(coarse, uint8(c/5)), append(fine, uint8(c))
				for i := range 3 * 32 * 32 {
					pixels = append(pixels, uint8((c*37+i)%256))
				}
			}
		}
		var buf bytes.Buffer
		if err := dataset.WriteCIFAR100(&buf, coarse, fine, pixels); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train.bin", 1)
	write("test.bin", 1)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := trainCmd("-model", "resnet8", "-dataset", "cifar100", "-data", root, "-batch", "20",
		"-limit", "0", "-qat-epochs", "1", "-lut", "none", "-threads", "2", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "top-5") {
		t.Errorf("summary lacks top-5 accuracy:\n%s", stdout)
	}
	rep := readReport(t, out)
	acc, _ := rep["accuracy"].(map[string]any)
	top5, _ := acc["top5"].(map[string]any)
	q1, ok1 := acc["qat"].(float64)
	q5, ok5 := top5["qat"].(float64)
	if !ok1 || !ok5 || q5 < q1 || q5 > 1 {
		t.Fatalf("accuracy %v: want qat top-1 and a top-5 at least as high", acc)
	}
	// The epoch line and metrics.csv carry the epoch's top-5 too.
	if want := fmt.Sprintf("top-5 %.2f%%", 100*q5); !strings.Contains(stdout, "acc "+fmt.Sprintf("%.2f%%", 100*q1)+" "+want) {
		t.Errorf("the epoch line lacks %q:\n%s", want, stdout)
	}
	rows := readCSV(t, filepath.Join(out, "metrics.csv"))
	if h := rows[0]; h[len(h)-1] != "test_top5" || len(rows) != 2 {
		t.Fatalf("metrics.csv %v: want one epoch row and a test_top5 column", rows)
	}
	if got, err := strconv.ParseFloat(rows[1][len(rows[1])-1], 64); err != nil || math.Abs(got-q5) > 1e-6 {
		t.Errorf("metrics.csv test_top5 %v, want %g", rows[1][len(rows[1])-1], q5)
	}
}

// readCSV reads a whole CSV file.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestCtrlCBeforeTheFirstCheckpoint interrupts a training process in its
// first epoch: it says nothing was saved and leaves no run folder.
func TestCtrlCBeforeTheFirstCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	root := t.TempDir()
	writeSyntheticCIFAR10(t, root, 40) // 2,000 training images: an epoch of seconds
	bin := buildTrain(t)
	out := filepath.Join(t.TempDir(), "runs", "r")
	cmd := exec.Command(bin, "-model", "resnet8", "-dataset", "cifar10", "-data", root, "-qat-epochs", "2", "-lut", "none",
		"-threads", "2", "-quiet", "-out", out)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "run folder:") { // the header's last line: training starts
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	if _, statErr := os.Stat(filepath.Join(out, "checkpoints", "last.ckpt")); statErr == nil {
		t.Skip("the first epoch ended before the interrupt: nothing to check")
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || !strings.Contains(stderr.String(), "interrupted in the first epoch, before any checkpoint: nothing was saved") {
		t.Fatalf("exit %v, stderr %q", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Dir(out)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the interrupted run left %s behind (%v)", filepath.Dir(out), err)
	}
}
