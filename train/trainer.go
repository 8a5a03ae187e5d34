package train

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/zoo"
)

// Hooks are optional callbacks that report progress (a progress bar).
type Hooks struct {
	// EpochStart is called before the first step of an epoch.
	EpochStart func(phase Phase, epoch, steps int)
	// Step is called after each step with the running mean loss and
	// accuracy of the epoch so far.
	Step func(phase Phase, epoch, step int, loss, accuracy float64)
	// EpochEnd is called with the epoch's metrics, after its evaluation.
	EpochEnd func(m EpochMetrics)
	// Evaluated is called after each labelled evaluation between epochs.
	Evaluated func(e Evaluation)
}

// Option configures New.
type Option func(*Trainer)

// WithHooks reports progress through h.
func WithHooks(h Hooks) Option { return func(t *Trainer) { t.hooks = h } }

// WithData trains and evaluates on the given data sets instead of loading
// Config.Dataset. They are used as they are (not normalised again) and must
// have the shape of the data set the configuration names.
func WithData(train, test *dataset.Dataset) Option {
	return func(t *Trainer) { t.trainData, t.testData = train, test }
}

// Trainer runs the phase pipeline (float, QAT, noise, approximate) on a
// model: a zoo model by name (Config.Model) or any Gorgonia graph a user
// built (WithModel, WithGraph), rewritten into approximate layers. It
// trains epoch by epoch (SetPhase, TrainEpoch), evaluates on the full test
// set (Evaluate), runs the whole pipeline with checkpoints (Run), and
// saves and restores its complete state (SaveCheckpoint, Restore). A sweep
// over multipliers restores a trained model, calls SetMultipliers and
// SetPhase(PhaseApprox), evaluates and retrains.
//
// A Trainer is not safe for concurrent use.
type Trainer struct {
	*core // the model, its machines and the optimizer

	cfg       Config
	build     ModelFunc // set by WithModel; nil for zoo models
	trainData *dataset.Dataset
	allTrain  int // training samples before Config.Limit
	testData  *dataset.Dataset
	net       *zoo.Net              // the zoo model as built (nil for others)
	tables    tableSet              // by table name, for checkpoints
	byArg     map[string]*lut.Table // by the spec or file that named them

	iter  *dataset.Iterator
	hooks Hooks

	progress progress
	epochs   []EpochMetrics
	evals    []Evaluation
	// noise is the noise phase's per-layer sigma and mu, set when the
	// phase starts (nil before).
	noise []NoiseLayer
	ctx   context.Context // of RunContext, checked between steps
	// searchGraph, set by WithSearch, makes the graph a gradient search's.
	searchGraph *SearchGraphOptions
}

// New loads the data, builds the model, rewrites it into approximate
// layers, adds the loss and its gradients and compiles the machines.
func New(cfg Config, opts ...Option) (*Trainer, error) {
	t := &Trainer{cfg: cfg, tables: tableSet{}, byArg: map[string]*lut.Table{}}
	for _, o := range opts {
		o(t)
	}
	if err := cfg.validate(t.build != nil, t.trainData != nil && t.testData != nil); err != nil {
		return nil, err
	}
	if err := t.loadData(); err != nil {
		return nil, err
	}
	if err := t.buildModel(); err != nil {
		return nil, err
	}
	if err := t.SetMultipliers(cfg.LUT, cfg.LayerLUTs); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Trainer) loadData() error {
	info, lookupErr := t.cfg.dataInfo()
	if t.trainData == nil || t.testData == nil {
		train, test, err := dataset.LoadSplits(t.cfg.Dataset, t.cfg.dataOptions())
		if err != nil {
			return err
		}
		t.trainData, t.testData = train, test
	}
	if lookupErr != nil {
		// A data set of the user's own, given with WithData: the training
		// set says the shape.
		info = dataset.Info{Name: t.trainData.Name, C: t.trainData.C, H: t.trainData.H, W: t.trainData.W, Classes: t.trainData.Classes}
	}
	for _, d := range []*dataset.Dataset{t.trainData, t.testData} {
		if d.C != info.C || d.H != info.H || d.W != info.W || d.Classes != info.Classes {
			return fmt.Errorf("data set %s is %dx%dx%d with %d classes, but %s is %dx%dx%d with %d",
				d.Name, d.C, d.H, d.W, d.Classes, info.Name, info.C, info.H, info.W, info.Classes)
		}
	}
	t.allTrain = t.trainData.Len()
	t.trainData = t.trainData.Limit(t.cfg.Limit)
	if t.trainData.Len() < t.cfg.Batch {
		return fmt.Errorf("%d training samples do not fill one batch of %d: lower the batch size", t.trainData.Len(), t.cfg.Batch)
	}
	if t.testData.Len() == 0 {
		return errors.New("the test set is empty")
	}
	return nil
}

