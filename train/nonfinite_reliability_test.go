package train

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
)

// opState returns the state that the named layer's Linear or Conv2d op
// holds in the graph. A layer hands out only snapshots and refuses
// non-finite settings through its setters; these tests break the state
// behind its back, as a diverging run would, through the op that reads it.
func opState(t *testing.T, tn *Trainer, layer string) *ops.LayerState {
	t.Helper()
	l := tn.Layers().Layer(layer)
	if l == nil {
		t.Fatalf("no layer %s", layer)
	}
	n, _, err := opNode(tn.res.Graph, l)
	if err != nil {
		t.Fatal(err)
	}
	switch op := n.Op().(type) {
	case *ops.LinearOp:
		return op.State
	case *ops.Conv2dOp:
		return op.State
	}
	t.Fatalf("layer %s: op %v holds no layer state", layer, n.Op())
	return nil
}

// TestDivergenceNamesTheLayer injects a NaN or an infinity into one named
// place of an MLP (fc1, BN, fc2, BN, fc3) and checks that the error names
// the first layer, in forward order, where a non-finite value shows.
func TestDivergenceNamesTheLayer(t *testing.T) {
	setWeight := func(name string, v float32, all bool) func(*Trainer) {
		return func(tn *Trainer) {
			for _, p := range tn.params {
				if p.Name() == name {
					w := p.Value().Data().([]float32)
					if all {
						for i := range w {
							w[i] = v
						}
					} else {
						w[3] = v
					}
				}
			}
		}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name   string
		phase  Phase
		inject func(*Trainer)
		layer  string
		value  string
		where  string
	}{
		// fc2's product is the first NaN output; the NaN is in its weight.
		{"NaN weight, float", PhaseFloat, setWeight("fc2", nan, false), "fc2", "NaN", "parameter fc2 (layer fc2)"},
		// The infinity turns into NaN only in batch norm (Inf - Inf); the
		// cause is two layers up.
		{"Inf weight, float", PhaseFloat, setWeight("fc2", inf, false), "fc2", "+Inf", "parameter fc2"},
		// Finite weights whose products overflow float32: the first
		// non-finite value is the output of fc2's product.
		{"overflowing product", PhaseFloat, setWeight("fc2", 1e37, true), "fc2", "Inf", "the output of layer fc2 (ApproxLinear)"},
		{"NaN batch-norm scale", PhaseFloat, setWeight("fc1.bn.scale", nan, false), "fc1.bn", "NaN", "parameter fc1.bn.scale"},
		// In QAT the NaN weight would be quantized to a code and the loss
		// stay finite: the layer refuses it before that.
		{"NaN weight, QAT", PhaseQAT, setWeight("fc3", nan, false), "fc3", "NaN", "the weight of layer fc3 (element 3), which quantized mode would have quantized to a code"},
		{"NaN image, QAT", PhaseQAT, func(tn *Trainer) {
			for i := 0; i < tn.trainData.Len(); i++ {
				tn.trainData.Image(i)[7] = nan
			}
		}, "fc1", "NaN", "the input of layer fc1 (element 7), which quantized mode"},
		{"NaN image, float", PhaseFloat, func(tn *Trainer) {
			for i := 0; i < tn.trainData.Len(); i++ {
				tn.trainData.Image(i)[7] = nan
			}
		}, "input", "NaN", "the input batch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := digitsTrainer(t)
			if err := tn.SetPhase(tc.phase); err != nil {
				t.Fatal(err)
			}
			tc.inject(tn)
			_, err := tn.TrainEpoch()
			var div *DivergedError
			if !errors.As(err, &div) {
				t.Fatalf("got %v, want a DivergedError", err)
			}
			if div.Layer != tc.layer || !strings.Contains(div.Value, tc.value) || !strings.Contains(div.First, tc.where) {
				t.Errorf("layer %q, value %q, first %q; want %q, %q, %q", div.Layer, div.Value, div.First, tc.layer, tc.value, tc.where)
			}
			if div.Phase != tc.phase || div.Epoch != 1 || div.Step != 1 {
				t.Errorf("at %s epoch %d step %d, want %s epoch 1 step 1", div.Phase, div.Epoch, div.Step, tc.phase)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.where) || !strings.Contains(msg, "phase "+string(tc.phase)) {
				t.Errorf("message %q does not say %q and the phase", msg, tc.where)
			}
		})
	}
}

// infObserver returns an activation observer whose running range went to
// -Inf the way a moving average overflows: from 3.4e38 to -3.4e38 in one
// step, the difference overflowing float32.
func infObserver(t *testing.T, like quantize.Observer) quantize.Observer {
	t.Helper()
	schemed, ok := like.(interface{ Scheme() quantize.Scheme })
	if !ok {
		t.Fatalf("the activation observer %T does not say its scheme", like)
	}
	o, err := quantize.NewMovingAverageMinMax(schemed.Scheme(), 1)
	if err != nil {
		t.Fatal(err)
	}
	o.Observe([]float32{3.4e38}, nil)
	o.Observe([]float32{-3.4e38}, nil)
	if lo, _, err := o.Range(); err != nil || !math.IsInf(float64(lo[0]), -1) {
		t.Fatalf("the overflowed observer's range is %v (%v), want -Inf", lo, err)
	}
	o.Freeze()
	return o
}

