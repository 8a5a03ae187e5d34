package train

import (
	"context"
	"os"
	"path/filepath"
	"sort"

	"github.com/goapprox/goapprox/lut/metrics"
	"github.com/goapprox/goapprox/ops"
)

// Checkpoint file names inside Run's checkpoint directory.
const (
	// LastCheckpoint is rewritten after every epoch; -resume reads it.
	LastCheckpoint = "last.ckpt"
)

// PhaseCheckpoint is the file holding the state at the end of a phase
// ("qat.ckpt": the trained model a multiplier sweep starts from).
func PhaseCheckpoint(p Phase) string { return string(p) + ".ckpt" }

// Result summarises a run.
type Result struct {
	Config      Config         `json:"config"`
	Epochs      []EpochMetrics `json:"epochs"`
	Evaluations []Evaluation   `json:"evaluations"`
	Accuracy    Accuracy       `json:"accuracy"`
	Phases      []PhaseTiming  `json:"phases"`
	Multipliers []Multiplier   `json:"multipliers,omitempty"`
	// Noise is each noised layer's sigma and mu in the noise phase.
	Noise     []NoiseLayer `json:"noise,omitempty"`
	Layers    []LayerInfo  `json:"layers"`
	TrainSize int          `json:"train_samples"`
	TestSize  int          `json:"test_samples"`
}

// Accuracy holds the test accuracies (fractions of the full test set) at
// the points that matter. A nil entry was not measured.
type Accuracy struct {
	// Float is the accuracy after the float phase.
	Float *float64 `json:"float,omitempty"`
	// QAT is the accuracy in Quantized mode (exact products) after QAT, or
	// after post-training calibration when there were no QAT epochs.
	QAT *float64 `json:"qat,omitempty"`
	// Noise is the accuracy after the noise phase (Quantized mode: noise
	// is added in training only).
	Noise *float64 `json:"noise,omitempty"`
	// ApproxBefore and ApproxAfter are the accuracies with the approximate
	// multipliers before and after approximate fine-tuning.
	ApproxBefore *float64 `json:"approx_before,omitempty"`
	ApproxAfter  *float64 `json:"approx_after,omitempty"`
	// Top5 holds the same accuracies measured top-5, for data sets of
	// TopFiveClasses classes or more.
	Top5 *Accuracy `json:"top5,omitempty"`
}

// PhaseTiming is the time a phase took.
type PhaseTiming struct {
	Phase           Phase   `json:"phase"`
	Epochs          int     `json:"epochs"`
	Steps           int     `json:"steps"`
	TrainSeconds    float64 `json:"train_seconds"`
	EvalSeconds     float64 `json:"eval_seconds"`
	SecondsPerEpoch float64 `json:"seconds_per_epoch"`
	MsPerStep       float64 `json:"ms_per_step"`
}

// Multiplier describes a table used in the approximate phase.
type Multiplier struct {
	Name        string          `json:"name"`
	Fingerprint string          `json:"fingerprint"`
	Layers      []string        `json:"layers"`
	Metrics     metrics.Metrics `json:"metrics"`
}

// LayerInfo describes an approximate layer.
type LayerInfo struct {
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	MulsPerSample int    `json:"muls_per_sample"`
	Table         string `json:"table,omitempty"`
}

// Run goes through the configured phases: float epochs, QAT epochs, then,
// with a multiplier, an evaluation with it before and after the approximate
// epochs. With dir not empty, a checkpoint is written there after every
// epoch (LastCheckpoint) and at the end of each phase (PhaseCheckpoint).
// After Restore, Run continues where the checkpoint stopped and reaches the
// same result as an uninterrupted run. A *DivergedError leaves the last
// checkpoint as it was.
func (t *Trainer) Run(dir string) (*Result, error) {
	return t.RunContext(context.Background(), dir)
}

// RunContext is Run that stops when ctx is done: between steps (the epoch
// is then lost) or between epochs, after the epoch's checkpoint. It
// returns ctx's error.
func (t *Trainer) RunContext(ctx context.Context, dir string) (*Result, error) {
	t.ctx = ctx
	defer func() { t.ctx = nil }()
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	for _, p := range Phases() {
		n := t.phaseEpochs(p)
		if p.index() < t.progress.Phase.index() || (p == PhaseApprox && !t.cfg.HasApprox()) {
			continue
		}
		if p != PhaseApprox && n == 0 {
			continue
		}
		if p == PhaseApprox {
			if err := t.enterApprox(); err != nil {
				return nil, err
			}
		} else if p == PhaseNoise {
			if err := t.enterNoise(); err != nil {
				return nil, err
			}
		} else if err := t.SetPhase(p); err != nil {
			return nil, err
		}
		for t.progress.Epoch < n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if _, err := t.TrainEpoch(); err != nil {
				return nil, err
			}
			if dir == "" {
				continue
			}
			if err := t.SaveCheckpoint(filepath.Join(dir, LastCheckpoint)); err != nil {
				return nil, err
			}
			if t.progress.Epoch == n {
				if err := t.SaveCheckpoint(filepath.Join(dir, PhaseCheckpoint(p))); err != nil {
					return nil, err
				}
			}
		}
	}
	return t.Result(), nil
}

