package train

import (
	"errors"
	"fmt"
	"math"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/search"
	"github.com/goapprox/goapprox/train/optimizer"
)

// The gradient search of agn-approx (package search) runs on a trainer
// built WithSearch: its graph has a learned noise op after every
// approximate layer's product (before the bias, where Noise mode adds its
// noise), each with a trainable relative sigma, and the loss
// cross_entropy − λ·R(σ). Outside Search the noise is off and λ is 0, so
// the same trainer evaluates and retrains like one built without it, and
// one graph serves every λ of a budget search.

// PhaseSearch labels the metrics of the search's epochs. It is not a phase
// of Run's pipeline: Search trains it on a restored checkpoint.
const PhaseSearch Phase = "search"

// SearchGraphOptions shape the search's graph (WithSearch).
type SearchGraphOptions struct {
	// SigmaMax caps the noise the regulariser rewards (0:
	// search.DefaultSigmaMax).
	SigmaMax float64
}

// WithSearch builds the trainer's graph for the gradient search (Search).
func WithSearch(o SearchGraphOptions) Option {
	return func(t *Trainer) {
		if o.SigmaMax == 0 {
			o.SigmaMax = search.DefaultSigmaMax
		}
		t.searchGraph = &o
	}
}

// searchGraph is the search's part of a trainer's graph.
type searchGraph struct {
	opts    SearchGraphOptions
	seed    uint64
	threads int
	layers  []*approxlayer.Layer
	sigmas  G.Nodes // one-element float32 vectors, trained by Search only
	noise   []*search.LearnedNoiseOp
	lambda  *G.Node
	on      bool // the noise runs in training (during Search)
}

func newSearchGraph(o SearchGraphOptions, seed uint64, threads int) *searchGraph {
	return &searchGraph{opts: o, seed: seed, threads: threads}
}

// noiseSeed is the seed of layer i's noise: a function of the run's seed
// and the layer's position only.
func noiseSeed(seed uint64, i int) uint64 { return seed*0x9E3779B97F4A7C15 + uint64(i) + 1 }

// addNoise is the graph.Options.LayerOutput hook: it puts a learned noise
// with a sigma node of its own after layer l's output y.
func (sg *searchGraph) addNoise(l *approxlayer.Layer, y *G.Node) (*G.Node, error) {
	if y.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("layer %s computes %v; the search trains float32 models", l.Name(), y.Dtype())
	}
	i := len(sg.layers)
	s := G.NewVector(y.Graph(), tensor.Float32, G.WithShape(1), G.WithName("search.sigma("+l.Name()+")"),
		G.WithValue(tensor.New(tensor.WithBacking([]float32{0}), tensor.WithShape(1))))
	out, op, err := search.LearnedNoise(y, s, l.Name(), noiseSeed(sg.seed, i), sg.threads)
	if err != nil {
		return nil, err
	}
	op.SetTraining(false)
	sg.layers = append(sg.layers, l)
	sg.sigmas = append(sg.sigmas, s)
	sg.noise = append(sg.noise, op)
	return out, nil
}

// loss returns xent − λ·R over the layers' sigmas, λ an input node (0 until
// Search sets it).
func (sg *searchGraph) loss(g *G.ExprGraph, xent *G.Node) (*G.Node, error) {
	if len(sg.layers) == 0 {
		return nil, errors.New("the search found no approximate layer to put noise after")
	}
	sg.lambda = G.NewScalar(g, tensor.Float32, G.WithName("search.lambda"), G.WithValue(float32(0)))
	r, err := search.Regulariser(sg.sigmas, sg.ops(), sg.opts.SigmaMax)
	if err != nil {
		return nil, err
	}
	penalty, err := G.Mul(sg.lambda, r)
	if err != nil {
		return nil, err
	}
	return G.Sub(xent, penalty)
}

// ops is each layer's multiplications per sample.
func (sg *searchGraph) ops() []int64 {
	ops := make([]int64, len(sg.layers))
	for i, l := range sg.layers {
		ops[i] = int64(l.MulsPerSample())
	}
	return ops
}