// buildModel builds the model, makes it trainable (core) and prepares the
// batches.
func (t *Trainer) buildModel() error {
	cfg := t.cfg
	d := t.trainData
	var m *Model
	if t.build == nil {
		model, _ := zoo.Lookup(cfg.Model) // checked by validate
		net, err := model.Build(zoo.Input{C: d.C, H: d.H, W: d.W, Classes: d.Classes}, cfg.Batch, cfg.Seed)
		if err != nil {
			return err
		}
		t.net = net
		m = &Model{Graph: net.Graph, Input: net.Input, Logits: net.Logits, Params: net.Params, BatchNorms: []BatchNorm{}}
		for _, bn := range net.BatchNorms {
			m.BatchNorms = append(m.BatchNorms, BatchNorm{Name: bn.Name, State: bn.State})
		}
	} else {
		var err error
		if m, err = t.build(cfg.Batch, cfg.Seed); err != nil {
			return fmt.Errorf("building model %s: %w", cfg.Model, err)
		}
		if err := m.check(cfg.Batch, d.SampleSize(), d.Classes); err != nil {
			return fmt.Errorf("model %s: %w", cfg.Model, err)
		}
	}
	c, err := newCore(m, coreOptions{batch: cfg.Batch, quant: cfg.Quant, seed: cfg.Seed, threads: cfg.Threads, search: t.searchGraph})
	if err != nil {
		return fmt.Errorf("model %s: %w", cfg.Model, err)
	}
	t.core = c
	aug, err := t.augmentation()
	if err != nil {
		t.Close()
		return err
	}
	t.cfg.Augment = aug.String() // what the run does, for reports and checkpoints
	// Batches are filled (and augmented) ahead on the iterator's own
	// goroutine while the model trains on the previous one.
	if t.iter, err = dataset.NewIterator(d, cfg.Batch, dataset.IterOptions{Shuffle: true, Seed: cfg.Seed, DropLast: true, Augment: aug, Prefetch: 2}); err != nil {
		t.Close()
		return err
	}
	if t.opt, err = cfg.newOptimizer(); err != nil {
		t.Close()
		return err
	}
	return nil
}

// augmentation is the configured training augmentation: the data set's
// own unless Config.Augment says otherwise; none for data given with
// WithData that package dataset does not know.
func (t *Trainer) augmentation() (dataset.Augment, error) {
	info, err := t.cfg.dataInfo()
	if err != nil {
		// Data of the user's own (WithData): no augmentation of its own.
		d := t.trainData
		info = dataset.Info{Name: d.Name, C: d.C, H: d.H, W: d.W, Classes: d.Classes}
	}
	return dataset.ParseAugment(t.cfg.Augment, info)
}

// Close releases the machines and stops the batch producer.
func (t *Trainer) Close() {
	if t.iter != nil {
		t.iter.Close()
	}
	if t.core != nil {
		t.core.close()
	}
}

// Config returns the run's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Layers returns the registry of the model's approximate layers.
func (t *Trainer) Layers() *approxlayer.Registry { return t.layers }

// Net returns the zoo model as built, before rewriting (its batch-norm
// states are shared with the rewritten graph), or nil for a model given
// with WithModel or WithGraph.
func (t *Trainer) Net() *zoo.Net { return t.net }

// Model returns the model as built, before rewriting.
func (t *Trainer) Model() *Model { return t.model }

// TrainSamples and TestSamples are the sizes of the data in use.
func (t *Trainer) TrainSamples() int { return t.trainData.Len() }

// AllTrainSamples is the number of samples of the training set, of which
// Config.Limit keeps the first TrainSamples.
func (t *Trainer) AllTrainSamples() int { return t.allTrain }

// MeasuresTop5 reports whether evaluations measure top-5 accuracy: data
// sets of TopFiveClasses classes or more.
func (t *Trainer) MeasuresTop5() bool { return t.testData.Classes >= TopFiveClasses }

// TestSamples is the number of test samples Evaluate uses.
func (t *Trainer) TestSamples() int { return t.testData.Len() }

// StepsPerEpoch is the number of batches of a training epoch.
func (t *Trainer) StepsPerEpoch() int { return t.iter.Batches() }

// Epochs returns the metrics of the epochs trained so far.
func (t *Trainer) Epochs() []EpochMetrics { return append([]EpochMetrics(nil), t.epochs...) }

// Evaluations returns the labelled evaluations made so far.
func (t *Trainer) Evaluations() []Evaluation { return append([]Evaluation(nil), t.evals...) }

// Phase returns the current phase and the epochs completed in it.
func (t *Trainer) Phase() (Phase, int) { return t.progress.Phase, t.progress.Epoch }

