package train

import (
	"errors"
	"math"
	"strings"
	"testing"
)

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
		// In QAT the NaN weight is clamped to a code and the loss stays
		// finite: the optimizer's check catches it.
		{"NaN weight, QAT", PhaseQAT, setWeight("fc3", nan, false), "fc3", "NaN", "parameter fc3 (layer fc3) after its update"},
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
