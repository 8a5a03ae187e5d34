package train

import (
	"errors"
	"fmt"

	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/train/optimizer"
)

// Phase names a stage of training.
type Phase string

// The phases, in the order Run goes through them.
const (
	PhaseFloat  Phase = "float"  // float weights and products
	PhaseQAT    Phase = "qat"    // quantization-aware training, exact products
	PhaseNoise  Phase = "noise"  // training with Gaussian noise standing in for the multipliers
	PhaseApprox Phase = "approx" // fine-tuning with the approximate multipliers
)

// Phases lists the phases in order.
func Phases() []Phase { return []Phase{PhaseFloat, PhaseQAT, PhaseNoise, PhaseApprox} }

func (p Phase) index() int {
	for i, q := range Phases() {
		if p == q {
			return i
		}
	}
	return -1
}

// progress is where a run stands; checkpoints store it.
type progress struct {
	Phase Phase `json:"phase"` // current phase, "" before the first
	Epoch int   `json:"epoch"` // epochs completed in the current phase
	Index int   `json:"index"` // epochs completed in the run
	// Observed says the layers' observers have seen data (QAT or a
	// calibration), so their quantization parameters mean something.
	Observed bool `json:"observed"`
}

// SetPhase prepares the layers for a phase: Float mode; Quantized mode with
// the observers running (QAT; Observe mode in its first
// Config.QATObserveEpochs epochs); for the noise phase, observers frozen and
// Noise mode with each layer's sigma and mu (predicted when the phase is
// entered, see NoiseLayer); or, for the approximate phase, observers
// frozen (after a calibration pass if they never saw data) and each layer's
// multiplier in Approximate mode. Entering a new phase starts a fresh
// optimizer, as a new training stage does in the reference; calling it again
// for the current phase (after Restore) keeps the optimizer state.
func (t *Trainer) SetPhase(p Phase) error {
	if p.index() < 0 {
		return fmt.Errorf("unknown phase %q; phases: %v", p, Phases())
	}
	fresh := p != t.progress.Phase
	if fresh {
		opt, err := t.cfg.ForPhase(p).newOptimizer()
		if err != nil {
			return err
		}
		t.progress.Phase, t.progress.Epoch = p, 0
		t.opt = opt
	}
	// Only the approximate phase's layers with a multiplier may use table
	// gradients (applyGradient); every other phase trains straight through.
	if err := t.layers.SetGradient(ops.Gradient{}); err != nil {
		return err
	}
	switch p {
	case PhaseFloat:
		return t.layers.SetMode(ops.Float)
	case PhaseQAT:
		t.layers.UnfreezeObservers()
		return t.layers.SetMode(t.qatMode())
	case PhaseNoise:
		return t.enterNoisePhase(fresh)
	default:
		if !t.cfg.HasApprox() {
			return errors.New("the approximate phase needs a multiplier (SetMultipliers)")
		}
		if err := t.freezeQuantization(); err != nil {
			return err
		}
		if err := t.applyMultipliers(); err != nil {
			return err
		}
		return t.applyGradient()
	}
}

// qatMode is the layers' mode in the next QAT epoch: Observe in the first
// QATObserveEpochs, Quantized after them.
func (t *Trainer) qatMode() ops.Mode {
	if t.progress.Epoch < t.cfg.QATObserveEpochs {
		return ops.Observe
	}
	return ops.Quantized
}

// quantizedQATEpochs is how many QAT epochs quantize.
func (c Config) quantizedQATEpochs() int { return max(0, c.QATEpochs-c.QATObserveEpochs) }

// applyGradient gives the layers in Approximate mode the configured
// backward pass; the layers left without a multiplier (Quantized mode)
// keep straight-through gradients, the only ones their mode has.
func (t *Trainer) applyGradient() error {
	g, err := ops.ParseGradient(t.cfg.Gradient)
	if err != nil {
		return err
	}
	for _, l := range t.layers.Layers() {
		lg := ops.Gradient{}
		if l.Mode() == ops.Approximate {
			lg = g
		}
		if err := l.SetGradient(lg); err != nil {
			return err
		}
	}
	return nil
}

// freezeQuantization ends quantization-aware training: the layers go to
// Quantized mode, the observers are calibrated on a few batches if they
// never saw data (no QAT epochs), and then frozen, as the phases after QAT
// (noise, approximate) need fixed quantization parameters.
func (t *Trainer) freezeQuantization() error {
	if err := t.layers.SetMode(ops.Quantized); err != nil {
		return err
	}
	if !t.progress.Observed {
		if err := t.calibrate(); err != nil {
			return err
		}
	}
	t.layers.FreezeObservers()
	return nil
}

// calibrationBatches is how many training batches a calibration pass shows
// the observers when there was no QAT.
const calibrationBatches = 32

// calibrate runs training batches forward in Quantized mode with the
// observers on and batch norm in evaluation mode, changing nothing but the
// quantization parameters: post-training quantization's calibration.
func (t *Trainer) calibrate() error {
	if err := t.layers.SetMode(ops.Quantized); err != nil {
		return err
	}
	defer t.evaluationMode()()
	t.layers.SetTraining(true) // the observers see the data; batch norm uses its running statistics
	t.iter.Start(0)
	for i := 0; i < calibrationBatches && t.iter.Next(); i++ {
		if err := t.runForward(t.iter.Batch()); err != nil {
			return fmt.Errorf("calibrating the quantization: %w", err)
		}
	}
	t.progress.Observed = true
	return nil
}

// phaseEpochs is the configured length of a phase.
func (t *Trainer) phaseEpochs(p Phase) int { return t.cfg.PhaseEpochs(p) }

// lr is the learning rate of step (0-based) of epoch (1-based) of the
// current phase.
func (t *Trainer) lr(epoch, step int) float64 {
	pos := optimizer.Position{Epoch: epoch, Step: step, StepsPerEpoch: t.iter.Batches(), Epochs: t.phaseEpochs(t.progress.Phase)}
	return t.cfg.lrAt(t.progress.Phase, pos)
}