// TrainEpoch trains one epoch of the current phase (see SetPhase), then
// evaluates on the test set and records the metrics. The batch order depends
// only on the seed and the epoch's index in the run. A NaN or infinite loss
// stops it with a *DivergedError, before the update. The last QAT epoch of
// a QAT that only observed (QATObserveEpochs) is followed by the "qat"
// evaluation in Quantized mode.
func (t *Trainer) TrainEpoch() (EpochMetrics, error) {
	phase := t.progress.Phase
	if phase == "" {
		return EpochMetrics{}, errors.New("no phase set: call SetPhase first")
	}
	epoch := t.progress.Epoch + 1
	m := EpochMetrics{Phase: phase, Epoch: epoch, Index: t.progress.Index + 1, Steps: t.iter.Batches(), LR: t.lr(epoch, 0)}
	if t.hooks.EpochStart != nil {
		t.hooks.EpochStart(phase, epoch, m.Steps)
	}
	start := time.Now()
	if phase == PhaseNoise {
		t.reseedNoise(t.progress.Index)
	}
	if phase == PhaseQAT {
		m.Observing = t.qatMode() == ops.Observe
		if err := t.layers.SetMode(t.qatMode()); err != nil {
			return m, err
		}
	}
	t.setTraining(true)
	t.iter.Start(t.progress.Index)
	var lossSum float64
	correct, seen := 0, 0
	for step := 0; t.iter.Next(); step++ {
		if t.ctx != nil && t.ctx.Err() != nil {
			return m, t.ctx.Err()
		}
		b := t.iter.Batch()
		loss, n, err := t.step(b, t.lr(epoch, step))
		if err != nil {
			var div *DivergedError
			if errors.As(err, &div) {
				div.Phase, div.Epoch, div.Step, div.Steps = phase, epoch, step+1, m.Steps
				return m, div
			}
			return m, fmt.Errorf("phase %s, epoch %d, step %d: %w", phase, epoch, step+1, err)
		}
		if f := t.layerStateFault(); f != nil {
			div := f.diverged(loss)
			div.Phase, div.Epoch, div.Step, div.Steps = phase, epoch, step+1, m.Steps
			return m, div
		}
		lossSum += loss * float64(b.Size)
		correct += n
		seen += b.Size
		if t.hooks.Step != nil {
			t.hooks.Step(phase, epoch, step+1, lossSum/float64(seen), float64(correct)/float64(seen))
		}
	}
	m.Seconds = time.Since(start).Seconds()
	m.TrainLoss = lossSum / float64(seen)
	m.TrainAccuracy = float64(correct) / float64(seen)
	if phase != PhaseFloat {
		t.progress.Observed = true
	}
	t.progress.Epoch++
	t.progress.Index++

	ev, err := t.Evaluate()
	if err != nil {
		return m, err
	}
	m.TestLoss, m.TestAccuracy, m.TestTop5, m.EvalSeconds = ev.Loss, ev.Accuracy, ev.Top5, ev.Seconds
	f := t.stateFault()
	switch {
	case isBad(m.TrainLoss):
		f = &stateFault{where: "the epoch's mean training loss", value: m.TrainLoss}
	case isBad(m.TestLoss):
		f = &stateFault{where: "the test loss of the evaluation after the epoch", value: m.TestLoss}
	}
	if f != nil {
		div := f.diverged(m.TrainLoss)
		div.Phase, div.Epoch, div.Step, div.Steps = phase, epoch, m.Steps, m.Steps
		div.During = fmt.Sprintf("epoch %d, after its last step (%d)", epoch, m.Steps)
		return m, div
	}
	t.epochs = append(t.epochs, m)
	if t.hooks.EpochEnd != nil {
		t.hooks.EpochEnd(m)
	}
	if phase == PhaseQAT && t.progress.Epoch == t.cfg.QATEpochs {
		// QAT epochs that only observed measured float accuracies: the
		// quantized one is measured now (measureQuantized does nothing
		// after a quantized epoch).
		if err := t.measureQuantized(); err != nil {
			return m, err
		}
	}
	return m, nil
}

// Evaluate runs the whole test set through the model in evaluation mode
// (batch norm on running statistics, observers and noise off), in the
// layers' current modes, and restores the training flags afterwards.
func (t *Trainer) Evaluate() (Evaluation, error) {
	start := time.Now()
	ev, err := t.evaluate(t.testData)
	ev.Label = "epoch"
	ev.Seconds = time.Since(start).Seconds()
	return ev, err
}

// evaluateAs evaluates and records the result under label.
func (t *Trainer) evaluateAs(label string) (Evaluation, error) {
	ev, err := t.Evaluate()
	if err != nil {
		return ev, err
	}
	ev.Label = label
	if isBad(ev.Loss) {
		f := &stateFault{where: fmt.Sprintf("the test loss of evaluation %q", label), value: ev.Loss}
		div := f.diverged(0)
		div.Phase, div.Epoch, div.During = t.progress.Phase, t.progress.Epoch, fmt.Sprintf("the evaluation %q", label)
		return ev, div
	}
	t.evals = append(t.evals, ev)
	if t.hooks.Evaluated != nil {
		t.hooks.Evaluated(ev)
	}
	return ev, nil
}

func (t *Trainer) hasEvaluation(label string) bool {
	for _, e := range t.evals {
		if e.Label == label {
			return true
		}
	}
	return false
}
