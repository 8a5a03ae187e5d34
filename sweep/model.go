package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"github.com/goapprox/goapprox/internal/ckptfile"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/train"
)

// ModelOptions say how to rebuild a checkpoint's model for measurements.
type ModelOptions struct {
	// DataDir replaces the data set's default locations (empty: the
	// checkpoint's own DataDir).
	DataDir string
	// Threads bounds the kernels' workers (0: all cores).
	Threads int
	// RetrainEpochs is the number of approximate fine-tuning epochs a
	// measurement may run; it sets the length of a cosine schedule.
	RetrainEpochs int
	// RetrainLR is the fine-tuning learning rate (0: the checkpoint's).
	RetrainLR float64
	// Gradient is the fine-tuning's backward pass (train.Config.Gradient:
	// "" or "ste", "table", "table:window=H").
	Gradient string
	// Limit retrains on the first Limit training samples only (0: the
	// checkpoint's training set), for measurements that only need a short
	// retraining.
	Limit int
	// TrainerOptions are passed to train.New (tests give their own data).
	TrainerOptions []train.Option
}

// Model is a trained checkpoint rebuilt into a trainer, restored before
// every measurement so that each starts from the same trained state.
type Model struct {
	Path   string
	SHA256 string // of the checkpoint file: which trained model this is
	ck     *train.Checkpoint
	tr     *train.Trainer
	quant  string
	// gradient is the fine-tuning's backward pass (ModelOptions.Gradient).
	gradient string
	// tables are the tables Table loaded, by argument: a sweep checks every
	// table before it starts, then reads each again for its row.
	tables map[string]*lut.Table
}

// OpenModel reads a checkpoint written by train (cmd/train writes
// OUT/checkpoints/qat.ckpt after quantization-aware training) and builds its
// model. anyLUT is one multiplier of the measurements to come: a trainer
// with fine-tuning epochs must be configured with one.
func OpenModel(path string, anyLUT string, o ModelOptions) (*Model, error) {
	data, err := boundedfile.ReadFile(path, ckptfile.DefaultMaxSize, "a training checkpoint")
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint: %w", err)
	}
	ck, err := train.DecodeCheckpoint(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if ph, _ := ck.Phase(); ph == train.PhaseFloat || ph == "" {
		return nil, fmt.Errorf("checkpoint %s is from the float phase: measuring multipliers needs a quantized model (use checkpoints/qat.ckpt of a run with -qat-epochs > 0)", path)
	}
	if o.RetrainEpochs < 0 {
		return nil, fmt.Errorf("retrain epochs %d must not be negative", o.RetrainEpochs)
	}
	cfg := ck.Config
	if o.DataDir != "" {
		cfg.DataDir = o.DataDir
	}
	cfg.Threads = o.Threads
	cfg.ApproxEpochs = o.RetrainEpochs
	if o.Limit < 0 {
		return nil, fmt.Errorf("limit %d must not be negative (0: the checkpoint's training set)", o.Limit)
	}
	if o.Limit > 0 {
		cfg.Limit = o.Limit
	}
	if o.RetrainLR != 0 {
		cfg = cfg.WithPhaseLR(train.PhaseApprox, o.RetrainLR)
	}
	cfg.LUT, cfg.LayerLUTs = anyLUT, nil
	cfg.Gradient = o.Gradient
	tr, err := train.New(cfg, o.TrainerOptions...)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &Model{Path: path, SHA256: hex.EncodeToString(sum[:]), ck: ck, tr: tr, quant: cfg.Quant, gradient: cfg.Gradient}, nil
}

// Close releases the trainer.
func (m *Model) Close() { m.tr.Close() }

// Config is the checkpoint's training configuration.
func (m *Model) Config() train.Config { return m.ck.Config }

// Gradient is the backward pass of the model's fine-tuning
// (ModelOptions.Gradient).
func (m *Model) Gradient() string { return m.gradient }

// Trainer gives access to the rebuilt trainer (its layers and sizes).
func (m *Model) Trainer() *train.Trainer { return m.tr }

// Table loads a multiplier the way the trainer does, so that metrics and
// costs describe the table the model runs; a table loaded before is not
// read again.
func (m *Model) Table(arg string) (*lut.Table, error) {
	if t, ok := m.tables[arg]; ok {
		return t, nil
	}
	t, err := train.LoadTable(arg, m.quant)
	if err != nil {
		return nil, err
	}
	if m.tables == nil {
		m.tables = map[string]*lut.Table{}
	}
	m.tables[arg] = t
	return t, nil
}

// ExactAccuracy is the test accuracy of the restored model in Quantized
// mode: exact products, the reference every drop is measured from.
func (m *Model) ExactAccuracy() (float64, error) {
	if err := m.tr.Restore(m.ck); err != nil {
		return 0, err
	}
	if err := m.tr.Layers().SetMode(ops.Quantized); err != nil {
		return 0, err
	}
	m.tr.Layers().FreezeObservers()
	ev, err := m.tr.Evaluate()
	return ev.Accuracy, err
}

// Measurement is the accuracy of the model with one multiplier assignment.
type Measurement struct {
	Before float64 // in Approximate mode, as trained
	// After is the accuracy after each retraining epoch (empty without).
	After []float64
}

// Measure restores the trained model, gives every layer the multiplier
// lutArg (may be empty) and the layers matching perLayer theirs (the others
// stay Quantized, exact), evaluates, and retrains retrain epochs, evaluating
// after each.
func (m *Model) Measure(lutArg string, perLayer []train.LayerLUT, retrain int) (Measurement, error) {
	if lutArg == "" && len(perLayer) == 0 {
		return Measurement{}, errors.New("no multiplier to measure")
	}
	var res Measurement
	if err := m.tr.Restore(m.ck); err != nil {
		return res, err
	}
	if err := m.tr.SetMultipliers(lutArg, perLayer); err != nil {
		return res, err
	}
	if err := m.tr.SetPhase(train.PhaseApprox); err != nil {
		return res, err
	}
	ev, err := m.tr.Evaluate()
	if err != nil {
		return res, err
	}
	res.Before = ev.Accuracy
	for i := 0; i < retrain; i++ {
		em, err := m.tr.TrainEpoch()
		if err != nil {
			return res, fmt.Errorf("retraining epoch %d: %w", i+1, err)
		}
		res.After = append(res.After, em.TestAccuracy)
	}
	return res, nil
}
