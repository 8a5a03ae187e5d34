package sweep

import (
	"fmt"
	"math"

	"github.com/goapprox/goapprox/errmodel"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/train"
)

// LayerFacts describes an approximate layer of the model and what the
// error model predicts for it with one multiplier.
type LayerFacts struct {
	Layer string `json:"layer"`
	Kind  string `json:"kind"`
	// Muls is the layer's multiplications per sample, Share its fraction of
	// the model's.
	Muls  int     `json:"muls_per_sample"`
	Share float64 `json:"mul_share"`
	FanIn int     `json:"fan_in"`
}

// LayerSensitivity is the effect of one multiplier in one layer, all other
// layers computing exact products.
type LayerSensitivity struct {
	LayerFacts
	Accuracy float64 `json:"accuracy"`
	// Drop is the exact model's accuracy minus Accuracy (fractions).
	Drop float64 `json:"drop"`
	// PredictedMean and PredictedStd are the error model's (errmodel,
	// Global model: the AGN paper's) moments of the layer's output error in
	// output units; OutputStd is the std of the layer's exact (Quantized)
	// output, and PredictedSigma = PredictedStd/OutputStd is the noise the
	// multiplier adds relative to the signal: the sigma Noise mode would be
	// trained with. It is the prediction to set against the measured Drop.
	//
	// PredictedMeanRel = PredictedMean/OutputStd is the shift of the
	// layer's outputs in units of their spread. With batch norm on frozen
	// statistics after the layer nothing removes such a shift, and on
	// LeNet-5 it, not the noise, tracks the measured drops
	// (docs/results-sweep.md).
	PredictedMean    float64 `json:"predicted_mean"`
	PredictedStd     float64 `json:"predicted_std"`
	OutputStd        float64 `json:"output_std"`
	PredictedSigma   float64 `json:"predicted_sigma"`
	PredictedMeanRel float64 `json:"predicted_mean_rel"`
	// AccuracyRetrained and DropRetrained are the same measurement after
	// the retraining SensitivityResult.Retraining describes (an assign
	// run's ranking); absent without one. DropRetrained refers to the
	// exact model retrained as long.
	AccuracyRetrained *float64 `json:"accuracy_retrained,omitempty"`
	DropRetrained     *float64 `json:"drop_retrained,omitempty"`
}

// Retraining describes the retraining every layer's retrained drop was
// measured after: enough to tell whether another run would retrain the
// same way (the checkpoint is the result's own).
type Retraining struct {
	Epochs int `json:"epochs"`
	// ScheduleEpochs is the length of the approximate phase the learning
	// rate's schedule is laid out over (the retraining may run fewer).
	ScheduleEpochs int `json:"schedule_epochs"`
	// Samples is the number of training samples of each epoch, LR the
	// approximate phase's learning rate and Gradient its backward pass
	// (empty: straight-through).
	Samples  int     `json:"train_samples"`
	LR       float64 `json:"lr"`
	Gradient string  `json:"gradient,omitempty"`
	// AccuracyExact is the exact model's accuracy after that retraining.
	AccuracyExact float64 `json:"accuracy_exact"`
}

// retrainingOf is the Retraining m runs for epochs epochs (its
// AccuracyExact left to be measured).
func retrainingOf(m *Model, epochs int) Retraining {
	cfg := m.Trainer().Config()
	return Retraining{Epochs: epochs, ScheduleEpochs: cfg.PhaseEpochs(train.PhaseApprox), Samples: m.Trainer().TrainSamples(),
		LR: cfg.PhaseLR(train.PhaseApprox), Gradient: m.Gradient()}
}

// retrainedDrops returns s's retrained drops, drops[l][c] for layer l and
// multiplier c, when s holds them for the retraining want (AccuracyExact
// aside); ok is false otherwise.
func (s SensitivityResult) retrainedDrops(want Retraining) (drops [][]float64, ok bool) {
	if s.Retraining == nil {
		return nil, false
	}
	have := *s.Retraining
	have.AccuracyExact, want.AccuracyExact = 0, 0
	if have != want {
		return nil, false
	}
	drops = make([][]float64, len(s.Layers))
	for l := range drops {
		drops[l] = make([]float64, len(s.Multipliers))
		for c, m := range s.Multipliers {
			if l >= len(m.Layers) || m.Layers[l].DropRetrained == nil {
				return nil, false
			}
			drops[l][c] = *m.Layers[l].DropRetrained
		}
	}
	return drops, true
}

// Sensitivity is one multiplier's per-layer sensitivity.
type Sensitivity struct {
	LUT         string             `json:"lut"`
	Name        string             `json:"name"`
	Fingerprint string             `json:"fingerprint"`
	Layers      []LayerSensitivity `json:"layers"`
}