func (sg *searchGraph) setTraining(on bool) {
	if sg == nil {
		return
	}
	for _, op := range sg.noise {
		op.SetTraining(on && sg.on)
	}
}

func (sg *searchGraph) setLambda(v float64) error {
	return G.Let(sg.lambda, G.NewF32(float32(v)))
}

// sigmaValues returns the learned sigmas.
func (sg *searchGraph) sigmaValues() []float64 {
	out := make([]float64, len(sg.sigmas))
	for i, s := range sg.sigmas {
		out[i] = float64(s.Value().Data().([]float32)[0])
	}
	return out
}

// SearchOptions are the settings of one search (Trainer.Search).
type SearchOptions struct {
	// Lambda weighs the regulariser; SigmaInitial is every layer's sigma
	// at the start (both checked by package search).
	Lambda       float64
	SigmaInitial float64
	// Epochs of search training and the learning rate of their schedule
	// (0: the noise phase's rate, Config.ForPhase(PhaseNoise).LR, which is
	// the QAT rate unless the noise phase has settings of its own, as
	// agn-approx trains its noise phase with the QAT optimizer). The
	// optimizer and schedule are the noise phase's too.
	Epochs int
	LR     float64
	// Log, when set, receives a line per epoch with every layer's sigma.
	Log func(string)
}

// SearchResult is what a search learned.
type SearchResult struct {
	Layers  []string
	Ops     []int64 // multiplications per sample
	Sigmas  []float64
	History []search.EpochSigmas
	// Epochs are the metrics of the search epochs (test accuracy with the
	// noise off).
	Epochs []EpochMetrics
}

// Search trains the layers' sigmas with the model's weights for
// o.Epochs epochs on the loss cross_entropy − λ·R (package search), in
// Quantized mode with the quantization frozen as it stands (calibrated
// first if it never saw data), with a fresh optimizer of the configured
// kind (the sigmas, one-element vectors, get no weight decay). Every
// sigma starts at o.SigmaInitial and every noise at its first run, so a
// search from the same restored state repeats bit for bit. The trainer
// must be built WithSearch; call Restore first to start from a checkpoint.
// Afterwards the noise is off, λ is 0, the optimizer is fresh and only
// the model's parameters train: the trainer's checkpoints are those of a
// trainer built without the search.
func (t *Trainer) Search(o SearchOptions) (SearchResult, error) {
	sg := t.search
	if sg == nil {
		return SearchResult{}, errors.New("the trainer was not built for a search: pass train.WithSearch to New")
	}
	if err := search.CheckLambda(o.Lambda); err != nil {
		return SearchResult{}, err
	}
	if err := search.CheckSigmaInitial(o.SigmaInitial, sg.opts.SigmaMax); err != nil {
		return SearchResult{}, err
	}
	if o.Epochs < 1 {
		return SearchResult{}, fmt.Errorf("search epochs %d: the search needs at least one epoch", o.Epochs)
	}
	pc := t.cfg.ForPhase(PhaseNoise)
	lr := o.LR
	if lr == 0 {
		lr = pc.LR
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return SearchResult{}, fmt.Errorf("search learning rate %g must be finite and > 0", lr)
	}
	if err := t.freezeQuantization(); err != nil {
		return SearchResult{}, err
	}
	opt, err := pc.newOptimizer()
	if err != nil {
		return SearchResult{}, err
	}
	t.opt = opt
	for i, s := range sg.sigmas {
		s.Value().Data().([]float32)[0] = float32(o.SigmaInitial)
		sg.noise[i].SetRuns(0)
	}
	if err := sg.setLambda(o.Lambda); err != nil {
		return SearchResult{}, err
	}
	sg.on = true
	model := t.params
	t.params = append(model[:len(model):len(model)], sg.sigmas...)
	defer func() {
		sg.on = false
		sg.setTraining(false)
		_ = sg.setLambda(0)
		t.params = model
		// The search's moments are of no later use, and a checkpoint must
		// hold the model's parameters only.
		if fresh, err := t.cfg.ForPhase(t.progress.Phase).newOptimizer(); err == nil {
			t.opt = fresh
		}
	}()
	res := SearchResult{Ops: sg.ops()}
	for _, l := range sg.layers {
		res.Layers = append(res.Layers, l.Name())
	}
	schedule := pc.schedule()
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		m, err := t.searchEpoch(epoch, o.Epochs, lr, schedule)
		if err != nil {
			return res, err
		}
		sig := sg.sigmaValues()
		res.History = append(res.History, search.EpochSigmas{Epoch: epoch, Sigmas: sig})
		res.Epochs = append(res.Epochs, m)
		if o.Log != nil {
			line := fmt.Sprintf("search epoch %d/%d (lambda %g): loss %.4f, train %.2f%%, test %.2f%% without noise; sigma",
				epoch, o.Epochs, o.Lambda, m.TrainLoss, 100*m.TrainAccuracy, 100*m.TestAccuracy)
			for i, s := range sig {
				line += fmt.Sprintf(" %s=%.4g", res.Layers[i], s)
			}
			o.Log(line)
		}
	}
	res.Sigmas = sg.sigmaValues()
	return res, nil
}

