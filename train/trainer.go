package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/graph"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/zoo"
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

// EpochMetrics are the results of one training epoch.
type EpochMetrics struct {
	Phase Phase `json:"phase"`
	Epoch int   `json:"epoch"` // 1-based within the phase
	Index int   `json:"index"` // 1-based within the run
	Steps int   `json:"steps"`
	// LR is the learning rate of the epoch's first step.
	LR            float64 `json:"lr"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TestLoss      float64 `json:"test_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
	// Seconds is the training time of the epoch, EvalSeconds that of its
	// test-set evaluation.
	Seconds     float64 `json:"seconds"`
	EvalSeconds float64 `json:"eval_seconds"`
}

// Evaluation is one pass over the full test set.
type Evaluation struct {
	// Label says which evaluation this is: "qat" (Quantized mode, after
	// calibration when there were no QAT epochs), "approx_before" (before
	// approximate fine-tuning) or "epoch".
	Label    string  `json:"label"`
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	Correct  int     `json:"correct"`
	Samples  int     `json:"samples"`
	Seconds  float64 `json:"seconds"`
}

// DivergedError reports a training step whose loss is NaN or infinite,
// or whose gradients or updated parameters hold a NaN or an infinity.
type DivergedError struct {
	Phase Phase
	Epoch int // 1-based within the phase
	Step  int // 1-based within the epoch
	Steps int
	Loss  float64
	// Layer is the first layer, in the order the forward pass runs, whose
	// output (or parameter) holds a NaN or an infinity: "input" for the
	// image batch, "" when none was found. First says where exactly and
	// Value is that value (NaN, +Inf or -Inf).
	Layer string
	First string
	Value string
}

func (e *DivergedError) Error() string {
	var parts []string
	if math.IsNaN(e.Loss) || math.IsInf(e.Loss, 0) || e.First == "" {
		parts = append(parts, fmt.Sprintf("the loss is %v", e.Loss))
	}
	if e.First != "" {
		parts = append(parts, fmt.Sprintf("the first non-finite value (%s) is in %s", e.Value, e.First))
	}
	what := strings.Join(parts, "; ")
	return fmt.Sprintf("training diverged: %s in phase %s, epoch %d, step %d of %d (try a lower learning rate)",
		what, e.Phase, e.Epoch, e.Step, e.Steps)
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

// Trainer holds a model rewritten into approximate layers, its data, the
// compiled machines and the optimizer. It trains epoch by epoch (SetPhase,
// TrainEpoch), evaluates on the full test set (Evaluate), runs the whole
// float -> QAT -> approximate pipeline with checkpoints (Run), and saves and
// restores its complete state (SaveCheckpoint, Restore). A sweep over
// multipliers restores a trained model, calls SetMultipliers and
// SetPhase(PhaseApprox), evaluates and retrains.
//
// A Trainer is not safe for concurrent use.
type Trainer struct {
	cfg       Config
	trainData *dataset.Dataset
	testData  *dataset.Dataset
	net       *zoo.Net
	res       *graph.Result
	layers    *approxlayer.Registry
	tables    tableSet              // by table name, for checkpoints
	byArg     map[string]*lut.Table // by the spec or file that named them

	x, y      *G.Node // the rewritten graph's images and labels
	logits    *G.Node
	cost      *G.Node
	logitsVal G.Value // copy of the logits of the last training run
	params    G.Nodes // every learnable of the rewritten graph
	forward   G.Nodes // the forward pass, in run order (locateNonFinite)
	extra     G.Nodes // learnables outside the approximate layers

	trainVM G.VM
	evalVM  G.VM
	iter    *dataset.Iterator
	opt     *Optimizer
	hooks   Hooks

	xBuf []float32
	yBuf []int

	progress progress
	epochs   []EpochMetrics
	evals    []Evaluation
	// noise is the noise phase's per-layer sigma and mu, set when the
	// phase starts (nil before).
	noise []NoiseLayer
	ctx   context.Context // of RunContext, checked between steps
}

// New loads the data, builds the model, rewrites it into approximate
// layers, adds the loss and its gradients and compiles the machines.
func New(cfg Config, opts ...Option) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, tables: tableSet{}, byArg: map[string]*lut.Table{}}
	for _, o := range opts {
		o(t)
	}
	if err := t.loadData(); err != nil {
		return nil, err
	}
	if err := t.build(); err != nil {
		return nil, err
	}
	if err := t.SetMultipliers(cfg.LUT, cfg.LayerLUTs); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Trainer) loadData() error {
	info, _ := dataset.Lookup(t.cfg.Dataset) // checked by Validate
	if t.trainData == nil || t.testData == nil {
		opts := dataset.Options{Dir: t.cfg.DataDir}
		train, err := dataset.Load(t.cfg.Dataset, dataset.Train, opts)
		if err != nil {
			return err
		}
		test, err := dataset.Load(t.cfg.Dataset, dataset.Test, opts)
		if err != nil {
			return err
		}
		for _, d := range []*dataset.Dataset{train, test} {
			if err := d.NormalizeDefault(); err != nil {
				return err
			}
		}
		t.trainData, t.testData = train, test
	}
	for _, d := range []*dataset.Dataset{t.trainData, t.testData} {
		if d.C != info.C || d.H != info.H || d.W != info.W || d.Classes != info.Classes {
			return fmt.Errorf("data set %s is %dx%dx%d with %d classes, but %s is %dx%dx%d with %d",
				d.Name, d.C, d.H, d.W, d.Classes, info.Name, info.C, info.H, info.W, info.Classes)
		}
	}
	t.trainData = t.trainData.Limit(t.cfg.Limit)
	if t.trainData.Len() < t.cfg.Batch {
		return fmt.Errorf("%d training samples do not fill one batch of %d: lower the batch size", t.trainData.Len(), t.cfg.Batch)
	}
	if t.testData.Len() == 0 {
		return errors.New("the test set is empty")
	}
	return nil
}