// measureQuantized measures the quantized accuracy ("qat") when no QAT
// epoch did (none ran, or every one only observed), after a calibration if
// the observers saw no data, before the first phase that changes the
// products.
func (t *Trainer) measureQuantized() error {
	if t.cfg.quantizedQATEpochs() > 0 || t.hasEvaluation("qat") || t.progress.Phase.index() > PhaseQAT.index() {
		return nil
	}
	if err := t.SetPhase(PhaseQAT); err != nil {
		return err
	}
	if err := t.layers.SetMode(ops.Quantized); err != nil {
		return err
	}
	if !t.progress.Observed {
		if err := t.calibrate(); err != nil {
			return err
		}
	}
	_, err := t.evaluateAs("qat")
	return err
}

// enterNoise starts the noise phase, after the quantized accuracy when no
// QAT epoch measured it.
func (t *Trainer) enterNoise() error {
	if err := t.measureQuantized(); err != nil {
		return err
	}
	return t.SetPhase(PhaseNoise)
}

// enterApprox starts the approximate phase: the quantized accuracy first
// when no QAT epoch measured it, then the accuracy with the multipliers
// before any fine-tuning.
func (t *Trainer) enterApprox() error {
	if err := t.measureQuantized(); err != nil {
		return err
	}
	if err := t.SetPhase(PhaseApprox); err != nil {
		return err
	}
	if !t.hasEvaluation("approx_before") {
		if _, err := t.evaluateAs("approx_before"); err != nil {
			return err
		}
	}
	return nil
}

// Result summarises the run so far.
func (t *Trainer) Result() *Result {
	r := &Result{Config: t.cfg, Epochs: t.Epochs(), Evaluations: t.Evaluations(), Noise: t.Noise(),
		TrainSize: t.trainData.Len(), TestSize: t.testData.Len()}
	r.Accuracy = t.accuracies(func(e EpochMetrics) float64 { return e.TestAccuracy }, func(e Evaluation) float64 { return e.Accuracy })
	if t.testData.Classes >= TopFiveClasses {
		top5 := t.accuracies(func(e EpochMetrics) float64 { return e.TestTop5 }, func(e Evaluation) float64 { return e.Top5 })
		r.Accuracy.Top5 = &top5
	}
	for _, p := range Phases() {
		pt := PhaseTiming{Phase: p}
		for _, e := range t.epochs {
			if e.Phase == p {
				pt.Epochs++
				pt.Steps += e.Steps
				pt.TrainSeconds += e.Seconds
				pt.EvalSeconds += e.EvalSeconds
			}
		}
		if pt.Epochs > 0 {
			pt.SecondsPerEpoch = pt.TrainSeconds / float64(pt.Epochs)
			pt.MsPerStep = 1000 * pt.TrainSeconds / float64(pt.Steps)
			r.Phases = append(r.Phases, pt)
		}
	}
	byTable := map[string]*Multiplier{}
	for _, l := range t.layers.Layers() {
		info := LayerInfo{Name: l.Name(), Kind: string(l.Kind()), MulsPerSample: l.MulsPerSample()}
		if tab := l.Table(); tab != nil {
			info.Table = tab.Name()
			m, ok := byTable[tab.Fingerprint()]
			if !ok {
				m = &Multiplier{Name: tab.Name(), Fingerprint: tab.Fingerprint(), Metrics: metrics.Compute(tab)}
				byTable[tab.Fingerprint()] = m
			}
			m.Layers = append(m.Layers, l.Name())
		}
		r.Layers = append(r.Layers, info)
	}
	for _, m := range byTable {
		r.Multipliers = append(r.Multipliers, *m)
	}
	sort.Slice(r.Multipliers, func(i, j int) bool { return r.Multipliers[i].Name < r.Multipliers[j].Name })
	return r
}

// accuracies picks the accuracies that matter from the epochs and the
// labelled evaluations, each measured by the given functions.
func (t *Trainer) accuracies(epoch func(EpochMetrics) float64, eval func(Evaluation) float64) Accuracy {
	var r Accuracy
	last := map[Phase]float64{}
	for _, e := range t.epochs {
		last[e.Phase] = epoch(e)
	}
	ptr := func(v float64) *float64 { return &v }
	if v, ok := last[PhaseFloat]; ok {
		r.Float = ptr(v)
	}
	if v, ok := last[PhaseQAT]; ok {
		r.QAT = ptr(v)
	}
	if v, ok := last[PhaseNoise]; ok {
		r.Noise = ptr(v)
	}
	if v, ok := last[PhaseApprox]; ok {
		r.ApproxAfter = ptr(v)
	}
	for _, e := range t.evals {
		switch e.Label {
		case "qat":
			r.QAT = ptr(eval(e))
		case "approx_before":
			r.ApproxBefore = ptr(eval(e))
		}
	}
	return r
}