// searchEpoch trains one search epoch and evaluates with the noise off.
// The batch order is that of the run's next epoch after the restored
// state, shifted by the search epoch.
func (t *Trainer) searchEpoch(epoch, epochs int, base float64, schedule optimizer.Schedule) (EpochMetrics, error) {
	m := EpochMetrics{Phase: PhaseSearch, Epoch: epoch, Index: t.progress.Index + epoch, Steps: t.iter.Batches()}
	start := time.Now()
	t.setTraining(true)
	t.iter.Start(t.progress.Index + epoch - 1)
	var lossSum float64
	correct, seen := 0, 0
	for step := 0; t.iter.Next(); step++ {
		if t.ctx != nil && t.ctx.Err() != nil {
			return m, t.ctx.Err()
		}
		b := t.iter.Batch()
		lr := schedule.LR(base, optimizer.Position{Epoch: epoch, Step: step, StepsPerEpoch: m.Steps, Epochs: epochs})
		if step == 0 {
			m.LR = lr
		}
		loss, n, err := t.step(b, lr)
		if err != nil {
			var div *DivergedError
			if errors.As(err, &div) {
				div.Phase, div.Epoch, div.Step, div.Steps = PhaseSearch, epoch, step+1, m.Steps
				return m, div
			}
			return m, fmt.Errorf("search epoch %d, step %d: %w", epoch, step+1, err)
		}
		lossSum += loss * float64(b.Size)
		correct += n
		seen += b.Size
	}
	m.Seconds = time.Since(start).Seconds()
	m.TrainLoss = lossSum / float64(seen)
	m.TrainAccuracy = float64(correct) / float64(seen)
	ev, err := t.Evaluate()
	if err != nil {
		return m, err
	}
	m.TestLoss, m.TestAccuracy, m.EvalSeconds = ev.Loss, ev.Accuracy, ev.Seconds
	return m, nil
}

