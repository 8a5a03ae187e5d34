package train

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/errmodel"
	"github.com/goapprox/goapprox/ops"
)

func ptrTo(v float64) *float64 { return &v }

func TestNoiseConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"negative epochs", func(c *Config) { c.NoiseEpochs = -1; c.LUT = "mitchell" }, "noise -1"},
		{"negative sigma", func(c *Config) { c.NoiseEpochs, c.NoiseSigma = 1, ptrTo(-0.1) }, "noise sigma -0.1 must be a finite number >= 0"},
		{"NaN sigma", func(c *Config) { c.NoiseEpochs, c.NoiseSigma = 1, ptrTo(math.NaN()) }, "noise sigma NaN"},
		{"infinite mu", func(c *Config) { c.NoiseEpochs, c.NoiseSigma, c.NoiseMu = 1, ptrTo(0.1), ptrTo(math.Inf(1)) }, "noise mu +Inf"},
		{"nothing to take the noise from", func(c *Config) { c.NoiseEpochs = 1 }, "give the multiplier it stands in for (-lut, -layer-lut)"},
		{"mu alone without a multiplier", func(c *Config) { c.NoiseEpochs, c.NoiseMu = 1, ptrTo(0.0) }, "or give -noise-sigma"},
		{"sigma without epochs", func(c *Config) { c.NoiseSigma = ptrTo(0.1) }, "without noise epochs"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v does not contain %q", tc.name, err, tc.want)
		}
	}
	for _, edit := range []func(*Config){
		func(c *Config) { c.NoiseEpochs, c.LUT = 1, "mitchell" },
		func(c *Config) { c.NoiseEpochs, c.NoiseSigma = 1, ptrTo(0.2) },
		func(c *Config) { c.NoiseEpochs, c.NoiseSigma, c.NoiseMu = 1, ptrTo(0), ptrTo(-0.5) },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%+v refused: %v", c, err)
		}
	}
}

// noiseConfig is smallConfig with a noise epoch between QAT and
// approximate fine-tuning, and a multiplier with a large error so that the
// noise is far from zero.
func noiseConfig() Config {
	c := smallConfig()
	c.FloatEpochs, c.QATEpochs, c.NoiseEpochs, c.ApproxEpochs = 0, 1, 2, 1
	c.LUT = "trunc:t=9,signed=true"
	return c
}

// TestNoisePhase runs QAT, two noise epochs and an approximate epoch: the
// epochs are labelled, the layers are in Noise mode with the predicted
// parameters during the phase, the noise changes training (not evaluation),
// and the result reports the noise.
func TestNoisePhase(t *testing.T) {
	cfg := noiseConfig()
	var modes []ops.Mode
	var tn *Trainer
	tn = newSmall(t, cfg, WithHooks(Hooks{EpochStart: func(p Phase, epoch, steps int) {
		modes = append(modes, tn.Layers().Layers()[0].Mode())
	}}))
	res, err := tn.Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var phases []Phase
	for _, e := range res.Epochs {
		phases = append(phases, e.Phase)
	}
	if want := []Phase{PhaseQAT, PhaseNoise, PhaseNoise, PhaseApprox}; !reflect.DeepEqual(phases, want) {
		t.Fatalf("epochs in phases %v, want %v", phases, want)
	}
	if want := []ops.Mode{ops.Quantized, ops.Noise, ops.Noise, ops.Approximate}; !reflect.DeepEqual(modes, want) {
		t.Errorf("first layer's modes at the epochs' starts %v, want %v", modes, want)
	}
	if len(res.Noise) != tn.Layers().Len() {
		t.Fatalf("noise for %d layers, want all %d", len(res.Noise), tn.Layers().Len())
	}
	for i, n := range res.Noise {
		l := tn.Layers().Layers()[i]
		if n.Layer != l.Name() || n.Table != "trunc:t=9,signed=true" || n.SigmaFrom != "errmodel" || n.MuFrom != "errmodel" {
			t.Errorf("noise record %+v", n)
		}
		if !(n.Sigma > 0.01) || n.Sigma != n.PredictedStd/n.OutputStd || n.Mu != n.PredictedMean {
			t.Errorf("layer %s: sigma %g mu %g from std %g / %g, mean %g", n.Layer, n.Sigma, n.Mu, n.PredictedStd, n.OutputStd, n.PredictedMean)
		}
		if s := l.State(); s.NoiseSigma != n.Sigma || s.NoiseMu != n.Mu {
			t.Errorf("layer %s has sigma %g mu %g, the report %g %g", n.Layer, s.NoiseSigma, s.NoiseMu, n.Sigma, n.Mu)
		}
	}
	if res.Accuracy.Noise == nil || *res.Accuracy.Noise != res.Epochs[2].TestAccuracy {
		t.Errorf("noise accuracy %v, want the last noise epoch's %g", res.Accuracy.Noise, res.Epochs[2].TestAccuracy)
	}
	if res.Accuracy.ApproxBefore == nil || res.Accuracy.ApproxAfter == nil {
		t.Errorf("approximate accuracies missing: %+v", res.Accuracy)
	}
}

