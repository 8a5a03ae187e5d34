package train

import (
	"math"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/ops"
)

// gradientRun runs QAT and one approximate epoch of the small model with
// the given multipliers and gradient, and returns the trainer.
func gradientRun(t *testing.T, lutArg string, perLayer []LayerLUT, gradient string) *Trainer {
	t.Helper()
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 0, 1, 1
	cfg.LUT, cfg.LayerLUTs, cfg.Gradient = lutArg, perLayer, gradient
	// Plain SGD: Adam would magnify the rounding differences of
	// near-zero gradients into steps of the learning rate.
	cfg.Optimizer = "sgd"
	tn := newSmall(t, cfg)
	if _, err := tn.Run(""); err != nil {
		t.Fatal(err)
	}
	return tn
}

// TestTableGradientsInTheApproximatePhase: with the exact multiplier, table
// gradients train the weights straight-through gradients train (up to float
// rounding); with a truncating one they train others. The option reaches
// the layers with a multiplier only, and the checkpoint records it.
func TestTableGradientsInTheApproximatePhase(t *testing.T) {
	const exact, trunc = "exact:signed=true", "trunc:t=8,signed=true"
	steW, _, _ := state(t, gradientRun(t, exact, nil, ""))
	tn := gradientRun(t, exact, nil, "table:window=4")
	tableW, _, _ := state(t, tn)
	for name, w := range steW {
		for i := range w {
			if d := math.Abs(float64(w[i] - tableW[name][i])); d > 1e-4*(1+math.Abs(float64(w[i]))) {
				t.Fatalf("exact table: %s[%d] = %g with table gradients, %g straight through", name, i, tableW[name][i], w[i])
			}
		}
	}
	want := ops.Gradient{Kind: ops.TableGradient, Window: 4}
	for _, l := range tn.layers.Layers() {
		if l.Gradient() != want {
			t.Errorf("layer %s has gradient %v, want %v", l.Name(), l.Gradient(), want)
		}
	}
	ck, err := tn.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if ck.Config.Gradient != "table:window=4" {
		t.Errorf("checkpoint config gradient %q", ck.Config.Gradient)
	}

	steW, _, _ = state(t, gradientRun(t, trunc, nil, ""))
	tableW, _, _ = state(t, gradientRun(t, trunc, nil, "table:window=4"))
	differ := false
	for name, w := range steW {
		for i := range w {
			differ = differ || w[i] != tableW[name][i]
		}
	}
	if !differ {
		t.Error("a truncating multiplier trains the same weights with table and straight-through gradients")
	}

	// A layer left without a multiplier stays Quantized and straight
	// through, and the run goes on.
	tn = gradientRun(t, "", []LayerLUT{{Layer: "fc1", LUT: trunc}}, "table")
	for _, l := range tn.layers.Layers() {
		want := ops.Gradient{}
		if l.Name() == "fc1" {
			want = ops.Gradient{Kind: ops.TableGradient, Window: ops.DefaultGradientWindow}
		}
		if l.Gradient() != want {
			t.Errorf("per-layer multiplier: layer %s (%v) has gradient %v, want %v", l.Name(), l.Mode(), l.Gradient(), want)
		}
	}
	// Back in QAT, every layer is straight through again.
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	for _, l := range tn.layers.Layers() {
		if l.Gradient() != (ops.Gradient{}) {
			t.Errorf("QAT after the approximate phase: layer %s has gradient %v", l.Name(), l.Gradient())
		}
	}
}

func TestGradientConfigErrors(t *testing.T) {
	for in, want := range map[string]string{
		"table:window=200": "200",
		"table:window=-2":  "-2",
		"smooth":           "unknown gradient",
	} {
		c := DefaultConfig()
		c.Gradient = in
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Gradient %q: error %v, want one containing %q", in, err, want)
		}
	}
}

// TestTableGradientRunResumes stops a run with table gradients inside its
// approximate phase and resumes it from the checkpoint in a new trainer:
// weights must equal the uninterrupted run's bit for bit.
func TestTableGradientRunResumes(t *testing.T) {
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 0, 1, 2
	cfg.Gradient = "table:window=8"
	whole := newSmall(t, cfg)
	if _, err := whole.Run(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	wantW, wantE, wantV := state(t, whole)
	second, _, ck := resumedAfter(t, cfg, 2) // QAT and the first approximate epoch
	if ck.Config.Gradient != cfg.Gradient {
		t.Fatalf("checkpoint gradient %q", ck.Config.Gradient)
	}
	sameState(t, "resumed", second, wantW, wantE, wantV)
}
