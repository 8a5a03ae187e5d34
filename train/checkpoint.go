package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/internal/ckptfile"
	"github.com/goapprox/goapprox/train/optimizer"
)

// A training checkpoint is three lines of text:
//
//	goapprox-train-checkpoint 2
//	sha256 <hex digest of the payload>
//	<payload: one JSON document>
//
// The payload holds the configuration, the progress (phase, epoch), the
// metrics so far, the batch-norm running statistics, the optimizer's state
// and the model itself as an approxlayer checkpoint (weights, biases,
// observers, quantization parameters, modes and table names). The batch
// order needs no generator state: it is a function of the seed and the
// epoch's index, both stored. Float32 values are stored exactly: the
// optimizer's moments, the bulk of the payload, as base64 of their bits
// (float32s) since version 2; version 1 stored them as JSON numbers, about
// four times the size (2.4 MB for LeNet-5), and is still read.
const (
	checkpointMagic   = "goapprox-train-checkpoint"
	checkpointVersion = 2
)

// checkpointFormat reads versions 1 and 2 and writes version 2. A
// checkpoint holds the model and two moments per weight; the size limit
// only stops a file that cannot be one from being read whole.
var checkpointFormat = ckptfile.Format{
	Magic: checkpointMagic, Version: checkpointVersion, MinVersion: 1,
	Name: "training checkpoint", MaxSize: ckptfile.DefaultMaxSize, FinalNewline: true,
}

// Checkpoint is the content of a training checkpoint.
type Checkpoint struct {
	Config      Config          `json:"config"`
	Progress    progress        `json:"progress"`
	Epochs      []EpochMetrics  `json:"epochs"`
	Evaluations []Evaluation    `json:"evaluations"`
	BatchNorms  []bnRecord      `json:"batch_norms"`
	Optimizer   optimizer.State `json:"optimizer"`
	// Noise is the noise phase's per-layer sigma and mu once it started:
	// a resumed noise phase keeps them rather than predicting them again
	// from weights that have changed since.
	Noise []NoiseLayer `json:"noise,omitempty"`
	// Model is an approxlayer checkpoint.
	Model []byte `json:"model"`
}

type bnRecord struct {
	Name     string    `json:"name"`
	Training bool      `json:"training"`
	Mean     []float32 `json:"mean"`
	Var      []float32 `json:"var"`
}

// Phase returns the phase and the epochs of it the checkpoint has completed.
func (c *Checkpoint) Phase() (Phase, int) { return c.Progress.Phase, c.Progress.Epoch }

// Checkpoint captures the trainer's complete state.
func (t *Trainer) Checkpoint() (*Checkpoint, error) {
	var model bytes.Buffer
	if err := approxlayerWrite(&model, t); err != nil {
		return nil, err
	}
	c := &Checkpoint{
		Config: t.cfg, Progress: t.progress,
		Epochs: t.Epochs(), Evaluations: t.Evaluations(),
		Optimizer: t.opt.State(), Noise: t.Noise(), Model: model.Bytes(),
	}
	for _, bn := range t.batchNorms {
		c.BatchNorms = append(c.BatchNorms, bnRecord{Name: bn.Name, Training: bn.State.Training,
			Mean: append([]float32(nil), bn.State.Mean...), Var: append([]float32(nil), bn.State.Var...)})
	}
	return c, nil
}

// SaveCheckpoint writes the trainer's state to path atomically. A state
// holding a NaN or an infinity is not written (*DivergedError): the file
// at path stays as it was.
func (t *Trainer) SaveCheckpoint(path string) error {
	if f := t.stateFault(); f != nil {
		div := f.diverged(0)
		div.Phase, div.Epoch = t.progress.Phase, t.progress.Epoch
		div.During = fmt.Sprintf("epoch %d, saving checkpoint %s", t.progress.Epoch, path)
		return div
	}
	c, err := t.Checkpoint()
	if err != nil {
		return err
	}
	return checkpointFormat.WriteFile(path, c)
}

// Write writes the checkpoint to w.
func (c *Checkpoint) Write(w io.Writer) error {
	return checkpointFormat.Write(w, c)
}