// TestNoiseChangesTrainingOnly compares a noise epoch with sigma = mu = 0
// against one with noise: evaluation in Noise mode is Quantized, so after
// the same zero-noise epoch the accuracy equals a Quantized epoch's, and
// noise changes the trained weights.
func TestNoiseChangesTrainingOnly(t *testing.T) {
	run := func(sigma, mu float64) map[string][]float32 {
		cfg := noiseConfig()
		cfg.NoiseEpochs, cfg.ApproxEpochs, cfg.LUT = 1, 0, ""
		cfg.NoiseSigma, cfg.NoiseMu = ptrTo(sigma), ptrTo(mu)
		tn := newSmall(t, cfg)
		if _, err := tn.Run(""); err != nil {
			t.Fatal(err)
		}
		w, _, _ := state(t, tn)
		return w
	}
	quiet, noisy := run(0, 0), run(0.5, 0.1)
	// Zero noise must train exactly as QAT with frozen observers does.
	cfg := noiseConfig()
	cfg.NoiseEpochs, cfg.ApproxEpochs, cfg.LUT = 0, 0, ""
	tn := newSmall(t, cfg)
	if _, err := tn.Run(""); err != nil {
		t.Fatal(err)
	}
	if err := tn.SetPhase(PhaseNoise); err != nil { // observers frozen, a fresh optimizer
		t.Fatal(err)
	}
	if err := tn.Layers().SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.TrainEpoch(); err != nil {
		t.Fatal(err)
	}
	ref, _, _ := state(t, tn)
	if !reflect.DeepEqual(quiet, ref) {
		t.Error("a noise epoch with sigma = mu = 0 trains differently from a Quantized epoch with frozen observers")
	}
	if reflect.DeepEqual(quiet, noisy) {
		t.Error("noise sigma 0.5, mu 0.1 left the training unchanged")
	}
}