func (t *Trainer) build() error {
	cfg := t.cfg
	model, _ := zoo.Lookup(cfg.Model)
	net, err := model.Build(zoo.Input{C: t.trainData.C, H: t.trainData.H, W: t.trainData.W, Classes: t.trainData.Classes}, cfg.Batch, cfg.Seed)
	if err != nil {
		return err
	}
	res, err := graph.Rewrite(net.Graph, graph.Options{Preset: cfg.Quant, Seed: int64(cfg.Seed), FastFloat: true})
	if err != nil {
		return fmt.Errorf("rewriting %s into approximate layers: %w", cfg.Model, err)
	}
	params, err := res.Nodes(net.Params...)
	if err != nil {
		return err
	}
	t.net, t.res, t.layers, t.params = net, res, res.Layers, params
	inLayers := map[*G.Node]bool{}
	for _, n := range res.Layers.Learnables() {
		inLayers[n] = true
	}
	for _, p := range params {
		if !inLayers[p] {
			t.extra = append(t.extra, p)
		}
	}
	for _, l := range res.Layers.Layers() {
		l.State().Threads = cfg.Threads
	}

	t.x = res.Node(net.Input)
	t.logits = res.Node(net.Logits)
	t.y = G.NewVector(res.Graph, tensor.Int, G.WithShape(cfg.Batch), G.WithName("labels"))
	if t.cost, err = nn.SoftmaxCrossEntropy(t.logits, t.y); err != nil {
		return err
	}
	if _, err := G.Grad(t.cost, params...); err != nil {
		return fmt.Errorf("differentiating the loss: %w", err)
	}
	G.Read(t.logits, &t.logitsVal)
	// Evaluation runs only the forward pass: a machine over the subgraph
	// that computes the logits (the nodes, values and op states are shared
	// with the training machine; the two never run at the same time).
	t.evalVM = G.NewTapeMachine(res.Graph.ExactSubgraphRoots(t.logits))
	if t.forward, err = forwardOrder(res.Graph, t.logits); err != nil {
		return err
	}
	// No NaN watch (gorgonia.WithNaNWatch): its scalar scan of every op's
	// output cost a tenth of a LeNet-5 step. Divergence is found from the
	// loss and from the gradients, which the optimizer checks before it
	// changes anything (trainStep); every op of the zoo's graphs, max
	// pooling included, handles NaN without panicking.
	t.trainVM = G.NewTapeMachine(res.Graph, G.BindDualValues(params...))

	if t.iter, err = dataset.NewIterator(t.trainData, cfg.Batch, dataset.IterOptions{Shuffle: true, Seed: cfg.Seed, DropLast: true}); err != nil {
		return err
	}
	t.xBuf = make([]float32, cfg.Batch*t.trainData.SampleSize())
	t.yBuf = make([]int, cfg.Batch)
	t.opt = newOptimizer(cfg.Optimizer)
	return nil
}