// TestNonFiniteStateStopsBeforeTheCheckpoint puts a NaN or an infinity
// into one part of the state that the loss does not show (an observer's
// range, a quantization scale, batch-norm statistics, an optimizer moment)
// at the end of the second QAT epoch, and checks that Run stops with a
// *DivergedError naming the place, its layer and the phase, instead of
// failing to encode the checkpoint, and that the checkpoint of the first
// epoch is still there and loads.
func TestNonFiniteStateStopsBeforeTheCheckpoint(t *testing.T) {
	inf := float32(math.Inf(1))
	cases := []struct {
		name   string
		inject func(t *testing.T, tn *Trainer)
		layer  string
		where  string
		value  string
	}{
		{"observer range", func(t *testing.T, tn *Trainer) {
			s := opState(t, tn, "fc2")
			s.XObserver = infObserver(t, s.XObserver)
		}, "fc2", "the activation observer's range of layer fc2", "-Inf"},
		{"quantization scale", func(t *testing.T, tn *Trainer) {
			opState(t, tn, "fc3").WParams.Scale[0] = inf
		}, "fc3", "the weight quantization scale of layer fc3", "+Inf"},
		{"batch-norm variance", func(t *testing.T, tn *Trainer) {
			tn.batchNorms[1].State.Var[2] = float32(math.NaN())
		}, "fc2.bn", "the running variance of batch norm fc2.bn", "NaN"},
		{"second moment", func(t *testing.T, tn *Trainer) {
			st := tn.opt.State()
			st.V["fc1"][5] = inf
			if err := tn.opt.SetState(st); err != nil {
				t.Fatal(err)
			}
		}, "fc1", "the optimizer's second moment of parameter fc1 (layer fc1)", "+Inf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := digitsTrainer(t)
			tn.cfg.QATEpochs, tn.cfg.ApproxEpochs = 2, 0
			tn.cfg.LUT = ""
			tn.hooks.EpochEnd = func(m EpochMetrics) {
				if m.Index == 2 {
					tc.inject(t, tn)
				}
			}
			dir := t.TempDir()
			_, err := tn.Run(dir)
			var div *DivergedError
			if !errors.As(err, &div) {
				t.Fatalf("Run: %v, want a DivergedError", err)
			}
			if div.Layer != tc.layer || div.First != tc.where || div.Value != tc.value || div.Phase != PhaseQAT || div.Epoch != 2 {
				t.Errorf("layer %q, first %q, value %q, phase %s epoch %d; want %q, %q, %q, qat epoch 2",
					div.Layer, div.First, div.Value, div.Phase, div.Epoch, tc.layer, tc.where, tc.value)
			}
			msg := err.Error()
			for _, want := range []string{tc.where, "phase qat", "epoch 2", "try a lower learning rate"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
			ck, err := ReadCheckpoint(filepath.Join(dir, LastCheckpoint))
			if err != nil {
				t.Fatalf("the last good checkpoint does not read: %v", err)
			}
			if p, e := ck.Phase(); p != PhaseQAT || e != 1 {
				t.Fatalf("the last checkpoint is of %s epoch %d, want qat epoch 1", p, e)
			}
			fresh := digitsTrainer(t)
			if err := fresh.Restore(ck); err != nil {
				t.Fatalf("the last good checkpoint does not load: %v", err)
			}
		})
	}
}

// TestNonFiniteStateStopsAtTheStep puts an infinity into a batch-norm
// running variance after the first step of an epoch: the loss stays
// finite (training normalises with the batch's statistics), and the
// second step stops with the batch norm named.
func TestNonFiniteStateStopsAtTheStep(t *testing.T) {
	tn := digitsTrainer(t)
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	tn.hooks.Step = func(_ Phase, _, step int, _, _ float64) {
		if step == 1 {
			tn.batchNorms[0].State.Var[0] = float32(math.Inf(1))
		}
	}
	_, err := tn.TrainEpoch()
	var div *DivergedError
	if !errors.As(err, &div) || div.Layer != "fc1.bn" || div.Step != 2 || div.Value != "+Inf" ||
		!strings.Contains(err.Error(), "the running variance of batch norm fc1.bn") || !strings.Contains(err.Error(), "epoch 1, step 2 of 2") {
		t.Fatalf("got %v, want a DivergedError at step 2 naming fc1.bn's running variance", err)
	}
}

// TestSaveCheckpointRefusesNonFiniteState checks that SaveCheckpoint does
// not replace a good checkpoint with a state it cannot hold.
func TestSaveCheckpointRefusesNonFiniteState(t *testing.T) {
	tn := digitsTrainer(t)
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.TrainEpoch(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.ckpt")
	if err := tn.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := opState(t, tn, "fc1")
	s.XObserver = infObserver(t, s.XObserver)
	err = tn.SaveCheckpoint(path)
	var div *DivergedError
	if !errors.As(err, &div) || div.Layer != "fc1" || !strings.Contains(err.Error(), "the activation observer's range of layer fc1") {
		t.Fatalf("SaveCheckpoint: %v, want a DivergedError naming fc1's observer", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the checkpoint changed (%v)", err)
	}
}