// TestResumeAcrossNoise stops the run after each epoch (QAT, both noise
// epochs, approximate) and resumes it from the checkpoint; the result must
// be bit-identical to the uninterrupted run's, so the noise drawn after a
// resume is the noise the uninterrupted run drew.
func TestResumeAcrossNoise(t *testing.T) {
	cfg := noiseConfig()
	whole := newSmall(t, cfg)
	if _, err := whole.Run(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	wantW, wantE, wantV := state(t, whole)
	for stopAfter := 1; stopAfter <= 3; stopAfter++ {
		second, res, _ := resumedAfter(t, cfg, stopAfter)
		sameState(t, fmt.Sprintf("stop after %d", stopAfter), second, wantW, wantE, wantV)
		if !reflect.DeepEqual(res.Noise, whole.Noise()) {
			t.Errorf("stop after %d: noise %+v, uninterrupted %+v", stopAfter, res.Noise, whole.Noise())
		}
	}
}

// TestPredictedNoiseIsErrmodels recomputes the first layer's prediction
// outside the trainer: the MLP's fc1 multiplies the flattened images, so
// its activation codes, receptive fields, weight codes per channel and
// Quantized output (exact integer sums, rescaled) follow from the batches
// and the quantization parameters alone.
func TestPredictedNoiseIsErrmodels(t *testing.T) {
	cfg := noiseConfig()
	cfg.QATEpochs, cfg.NoiseEpochs, cfg.ApproxEpochs = 1, 1, 0
	tn := newSmall(t, cfg)
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.TrainEpoch(); err != nil {
		t.Fatal(err)
	}
	if err := tn.SetPhase(PhaseNoise); err != nil {
		t.Fatal(err)
	}
	got := tn.Noise()[0]
	l := tn.Layers().Layers()[0]
	if l.Name() != "fc1" || got.Layer != "fc1" {
		t.Fatalf("first layer %s, noise of %s; want fc1", l.Name(), got.Layer)
	}
	s := l.State()
	w := l.Weight().Value().Data().([]float32)
	wShape := []int(l.Weight().Shape())
	// wAt is the index of weight (o, k): (out, in) or (in, out) storage.
	out, in, axis := wShape[0], wShape[1], 0
	wAt := func(o, k int) int { return o*in + k }
	if l.WeightLayout() == ops.InOut {
		out, in, axis = wShape[1], wShape[0], 1
		wAt = func(o, k int) int { return k*out + o }
	}
	wCodes := make([]int32, len(w))
	s.WParams.Codes(wCodes, w, wShape)
	channels, err := errmodel.ChannelHists(wCodes, wShape, axis)
	if err != nil {
		t.Fatal(err)
	}

	it, err := dataset.NewIterator(tn.trainData, cfg.Batch, dataset.IterOptions{Shuffle: true, Seed: cfg.Seed, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	it.Start(cfg.QATEpochs) // the noise phase's first epoch
	var fields []errmodel.Field
	var stdSum float64
	batches := 0
	for ; batches < 8 && it.Next(); batches++ {
		b := it.Batch()
		xCodes := make([]int32, len(b.Images))
		s.XParams.Codes(xCodes, b.Images, []int{b.Size, in})
		f, err := errmodel.LinearFields(xCodes, b.Size, in, 64, int64(cfg.Seed)+int64(batches))
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, f...)
		// The Quantized output, from the codes in exact integer arithmetic.
		y := make([]float32, b.Size*out)
		zx := int64(s.XParams.ZeroPoint[0])
		for r := 0; r < b.Size; r++ {
			for o := 0; o < out; o++ {
				zw, sw := int64(s.WParams.ZeroPoint[0]), float64(s.WParams.Scale[0])
				if len(s.WParams.Scale) > 1 {
					zw, sw = int64(s.WParams.ZeroPoint[o]), float64(s.WParams.Scale[o])
				}
				var acc int64
				for k := 0; k < in; k++ {
					acc += (int64(xCodes[r*in+k]) - zx) * (int64(wCodes[wAt(o, k)]) - zw)
				}
				y[r*out+o] = float32(float64(acc) * float64(s.XParams.Scale[0]) * sw)
			}
		}
		stdSum += errmodel.Std(y)
	}
	pred, err := errmodel.Predict(errmodel.Layer{Table: l.Table(), FanIn: in, Channels: out,
		XParams: s.XParams, WParams: s.WParams, WChannels: channels, Fields: fields}, errmodel.PopulationChannels)
	if err != nil {
		t.Fatal(err)
	}
	outStd := stdSum / float64(batches)
	if got.Mu != pred.Output.Mean || got.PredictedStd != pred.Output.Std {
		t.Errorf("predicted mean %g std %g, errmodel %g %g", got.Mu, got.PredictedStd, pred.Output.Mean, pred.Output.Std)
	}
	// The op's float32 output differs from the exact one by rounding only.
	if math.Abs(got.OutputStd/outStd-1) > 1e-5 {
		t.Errorf("output std %g, recomputed %g", got.OutputStd, outStd)
	}
	if want := pred.Output.Std / outStd; math.Abs(got.Sigma/want-1) > 1e-5 {
		t.Errorf("sigma %g, want %g", got.Sigma, want)
	}
	if !(got.Sigma > 0) {
		t.Errorf("sigma %g for trunc:t=9", got.Sigma)
	}
}