// Close releases the machines.
func (t *Trainer) Close() {
	if t.trainVM != nil {
		t.trainVM.Close()
	}
	if t.evalVM != nil {
		t.evalVM.Close()
	}
}

// Config returns the run's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Layers returns the registry of the model's approximate layers.
func (t *Trainer) Layers() *approxlayer.Registry { return t.layers }

// Net returns the model as built, before rewriting (its batch-norm states
// are shared with the rewritten graph).
func (t *Trainer) Net() *zoo.Net { return t.net }

// TrainSamples and TestSamples are the sizes of the data in use.
func (t *Trainer) TrainSamples() int { return t.trainData.Len() }

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

// SetMultipliers loads the multiplier of every layer (lut, may be empty)
// and the per-layer overrides, and records them in the configuration. They
// are applied when the approximate phase starts (SetPhase).
func (t *Trainer) SetMultipliers(lutArg string, perLayer []LayerLUT) error {
	load := func(arg string) (*lut.Table, error) {
		tab, err := LoadTable(arg, t.cfg.Quant)
		if err != nil {
			return nil, err
		}
		if err := t.checkTable(tab); err != nil {
			return nil, fmt.Errorf("multiplier %s: %w", arg, err)
		}
		t.tables[tab.Name()] = tab
		t.byArg[arg] = tab
		return tab, nil
	}
	if lutArg != "" {
		if _, err := load(lutArg); err != nil {
			return err
		}
	}
	for _, ll := range perLayer {
		if _, err := t.layers.Select(ll.Layer); err != nil {
			return fmt.Errorf("-layer-lut %s: %w", ll, err) // the error lists the layers
		}
		if _, err := load(ll.LUT); err != nil {
			return err
		}
	}
	t.cfg.LUT, t.cfg.LayerLUTs = lutArg, append([]LayerLUT(nil), perLayer...)
	return nil
}

// checkTable checks that the table fits the quantization preset.
func (t *Trainer) checkTable(tab *lut.Table) error {
	p := t.layers.Layers()[0].Preset()
	if err := p.Check(tab.SignedX(), tab.SignedW()); err != nil {
		return fmt.Errorf("%w (choose a -quant preset that fits the table: the unsigned preset for unsigned tables such as EvoApprox mul8u)", err)
	}
	return nil
}

// applyMultipliers gives the layers their tables: the table of the last
// matching per-layer override, else the global one; layers left without a
// table stay in Quantized mode.
func (t *Trainer) applyMultipliers() error {
	for _, l := range t.layers.Layers() {
		if err := l.SetTable(nil); err != nil {
			return err
		}
	}
	assign := func(arg string, patterns ...string) error {
		tab, ok := t.byArg[arg]
		if !ok {
			return fmt.Errorf("multiplier %s was not loaded (SetMultipliers)", arg)
		}
		return t.layers.SetTable(tab, patterns...)
	}
	if t.cfg.LUT != "" {
		if err := assign(t.cfg.LUT); err != nil {
			return err
		}
	}
	for _, ll := range t.cfg.LayerLUTs {
		if err := assign(ll.LUT, ll.Layer); err != nil {
			return err
		}
	}
	for _, l := range t.layers.Layers() {
		mode := ops.Quantized
		if l.Table() != nil {
			mode = ops.Approximate
		}
		if err := l.SetMode(mode); err != nil {
			return err
		}
	}
	return nil
}