// SearchFacts measures what matching needs after a search: a calibration
// run with exact products (Quantized mode, noise off) on the training
// batches of the run's next epoch gives each layer's output std and its
// error-model template (fan-in, quantization, weight codes, sampled
// receptive fields), and search.PredictLayer each table's predicted error
// there; with the learned sigmas these are the layers' search.LayerFacts,
// in layer order.
func (t *Trainer) SearchFacts(r SearchResult, tables []*lut.Table) ([]search.LayerFacts, error) {
	if err := search.CheckMultipliers(len(tables)); err != nil {
		return nil, err
	}
	for _, tab := range tables {
		if tab == nil {
			return nil, errors.New("search: a multiplier has no table")
		}
		if err := t.checkTable(tab); err != nil {
			return nil, fmt.Errorf("multiplier %s: %w", tab.Name(), err)
		}
	}
	layers := make([]*approxlayer.Layer, len(r.Layers))
	for i, name := range r.Layers {
		if layers[i] = t.layers.Layer(name); layers[i] == nil {
			return nil, fmt.Errorf("the search names a layer %q the model does not have", name)
		}
	}
	if len(r.Sigmas) != len(layers) || len(r.Ops) != len(layers) {
		return nil, fmt.Errorf("the search result has %d sigmas and %d op counts for %d layers", len(r.Sigmas), len(r.Ops), len(layers))
	}
	probes, batches, err := t.probeLayers(layers)
	if err != nil {
		return nil, fmt.Errorf("calibrating the search's layers: %w", err)
	}
	facts := make([]search.LayerFacts, len(probes))
	for i, p := range probes {
		model, outStd, err := p.model(batches)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", r.Layers[i], err)
		}
		pred, err := search.PredictLayer(model, tables)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", r.Layers[i], err)
		}
		facts[i] = search.LayerFacts{Name: r.Layers[i], Ops: r.Ops[i], Sigma: r.Sigmas[i], OutputStd: outStd, Predicted: pred}
	}
	return facts, nil
}

// SearchMultipliers are the multipliers a search chooses from: Args[i] is
// the spec or table file that loads Tables[i] (SetMultipliers takes it),
// Library their description with costs (search.LibraryOf).
type SearchMultipliers struct {
	Args    []string
	Tables  []*lut.Table
	Library search.Library
}

// SearchOutcome is one λ taken end to end (SearchAssign).
type SearchOutcome struct {
	Search     SearchResult
	Assignment search.Assignment
	// AccuracyBefore is the assigned model's test accuracy in Approximate
	// mode before retraining, AccuracyAfter after the retraining epochs
	// (AccuracyBefore without any).
	AccuracyBefore float64
	AccuracyAfter  float64
	Retrain        []EpochMetrics
}

// SearchAssign takes one λ end to end from checkpoint ck: Restore, Search,
// SearchFacts, search.Match against m.Library, then the assignment's
// multipliers in Approximate mode (the observers stay frozen), an
// evaluation, retrainEpochs epochs of approximate retraining (the
// configuration's approximate-phase rate and schedule) and the accuracy
// after them. The retraining starts from the weights the search trained,
// as agn-approx's approximate phase follows its noise phase.
func (t *Trainer) SearchAssign(ck *Checkpoint, o SearchOptions, m SearchMultipliers, retrainEpochs int) (SearchOutcome, error) {
	var out SearchOutcome
	if len(m.Args) != len(m.Tables) || len(m.Library) != len(m.Tables) {
		return out, fmt.Errorf("%d multiplier arguments, %d tables and %d library entries: they must match", len(m.Args), len(m.Tables), len(m.Library))
	}
	if retrainEpochs < 0 {
		return out, fmt.Errorf("retrain epochs %d must not be negative", retrainEpochs)
	}
	if err := t.Restore(ck); err != nil {
		return out, err
	}
	var err error
	if out.Search, err = t.Search(o); err != nil {
		return out, err
	}
	facts, err := t.SearchFacts(out.Search, m.Tables)
	if err != nil {
		return out, err
	}
	if out.Assignment, err = search.Match(facts, m.Library, search.MatchOptions{}); err != nil {
		return out, err
	}
	var per []LayerLUT
	for _, c := range out.Assignment.Layers {
		per = append(per, LayerLUT{Layer: c.Name, LUT: m.Args[c.Index]})
	}
	if err := t.SetMultipliers("", per); err != nil {
		return out, err
	}
	if err := t.SetPhase(PhaseApprox); err != nil {
		return out, err
	}
	ev, err := t.Evaluate()
	if err != nil {
		return out, err
	}
	out.AccuracyBefore, out.AccuracyAfter = ev.Accuracy, ev.Accuracy
	for i := 0; i < retrainEpochs; i++ {
		em, err := t.TrainEpoch()
		if err != nil {
			return out, fmt.Errorf("approximate retraining, epoch %d: %w", i+1, err)
		}
		out.Retrain = append(out.Retrain, em)
		out.AccuracyAfter = em.TestAccuracy
	}
	return out, nil
}
