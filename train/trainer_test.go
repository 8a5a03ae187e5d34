package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/dataset"
)

// smallData is the first 512 MNIST training images and 700 test images,
// normalised: enough for an MLP to learn something in a few epochs.
func smallData(t *testing.T) (*dataset.Dataset, *dataset.Dataset) {
	t.Helper()
	train, err := dataset.Load("mnist", dataset.Train, dataset.Options{})
	if errors.Is(err, dataset.ErrNotFound) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	test, err := dataset.Load("mnist", dataset.Test, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	train, err = train.Subset(seq(512), "mnist/train")
	if err != nil {
		t.Fatal(err)
	}
	test, err = test.Subset(seq(700), "mnist/test")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*dataset.Dataset{train, test} {
		if err := d.NormalizeDefault(); err != nil {
			t.Fatal(err)
		}
	}
	return train, test
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func smallConfig() Config {
	c := DefaultConfig()
	c.Model, c.Batch, c.QATEpochs = "mlp", 64, 2
	c.FloatEpochs, c.ApproxEpochs = 1, 2
	c.LUT = "trunc:t=8,signed=true"
	c.Schedule = "cosine"
	c.Threads = 2
	return c
}

func newSmall(t *testing.T, cfg Config, opts ...Option) *Trainer {
	t.Helper()
	tr, te := smallData(t)
	tn, err := New(cfg, append([]Option{WithData(tr, te)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	return tn
}

// state is everything a run's result consists of, timings left out.
func state(t *testing.T, tn *Trainer) (weights map[string][]float32, epochs []EpochMetrics, evals []Evaluation) {
	t.Helper()
	weights = map[string][]float32{}
	for _, p := range tn.params {
		weights[p.Name()] = append([]float32(nil), p.Value().Data().([]float32)...)
	}
	for _, bn := range tn.batchNorms {
		weights[bn.Name+".mean"] = append([]float32(nil), bn.State.Mean...)
		weights[bn.Name+".var"] = append([]float32(nil), bn.State.Var...)
	}
	for _, e := range tn.Epochs() {
		e.Seconds, e.EvalSeconds = 0, 0
		epochs = append(epochs, e)
	}
	for _, e := range tn.Evaluations() {
		e.Seconds = 0
		evals = append(evals, e)
	}
	return weights, epochs, evals
}

// TestResumeGivesTheSameResult stops a run after each epoch in turn
// (inside the float, QAT and approximate phases and at their boundaries),
// resumes it in a new trainer from the checkpoint, and compares the final
// weights, batch-norm statistics, metrics and evaluations with an
// uninterrupted run's, bit for bit.
func TestResumeGivesTheSameResult(t *testing.T) {
	cfg := smallConfig()
	whole := newSmall(t, cfg)
	if _, err := whole.Run(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	wantW, wantE, wantV := state(t, whole)
	if len(wantE) != 5 || len(wantV) != 1 {
		t.Fatalf("uninterrupted run: %d epochs and %d evaluations, want 5 and 1", len(wantE), len(wantV))
	}
	for stopAfter := 1; stopAfter <= 4; stopAfter++ {
		second, _, _ := resumedAfter(t, cfg, stopAfter)
		sameState(t, fmt.Sprintf("stop after %d", stopAfter), second, wantW, wantE, wantV)
	}
}

// resumedAfter runs cfg until epoch stopAfter (of the run) ends, then
// finishes the run in a new trainer restored from the last checkpoint. It
// returns that trainer, its result and the checkpoint it started from.
func resumedAfter(t *testing.T, cfg Config, stopAfter int) (*Trainer, *Result, *Checkpoint) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := newSmall(t, cfg, WithHooks(Hooks{EpochEnd: func(m EpochMetrics) {
		if m.Index == stopAfter {
			cancel()
		}
	}}))
	if _, err := first.RunContext(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("stop after %d: run returned %v, want context.Canceled", stopAfter, err)
	}
	ck, err := ReadCheckpoint(filepath.Join(dir, LastCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Progress.Index != stopAfter {
		t.Fatalf("checkpoint after epoch %d says %d epochs done", stopAfter, ck.Progress.Index)
	}
	second := newSmall(t, cfg)
	if err := second.Restore(ck); err != nil {
		t.Fatal(err)
	}
	res, err := second.Run(dir)
	if err != nil {
		t.Fatal(err)
	}
	return second, res, ck
}

// sameState checks that tn ended as the uninterrupted run whose state
// (see state) is given, bit for bit.
func sameState(t *testing.T, label string, tn *Trainer, wantW map[string][]float32, wantE []EpochMetrics, wantV []Evaluation) {
	t.Helper()
	gotW, gotE, gotV := state(t, tn)
	if !reflect.DeepEqual(gotE, wantE) {
		t.Errorf("%s: epochs differ\n got %+v\nwant %+v", label, gotE, wantE)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("%s: evaluations differ\n got %+v\nwant %+v", label, gotV, wantV)
	}
	for name, w := range wantW {
		if !reflect.DeepEqual(gotW[name], w) {
			t.Errorf("%s: %s differs from the uninterrupted run", label, name)
		}
	}
}

// TestLossFallsAndApproxDrops checks that training learns and that the
// multiplier matters: QAT accuracy well above chance, a visible drop with a
// crude multiplier, and fine-tuning recovering part of it.
func TestLossFallsAndApproxDrops(t *testing.T) {
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 0, 4, 2
	cfg.LR = 5e-3
	cfg.LUT = "trunc:t=10,signed=true"
	tn := newSmall(t, cfg)
	res, err := tn.Run("")
	if err != nil {
		t.Fatal(err)
	}
	e := res.Epochs
	if !(e[len(e)-1].TrainLoss < e[0].TrainLoss) {
		t.Errorf("training loss did not fall: %+v", e)
	}
	a := res.Accuracy
	t.Logf("QAT %.4f, approximate before %.4f, after %.4f", *a.QAT, *a.ApproxBefore, *a.ApproxAfter)
	if *a.QAT < 0.8 {
		t.Errorf("QAT accuracy %.4f, want at least 0.8 after 4 epochs of 512 samples", *a.QAT)
	}
	if *a.ApproxBefore > *a.QAT-0.05 {
		t.Errorf("trunc:t=10 should cost accuracy: QAT %.4f, approximate %.4f", *a.QAT, *a.ApproxBefore)
	}
	if *a.ApproxAfter <= *a.ApproxBefore {
		t.Errorf("fine-tuning did not help: %.4f -> %.4f", *a.ApproxBefore, *a.ApproxAfter)
	}
}

// TestExactTableMatchesQuantized: the approximate phase with the exact
// multiplier computes what Quantized mode computes, so its evaluation
// equals the QAT evaluation: the same count, and the loss up to float
// rounding (Quantized multiplies the fake-quantized floats, Approximate sums
// integer products exactly and rescales once).
func TestExactTableMatchesQuantized(t *testing.T) {
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 0, 1, 0
	cfg.LUT = "exact:signed=true"
	tn := newSmall(t, cfg)
	res, err := tn.Run("")
	if err != nil {
		t.Fatal(err)
	}
	qat := res.Epochs[0]
	before := res.Evaluations[0]
	if before.Label != "approx_before" || before.Accuracy != qat.TestAccuracy || math.Abs(before.Loss-qat.TestLoss) > 1e-4*qat.TestLoss {
		t.Fatalf("exact table: %+v, QAT: accuracy %v loss %v", before, qat.TestAccuracy, qat.TestLoss)
	}
}

// TestEvaluatePadsTheLastBatch evaluates 700 test images with batches of 64
// (the last one padded) and of 100 (no padding): the same untrained model
// (the seed decides the weights, not the batch size) must give the same
// count and nearly the same loss.
func TestEvaluatePadsTheLastBatch(t *testing.T) {
	var results []Evaluation
	for _, batch := range []int{64, 100} {
		cfg := smallConfig()
		cfg.Batch = batch
		ev, err := newSmall(t, cfg).Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Samples != 700 {
			t.Fatalf("batch %d: evaluated %d samples, want 700", batch, ev.Samples)
		}
		results = append(results, ev)
	}
	if results[0].Correct != results[1].Correct || math.Abs(results[0].Loss-results[1].Loss) > 1e-5 {
		t.Fatalf("batch 64: %+v; batch 100: %+v", results[0], results[1])
	}
}

// TestDivergenceStops injects a NaN into one training image after the
// first epoch: the second epoch must stop at the step whose batch holds it,
// naming phase, epoch and step, and the checkpoint of epoch 1 must stay.
// It trains in float: quantization maps a NaN input to a code, so a NaN
// image would not reach the loss in QAT.
func TestDivergenceStops(t *testing.T) {
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 3, 0, 0
	cfg.LUT = ""
	trainSet, testSet := smallData(t)
	const poisoned = 300
	// The step of epoch 2 (run index 1) whose batch holds the sample.
	it, err := dataset.NewIterator(trainSet, cfg.Batch, dataset.IterOptions{Shuffle: true, Seed: cfg.Seed, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	wantStep := 0
	it.Start(1)
	for step := 1; it.Next() && wantStep == 0; step++ {
		for _, i := range it.Batch().Indices {
			if i == poisoned {
				wantStep = step
			}
		}
	}
	if wantStep == 0 {
		t.Fatal("sample not in any batch")
	}
	tn, err := New(cfg, WithData(trainSet, testSet), WithHooks(Hooks{EpochEnd: func(m EpochMetrics) {
		if m.Index == 1 {
			trainSet.Image(poisoned)[5] = float32(math.NaN())
		}
	}}))
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	dir := t.TempDir()
	_, err = tn.Run(dir)
	var div *DivergedError
	if !errors.As(err, &div) {
		t.Fatalf("run returned %v, want a DivergedError", err)
	}
	if div.Phase != PhaseFloat || div.Epoch != 2 || div.Step != wantStep {
		t.Fatalf("diverged at %s epoch %d step %d, want float epoch 2 step %d", div.Phase, div.Epoch, div.Step, wantStep)
	}
	for _, want := range []string{"phase float", "epoch 2", "step"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	ck, err := ReadCheckpoint(filepath.Join(dir, LastCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if p, e := ck.Phase(); p != PhaseFloat || e != 1 {
		t.Fatalf("last checkpoint is %s epoch %d, want float epoch 1", p, e)
	}
}

func TestCheckpointCorruptionIsAnError(t *testing.T) {
	cfg := smallConfig()
	tn := newSmall(t, cfg)
	var buf bytes.Buffer
	c, err := tn.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if _, err := DecodeCheckpoint(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), data...)
	bad[len(bad)/2] ^= 1
	if _, err := DecodeCheckpoint(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("flipped bit: error %v, want a digest mismatch", err)
	}
	if _, err := DecodeCheckpoint(bytes.NewReader(data[:len(data)-100])); err == nil {
		t.Fatal("truncated checkpoint accepted")
	}
	other := smallConfig()
	other.Seed = 99
	if err := newSmall(t, other).Restore(c); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Fatalf("restoring into another seed: %v", err)
	}
	path := filepath.Join(t.TempDir(), "x.ckpt")
	if err := tn.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("saving left %d files, want only the checkpoint", len(entries))
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Model = "resnet110" }, "alexnet, lenet5, mlp, mobilenetv2, mobilenetv2-small, resnet14, resnet20, resnet32, resnet44, resnet56, resnet8, resnet8-1x1, vgg, vgg11, vgg16"},
		{func(c *Config) { c.Dataset = "svhn" }, "cifar10, cifar100, cifar100-coarse, digits, fashion-mnist, mnist"},
		{func(c *Config) { c.Dataset = "digits" }, "cannot take digits images"},
		{func(c *Config) { c.Quant = "int4" }, "signed"},
		{func(c *Config) { c.Optimizer = "rmsprop" }, "adam, sgd"},
		{func(c *Config) { c.Schedule = "step" }, "constant, cosine"},
		{func(c *Config) { c.LR = math.NaN() }, "learning rate"},
		{func(c *Config) { c.Batch = 0 }, "batch size"},
		{func(c *Config) { c.Limit = 10 }, "smaller than one batch"},
		{func(c *Config) { c.ApproxEpochs = 2 }, "no multiplier"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v does not contain %q", err, tc.want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseLayerLUT("conv1"); err == nil {
		t.Error("layer LUT without = accepted")
	}
	if l, err := ParseLayerLUT("conv*=drum:k=3,signed=true"); err != nil || l.Layer != "conv*" || l.LUT != "drum:k=3,signed=true" {
		t.Errorf("ParseLayerLUT: %+v %v", l, err)
	}
}

func TestMultiplierErrors(t *testing.T) {
	cfg := smallConfig()
	tn := newSmall(t, cfg)
	if err := tn.SetMultipliers("wallace", nil); err == nil || !strings.Contains(err.Error(), "built-ins") {
		t.Errorf("unknown design: %v", err)
	}
	if err := tn.SetMultipliers("trunc:t=4", nil); err == nil || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("unsigned table with signed weights: %v", err)
	}
	if err := tn.SetMultipliers("", []LayerLUT{{Layer: "conv9", LUT: "mitchell:signed=true"}}); err == nil || !strings.Contains(err.Error(), "fc1") {
		t.Errorf("unknown layer: %v does not list the layers", err)
	}
	if err := tn.SetMultipliers("no/such/file.bin", nil); err == nil {
		t.Error("missing file accepted")
	}
	// Per-layer override: fc2 approximate with its own table, others with -lut.
	if err := tn.SetMultipliers("exact:signed=true", []LayerLUT{{Layer: "fc2", LUT: "mitchell:signed=true"}}); err != nil {
		t.Fatal(err)
	}
	if err := tn.SetPhase(PhaseApprox); err != nil {
		t.Fatal(err)
	}
	for _, l := range tn.Layers().Layers() {
		want := "exact:signed=true"
		if l.Name() == "fc2" {
			want = "mitchell:signed=true"
		}
		if l.Table() == nil || l.Table().Name() != want {
			t.Errorf("layer %s has table %v, want %s", l.Name(), l.Table(), want)
		}
	}
}