// SetPhase prepares the layers for a phase: Float mode; Quantized mode with
// the observers running (QAT); for the noise phase, observers frozen and
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
		t.progress.Phase, t.progress.Epoch = p, 0
		t.opt = newOptimizer(t.cfg.Optimizer)
	}
	switch p {
	case PhaseFloat:
		return t.layers.SetMode(ops.Float)
	case PhaseQAT:
		t.layers.UnfreezeObservers()
		return t.layers.SetMode(ops.Quantized)
	case PhaseNoise:
		return t.enterNoisePhase(fresh)
	default:
		if !t.cfg.HasApprox() {
			return errors.New("the approximate phase needs a multiplier (SetMultipliers)")
		}
		if err := t.freezeQuantization(); err != nil {
			return err
		}
		return t.applyMultipliers()
	}
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
	t.net.SetBatchNormTraining(false)
	t.layers.SetTraining(true)
	defer t.layers.SetTraining(false)
	t.iter.Start(0)
	for i := 0; i < calibrationBatches && t.iter.Next(); i++ {
		if err := t.bind(t.iter.Batch()); err != nil {
			return err
		}
		err := t.evalVM.RunAll()
		t.evalVM.Reset()
		if err != nil {
			return fmt.Errorf("calibrating the quantization: %w", err)
		}
	}
	t.progress.Observed = true
	return nil
}

// bind copies a batch into the input nodes, padding a short batch with
// zeros (evaluation counts only its real rows).
func (t *Trainer) bind(b dataset.Batch) error {
	n := copy(t.xBuf, b.Images)
	clear(t.xBuf[n:])
	n = copy(t.yBuf, b.Labels)
	clear(t.yBuf[n:])
	s := t.x.Shape()
	if err := G.Let(t.x, tensor.New(tensor.WithShape(s...), tensor.WithBacking(t.xBuf))); err != nil {
		return err
	}
	return G.Let(t.y, tensor.New(tensor.WithShape(t.cfg.Batch), tensor.WithBacking(t.yBuf)))
}

func (t *Trainer) setTraining(on bool) {
	t.net.SetBatchNormTraining(on)
	t.layers.SetTraining(on)
}

// phaseEpochs is the configured length of a phase.
func (t *Trainer) phaseEpochs(p Phase) int {
	switch p {
	case PhaseFloat:
		return t.cfg.FloatEpochs
	case PhaseQAT:
		return t.cfg.QATEpochs
	case PhaseNoise:
		return t.cfg.NoiseEpochs
	}
	return t.cfg.ApproxEpochs
}

// lr is the learning rate of step (0-based) of epoch (1-based) of the
// current phase.
func (t *Trainer) lr(epoch, step int) float64 {
	base := t.cfg.LR
	if t.progress.Phase == PhaseApprox || t.progress.Phase == PhaseNoise {
		base = t.cfg.approxLR()
	}
	if t.cfg.Schedule != "cosine" {
		return base
	}
	steps := t.iter.Batches()
	total := max(t.phaseEpochs(t.progress.Phase), epoch) * steps
	done := (epoch-1)*steps + step
	return base * 0.5 * (1 + math.Cos(math.Pi*float64(done)/float64(total)))
}