// ReadCheckpoint reads a checkpoint file written by SaveCheckpoint.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	var c Checkpoint
	if _, err := checkpointFormat.ReadFile(path, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// float32s is how checkpoints store the optimizer's moments.
type float32s = optimizer.Float32s

// DecodeCheckpoint reads a checkpoint, checking its digest.
func DecodeCheckpoint(r io.Reader) (*Checkpoint, error) {
	var c Checkpoint
	if _, err := checkpointFormat.Decode(r, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Restore puts the trainer into the state of a checkpoint made from a run
// with the same model, data set, batch size, seed and quantization preset.
// Nothing is changed unless the whole checkpoint fits.
func (t *Trainer) Restore(c *Checkpoint) error {
	a, b := c.Config, t.cfg
	if a.Model != b.Model || a.Dataset != b.Dataset || a.Batch != b.Batch || a.Seed != b.Seed || a.Quant != b.Quant {
		return fmt.Errorf("the checkpoint is of %s on %s (batch %d, seed %d, preset %s), not %s on %s (batch %d, seed %d, preset %s)",
			a.Model, a.Dataset, a.Batch, a.Seed, a.Quant, b.Model, b.Dataset, b.Batch, b.Seed, b.Quant)
	}
	if len(c.BatchNorms) != len(t.batchNorms) {
		return fmt.Errorf("the checkpoint has %d batch normalisations, the model %d", len(c.BatchNorms), len(t.batchNorms))
	}
	for i, rec := range c.BatchNorms {
		bn := t.batchNorms[i]
		if rec.Name != bn.Name || len(rec.Mean) != len(bn.State.Mean) || len(rec.Var) != len(bn.State.Var) {
			return fmt.Errorf("the checkpoint's batch normalisation %q (%d channels) does not fit the model's %q (%d)",
				rec.Name, len(rec.Mean), bn.Name, len(bn.State.Mean))
		}
	}
	if err := c.checkProgress(); err != nil {
		return err
	}
	if err := checkMoments(c.Optimizer, t.params); err != nil {
		return err
	}
	for _, n := range c.Noise {
		if t.layers.Layer(n.Layer) == nil {
			return fmt.Errorf("the checkpoint's noise phase names a layer %q the model does not have", n.Layer)
		}
	}
	pc := t.cfg.ForPhase(c.Progress.Phase)
	if c.Optimizer.Kind != pc.Optimizer {
		return fmt.Errorf("checkpoint holds %s optimizer state, the run uses %s", c.Optimizer.Kind, pc.Optimizer)
	}
	opt, err := pc.newOptimizer()
	if err != nil {
		return err
	}
	if err := opt.SetState(c.Optimizer); err != nil {
		return fmt.Errorf("the checkpoint's optimizer: %w", err)
	}
	// Tables named by the checkpoint must be loadable: those of its own
	// configuration join the trainer's set.
	for _, arg := range tableArgs(c.Config) {
		tab, err := LoadTable(arg, t.cfg.Quant)
		if err != nil {
			return fmt.Errorf("the checkpoint's multiplier %s: %w", arg, err)
		}
		t.tables[tab.Name()] = tab
	}
	if err := approxlayerRead(bytes.NewReader(c.Model), t); err != nil {
		return err
	}
	for i, rec := range c.BatchNorms {
		s := t.batchNorms[i].State
		s.Training = rec.Training
		copy(s.Mean, rec.Mean)
		copy(s.Var, rec.Var)
	}
	t.opt = opt
	t.progress = c.Progress
	t.epochs = append([]EpochMetrics(nil), c.Epochs...)
	t.evals = append([]Evaluation(nil), c.Evaluations...)
	t.noise = append([]NoiseLayer(nil), c.Noise...)
	return t.layers.SetThreads(t.cfg.Threads)
}

// checkProgress refuses a progress record no run can reach; the digest
// catches damage, this catches a hand-edited or foreign file before a
// resumed run would start from a phase that does not exist.
func (c *Checkpoint) checkProgress() error {
	p := c.Progress
	if p.Phase != "" && p.Phase.index() < 0 {
		return fmt.Errorf("the checkpoint's phase %q is unknown; phases: %v", p.Phase, Phases())
	}
	if p.Epoch < 0 || p.Index < p.Epoch {
		return fmt.Errorf("the checkpoint's progress (epoch %d of phase %q, %d in the run) is impossible", p.Epoch, p.Phase, p.Index)
	}
	return nil
}

// checkMoments refuses optimizer moments that do not belong to a parameter
// of the model or have another length: the optimizer would otherwise
// replace them by zeros without a word and the resumed run would differ.
func checkMoments(s optimizer.State, params G.Nodes) error {
	if s.Steps < 0 {
		return fmt.Errorf("the checkpoint's optimizer has taken %d steps", s.Steps)
	}
	size := make(map[string]int, len(params))
	for _, p := range params {
		size[p.Name()] = p.Shape().TotalSize()
	}
	for _, moments := range []map[string]float32s{s.M, s.V} {
		for name, m := range moments {
			n, ok := size[name]
			if !ok {
				return fmt.Errorf("the checkpoint's optimizer state names a parameter %q the model does not have", name)
			}
			if len(m) != n {
				return fmt.Errorf("the checkpoint's optimizer state of %s has %d values, the parameter %d", name, len(m), n)
			}
		}
	}
	return nil
}

func tableArgs(c Config) []string {
	var args []string
	if c.LUT != "" {
		args = append(args, c.LUT)
	}
	for _, ll := range c.LayerLUTs {
		args = append(args, ll.LUT)
	}
	return args
}

// SameRun reports whether two configurations describe the same run, so
// that resuming one with the other gives the result of an uninterrupted
// run. Where the data comes from and the thread count do not matter.
func SameRun(a, b Config) error {
	a.DataDir, b.DataDir = "", ""
	a.Threads, b.Threads = 0, 0
	if reflect.DeepEqual(a, b) {
		return nil
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return fmt.Errorf("the checkpoint was made with a different configuration:\n  checkpoint: %s\n  this run:   %s", ja, jb)
}

// approxlayerWrite writes the layers and the other learnables (biases,
// batch-norm scales and shifts) as an approxlayer checkpoint.
func approxlayerWrite(w io.Writer, t *Trainer) error {
	return approxlayer.Write(w, t.layers, t.extra...)
}

func approxlayerRead(r io.Reader, t *Trainer) error {
	return approxlayer.Read(r, t.layers, t.tables.resolve, t.extra...)
}