// SensitivityResult holds per-layer sensitivities of several multipliers.
type SensitivityResult struct {
	Checkpoint       string        `json:"checkpoint"`
	CheckpointSHA256 string        `json:"checkpoint_sha256"`
	Model            string        `json:"model"`
	Dataset          string        `json:"dataset"`
	Quant            string        `json:"quant"`
	AccuracyExact    float64       `json:"accuracy_exact"`
	Layers           []LayerFacts  `json:"layers"`
	Multipliers      []Sensitivity `json:"multipliers"`
	// Retraining, when present, is the retraining the layers' retrained
	// drops were measured after.
	Retraining *Retraining `json:"retraining,omitempty"`
}

// Layers returns the model's approximate layers with their share of the
// multiplications.
func (m *Model) Layers() []LayerFacts {
	ls := m.tr.Layers().Layers()
	total := 0
	for _, l := range ls {
		total += l.MulsPerSample()
	}
	facts := make([]LayerFacts, len(ls))
	for i, l := range ls {
		facts[i] = LayerFacts{Layer: l.Name(), Kind: string(l.Kind()), Muls: l.MulsPerSample(), FanIn: l.FanIn()}
		if total > 0 {
			facts[i].Share = float64(l.MulsPerSample()) / float64(total)
		}
	}
	return facts
}

// layerStats are what the error model needs from an exact evaluation.
type layerStats struct {
	state     []*ops.LayerState
	outputStd []float64
}

// exactStats evaluates the exact model with histogram recording on and
// returns the accuracy, the layers' recorded code histograms (in their
// states) and the std of each layer's output over the real samples of the
// last test batch (the evaluation pads that batch with zero images, which
// are left out).
func (m *Model) exactStats() (float64, layerStats, error) {
	reg := m.tr.Layers()
	for _, l := range reg.Layers() {
		l.ResetHistograms()
	}
	reg.RecordHistograms(true)
	acc, err := m.ExactAccuracy()
	reg.RecordHistograms(false)
	if err != nil {
		return 0, layerStats{}, err
	}
	batch := m.Config().Batch
	real := m.tr.TestSamples() % batch
	if real == 0 {
		real = batch
	}
	var st layerStats
	for _, l := range reg.Layers() {
		s := l.State() // a snapshot: later runs overwrite the histograms
		st.state = append(st.state, &s)
		std := math.NaN()
		if out := l.Output(); out != nil && out.Value() != nil {
			if y, ok := out.Value().Data().([]float32); ok && len(y) > 0 {
				std = errmodel.Std(y[:len(y)/batch*real])
			}
		}
		st.outputStd = append(st.outputStd, std)
	}
	return acc, st, nil
}

// predict applies the error model to layer i with table t.
func (st layerStats) predict(i int, t *lut.Table, fanIn int) (mean, std float64, err error) {
	// With outputStd 1, FromState's sigma is the predicted std itself.
	sigma, mu, err := errmodel.FromState(st.state[i], t, fanIn, 1)
	return mu, sigma, err
}

// MeasureSensitivity approximates one layer at a time with each multiplier
// (the other layers exact) and measures the accuracy, next to the error
// model's prediction for that layer.
func MeasureSensitivity(m *Model, luts []string, progress func(string)) (SensitivityResult, error) {
	cfg := m.Config()
	res := SensitivityResult{Checkpoint: m.Path, CheckpointSHA256: m.SHA256, Model: cfg.Model, Dataset: cfg.Dataset,
		Quant: cfg.Quant, Layers: m.Layers()}
	tables := make([]*lut.Table, len(luts))
	for i, arg := range luts {
		t, err := m.Table(arg)
		if err != nil {
			return res, fmt.Errorf("multiplier %s: %w", arg, err)
		}
		tables[i] = t
	}
	exact, st, err := m.exactStats()
	if err != nil {
		return res, err
	}
	res.AccuracyExact = exact
	for i, arg := range luts {
		s := Sensitivity{LUT: arg, Name: tables[i].Name(), Fingerprint: tables[i].Fingerprint()}
		for k, f := range res.Layers {
			meas, err := m.Measure("", []train.LayerLUT{{Layer: f.Layer, LUT: arg}}, 0)
			if err != nil {
				return res, fmt.Errorf("multiplier %s in layer %s: %w", arg, f.Layer, err)
			}
			ls := LayerSensitivity{LayerFacts: f, Accuracy: meas.Before, Drop: exact - meas.Before, OutputStd: st.outputStd[k]}
			if ls.PredictedMean, ls.PredictedStd, err = st.predict(k, tables[i], f.FanIn); err != nil {
				return res, fmt.Errorf("error model for layer %s: %w", f.Layer, err)
			}
			ls.PredictedSigma = ls.PredictedStd / ls.OutputStd
			ls.PredictedMeanRel = ls.PredictedMean / ls.OutputStd
			s.Layers = append(s.Layers, ls)
			if progress != nil {
				progress(fmt.Sprintf("%s in %s: accuracy %.2f%% (drop %+.2f points), predicted sigma %.3g, mean shift %+.3g",
					s.Name, f.Layer, 100*ls.Accuracy, 100*ls.Drop, ls.PredictedSigma, ls.PredictedMeanRel))
			}
		}
		res.Multipliers = append(res.Multipliers, s)
	}
	return res, nil
}