// TrainEpoch trains one epoch of the current phase (see SetPhase), then
// evaluates on the test set and records the metrics. The batch order depends
// only on the seed and the epoch's index in the run. A NaN or infinite loss
// stops it with a *DivergedError, before the update.
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
	t.setTraining(true)
	t.iter.Start(t.progress.Index)
	var lossSum float64
	correct, seen := 0, 0
	for step := 0; t.iter.Next(); step++ {
		if t.ctx != nil && t.ctx.Err() != nil {
			return m, t.ctx.Err()
		}
		b := t.iter.Batch()
		loss, n, err := t.trainStep(b, t.lr(epoch, step))
		if err != nil {
			var div *DivergedError
			if errors.As(err, &div) {
				div.Phase, div.Epoch, div.Step, div.Steps = phase, epoch, step+1, m.Steps
				return m, div
			}
			return m, fmt.Errorf("phase %s, epoch %d, step %d: %w", phase, epoch, step+1, err)
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
	m.TestLoss, m.TestAccuracy, m.EvalSeconds = ev.Loss, ev.Accuracy, ev.Seconds
	t.epochs = append(t.epochs, m)
	if t.hooks.EpochEnd != nil {
		t.hooks.EpochEnd(m)
	}
	return m, nil
}

// trainStep runs one batch forward and backward and updates the weights.
// It returns the batch's mean loss and the number of correct predictions.
// A NaN or infinite loss, or a NaN inside the network, is a
// *DivergedError (with the position left for the caller to fill in) and
// leaves the weights as they were.
func (t *Trainer) trainStep(b dataset.Batch, lr float64) (loss float64, correct int, err error) {
	defer t.trainVM.Reset()
	if err := t.bind(b); err != nil {
		return 0, 0, err
	}
	if err := t.trainVM.RunAll(); err != nil {
		return 0, 0, err
	}
	loss = float64(t.cost.Value().Data().(float32))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, t.diverged(loss)
	}
	_, correct, err = nn.Accuracy(t.logitsVal.Data().([]float32), t.trainData.Classes, b.Labels)
	if err != nil {
		return loss, 0, err
	}
	if err := t.opt.Step(t.params, lr); err != nil {
		var badGrad *nonFiniteGrad
		if errors.As(err, &badGrad) {
			// The forward pass was finite (the loss is), so the first
			// non-finite value of the step is in the backward pass.
			l := layerOfParam(badGrad.name)
			return loss, correct, &DivergedError{Loss: loss, Layer: l, Value: describeValue(badGrad.value),
				First: fmt.Sprintf("the gradient of parameter %s (layer %s)", badGrad.name, l)}
		}
		var bad *nonFiniteParam
		if errors.As(err, &bad) {
			// A NaN weight that quantization clamped to a code never reaches
			// the loss: only the update shows it.
			l := layerOfParam(bad.name)
			return loss, correct, &DivergedError{Loss: loss, Layer: l, Value: describeValue(bad.value),
				First: fmt.Sprintf("parameter %s (layer %s) after its update", bad.name, l)}
		}
		return loss, correct, err
	}
	return loss, correct, nil
}

// diverged builds the error of a step whose loss is not finite, locating
// the first non-finite value of the forward pass.
func (t *Trainer) diverged(loss float64) *DivergedError {
	e := &DivergedError{Loss: loss}
	if layer, where, v, ok := t.locateNonFinite(); ok {
		e.Layer, e.First, e.Value = layer, where, describeValue(v)
	}
	return e
}

// Evaluate runs the whole test set through the model in evaluation mode
// (batch norm on running statistics, observers and noise off), in the
// layers' current modes, and restores the training flags afterwards.
func (t *Trainer) Evaluate() (Evaluation, error) {
	start := time.Now()
	bnTraining := len(t.net.BatchNorms) > 0 && t.net.BatchNorms[0].State.Training
	layerTraining := t.layers.Len() > 0 && t.layers.Layers()[0].Training()
	t.setTraining(false)
	defer func() {
		t.net.SetBatchNormTraining(bnTraining)
		t.layers.SetTraining(layerTraining)
	}()
	it, err := dataset.NewIterator(t.testData, t.cfg.Batch, dataset.IterOptions{})
	if err != nil {
		return Evaluation{}, err
	}
	classes := t.testData.Classes
	ev := Evaluation{Label: "epoch"}
	var lossSum float64
	it.Start(0)
	for it.Next() {
		b := it.Batch()
		if err := t.bind(b); err != nil {
			return ev, err
		}
		err := t.evalVM.RunAll()
		if err != nil {
			t.evalVM.Reset()
			return ev, fmt.Errorf("evaluating: %w", err)
		}
		logits := t.logits.Value().Data().([]float32)[:b.Size*classes]
		_, n, err := nn.Accuracy(logits, classes, b.Labels)
		t.evalVM.Reset()
		if err != nil {
			return ev, err
		}
		ev.Correct += n
		ev.Samples += b.Size
		for i := 0; i < b.Size; i++ {
			lossSum += crossEntropy(logits[i*classes:(i+1)*classes], b.Labels[i])
		}
	}
	ev.Loss = lossSum / float64(ev.Samples)
	ev.Accuracy = float64(ev.Correct) / float64(ev.Samples)
	ev.Seconds = time.Since(start).Seconds()
	return ev, nil
}

// crossEntropy is -log softmax(row)[label], computed stably in float64.
func crossEntropy(row []float32, label int) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(sum) - float64(row[label])
}

// evaluateAs evaluates and records the result under label.
func (t *Trainer) evaluateAs(label string) (Evaluation, error) {
	ev, err := t.Evaluate()
	if err != nil {
		return ev, err
	}
	ev.Label = label
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
