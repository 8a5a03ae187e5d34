package approxlayer

import (
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
	"github.com/goapprox/goapprox/surrogate"
)

// Kind says what a layer computes.
type Kind string

// The layer kinds.
const (
	KindLinear Kind = "linear"
	KindConv2d Kind = "conv2d"
)

// DefaultPreset is the quantization preset of a layer built without
// WithPreset: the reference library's default.
const DefaultPreset = "torchapprox"

// Layer is one quantizable, approximate layer: a linear product or a 2-D
// convolution, its weight and optional bias, and the run-time state its ops
// read on every run.
type Layer struct {
	name   string
	kind   Kind
	preset quantize.Preset
	state  *ops.LayerState
	weight *G.Node
	bias   *G.Node
	output *G.Node // nil until Forward

	layout ops.WeightLayout // linear layers
	conv   ops.ConvArgs     // convolutions

	in, out       int // features (linear) or channels (conv2d)
	fanIn         int
	mulsPerSample int // known after Forward for convolutions
}

// config collects the options of a layer constructor.
type config struct {
	preset   string
	observer string
	seed     int64
	bias     bool
	float64  bool
	gorgonia bool
}

// Option configures a layer constructor.
type Option func(*config)

// WithPreset selects a quantization preset of package quantize by name
// ("signed", "unsigned", "torchapprox"). The default is DefaultPreset.
func WithPreset(name string) Option { return func(c *config) { c.preset = name } }

// WithObserver replaces the preset's observer kinds, for activations and
// weights alike, by kind (see quantize.ObserverKinds).
func WithObserver(kind string) Option { return func(c *config) { c.observer = kind } }

// WithSeed seeds the weight initialisation of NewLinear and NewConv2d and
// the generator of Noise mode. The default seed is 1.
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// WithBias gives a layer built by NewLinear or NewConv2d a learnable bias.
func WithBias() Option { return func(c *config) { c.bias = true } }

// WithFloat64 makes NewLinear and NewConv2d create float64 parameters (the
// same draws as float32 ones, not rounded), for float64 graphs.
func WithFloat64() Option { return func(c *config) { c.float64 = true } }

// WithGorgoniaFloat makes a convolution in Float mode compute as
// gorgonia.Conv2d does, so that its outputs equal gorgonia's bit for bit,
// rather than on the faster float kernels (ops.LayerState.FloatLikeGorgonia).
// Package graph gives it to the layers that replace a gorgonia.Conv2d.
// Linear and float64 layers compute that way anyway.
func WithGorgoniaFloat() Option { return func(c *config) { c.gorgonia = true } }

func makeConfig(opts []Option) config {
	c := config{preset: DefaultPreset, seed: 1}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// newLayer checks the weight node and sets up the layer's state: observers
// of the preset's schemes, the per-channel weight axis pointed at the
// layer's output channels, and weight parameters from the weight's current
// value so that they are usable before the first training run.
//
// A vector weight (a linear layer with one output) is quantized per
// tensor whatever the preset says: it has one output channel.
func newLayer(name string, kind Kind, w *G.Node, wantDims, outAxis int, c config) (*Layer, error) {
	if name == "" {
		return nil, fmt.Errorf("approxlayer: a %s layer needs a name", kind)
	}
	if w == nil {
		return nil, fmt.Errorf("approxlayer: layer %q: nil weight node", name)
	}
	if w.Op() != nil {
		return nil, fmt.Errorf("approxlayer: layer %q: weight %q is computed by %v; a weight must be a learnable input node (NewMatrix, NewTensor)", name, w.Name(), w.Op())
	}
	if w.Dtype() != tensor.Float32 && w.Dtype() != tensor.Float64 {
		return nil, fmt.Errorf("approxlayer: layer %q: weight %q is %v; the approximate ops take float32 or float64", name, w.Name(), w.Dtype())
	}
	vector := kind == KindLinear && w.Dims() == 1
	if w.Dims() != wantDims && !vector {
		want := fmt.Sprint(wantDims)
		if kind == KindLinear {
			want = "2 (or 1: a vector weight, one output)"
		}
		return nil, fmt.Errorf("approxlayer: layer %q: weight %q has shape %v; a %s weight has %s dimensions", name, w.Name(), w.Shape(), kind, want)
	}
	preset, err := quantize.PresetByName(c.preset)
	if err != nil {
		return nil, fmt.Errorf("approxlayer: layer %q: %w", name, err)
	}
	xScheme, wScheme := preset.Activation, preset.Weight
	switch {
	case vector:
		wScheme.PerChannel, wScheme.Axis = false, 0
	case wScheme.PerChannel:
		wScheme = wScheme.WithAxis(outAxis)
	}
	xKind, wKind := preset.ActivationObserver, preset.WeightObserver
	if c.observer != "" {
		xKind, wKind = c.observer, c.observer
	}
	s := ops.NewLayerState(name, c.seed)
	if s.XObserver, err = quantize.NewObserver(xKind, xScheme); err != nil {
		return nil, fmt.Errorf("approxlayer: layer %q: activation observer: %w", name, err)
	}
	if s.WObserver, err = quantize.NewObserver(wKind, wScheme); err != nil {
		return nil, fmt.Errorf("approxlayer: layer %q: weight observer: %w", name, err)
	}
	// Until activations are observed their scale is 1; the code range is
	// the scheme's, so that SetTable can check it against a table.
	qmin, qmax := xScheme.Range()
	s.XParams = quantize.PerTensor(1, 0, qmin, qmax)
	if v, ok := w.Value().(tensor.Tensor); ok {
		if data, ok := weightData(v); ok {
			s.WObserver.Observe(data, v.Shape())
			if s.WParams, err = s.WObserver.Params(); err != nil {
				return nil, fmt.Errorf("approxlayer: layer %q: weight %q: %w", name, w.Name(), err)
			}
		}
	} else {
		qmin, qmax := wScheme.Range()
		s.WParams = quantize.PerTensor(1, 0, qmin, qmax)
		if wScheme.PerChannel {
			return nil, fmt.Errorf("approxlayer: layer %q: weight %q has no value; per-channel weight parameters need one (initialise the weight first)", name, w.Name())
		}
	}
	s.Training = true
	s.FloatLikeGorgonia = c.gorgonia
	return &Layer{name: name, kind: kind, preset: preset, state: s, weight: w}, nil
}

// WrapLinear makes a linear layer around an existing weight node w, (out,
// in) for ops.OutIn or (in, out) for ops.InOut, or a vector (in) for a
// layer with one output (either layout). Apply it with Forward.
func WrapLinear(name string, w *G.Node, layout ops.WeightLayout, opts ...Option) (*Layer, error) {
	c := makeConfig(opts)
	if c.bias {
		return nil, fmt.Errorf("approxlayer: layer %q: WithBias applies to NewLinear and NewConv2d; a wrapped layer's bias stays in the graph", name)
	}
	return wrapLinear(name, w, layout, c)
}

func wrapLinear(name string, w *G.Node, layout ops.WeightLayout, c config) (*Layer, error) {
	outAxis := 0
	switch layout {
	case ops.OutIn:
	case ops.InOut:
		outAxis = 1
	default:
		return nil, fmt.Errorf("approxlayer: layer %q: unknown weight layout %v", name, layout)
	}
	l, err := newLayer(name, KindLinear, w, 2, outAxis, c)
	if err != nil {
		return nil, err
	}
	l.layout = layout
	shape := w.Shape()
	if shape.Dims() == 1 {
		l.out, l.in = 1, shape[0]
	} else {
		l.out, l.in = shape[outAxis], shape[1-outAxis]
	}
	l.fanIn = l.in
	l.mulsPerSample = l.in * l.out
	return l, nil
}

// NewLinear adds a linear layer with in inputs and out outputs to g: a
// weight node "<name>.weight" of shape (out, in) (PyTorch's layout) and,
// with WithBias, a bias "<name>.bias" of shape (out), both drawn, as
// PyTorch does, uniformly from ±1/√in with the seed of WithSeed.
func NewLinear(g *G.ExprGraph, name string, in, out int, opts ...Option) (*Layer, error) {
	if in < 1 || out < 1 {
		return nil, fmt.Errorf("approxlayer: linear layer %q: in = %d and out = %d must be positive", name, in, out)
	}
	c := makeConfig(opts)
	rng := rand.New(rand.NewSource(c.seed))
	bound := 1 / math.Sqrt(float64(in))
	w, err := newParam(g, name+".weight", tensor.Shape{out, in}, bound, rng, c.float64)
	if err != nil {
		return nil, err
	}
	l, err := wrapLinear(name, w, ops.OutIn, c)
	if err != nil {
		return nil, err
	}
	if c.bias {
		if l.bias, err = newParam(g, name+".bias", tensor.Shape{out}, bound, rng, c.float64); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// newParam adds a learnable float32 (or float64) input node drawn
// uniformly from [-bound, bound]. Inputs are identified by name in a
// gorgonia graph, so a name already in use is refused rather than silently
// shared.
func newParam(g *G.ExprGraph, name string, shape tensor.Shape, bound float64, rng *rand.Rand, f64 bool) (*G.Node, error) {
	if g == nil {
		return nil, fmt.Errorf("approxlayer: nil graph")
	}
	if len(g.ByName(name)) > 0 {
		return nil, fmt.Errorf("approxlayer: the graph already has a node named %q; give the layer another name", name)
	}
	if f64 {
		data := make([]float64, shape.TotalSize())
		for i := range data {
			data[i] = (2*rng.Float64() - 1) * bound
		}
		v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
		return G.NewTensor(g, tensor.Float64, shape.Dims(), G.WithShape(shape...), G.WithName(name), G.WithValue(v)), nil
	}
	data := make([]float32, shape.TotalSize())
	for i := range data {
		data[i] = float32((2*rng.Float64() - 1) * bound)
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	return G.NewTensor(g, tensor.Float32, shape.Dims(), G.WithShape(shape...), G.WithName(name), G.WithValue(v)), nil
}

// Forward applies the layer to x and returns its output: (batch, out) for
// a linear layer given x (batch, in) ((batch, 1) for a vector weight), (N, O, Ho, Wo) for a convolution
// given x (N, C, H, W). A layer is applied once: its observers and facts
// describe one input.
func (l *Layer) Forward(x *G.Node) (*G.Node, error) {
	if l.output != nil {
		return nil, fmt.Errorf("approxlayer: layer %q is already applied; make one layer per use", l.name)
	}
	if x == nil {
		return nil, fmt.Errorf("approxlayer: layer %q: nil input", l.name)
	}
	var y *G.Node
	var err error
	switch l.kind {
	case KindLinear:
		y, err = l.forwardLinear(x)
	case KindConv2d:
		y, err = l.forwardConv2d(x)
	}
	if err != nil {
		return nil, err
	}
	l.output = y
	return y, nil
}

// weightData returns a weight's values as float32 for the observer (a
// float64 weight rounded, as the ops quantize it).
func weightData(v tensor.Tensor) ([]float32, bool) {
	switch d := v.Data().(type) {
	case []float32:
		return d, true
	case []float64:
		f := make([]float32, len(d))
		for i, x := range d {
			f[i] = float32(x)
		}
		return f, true
	}
	return nil, false
}

func (l *Layer) forwardLinear(x *G.Node) (*G.Node, error) {
	if s := x.Shape(); x.Dims() != 2 || s[1] != l.in {
		return nil, fmt.Errorf("approxlayer: linear layer %q: input has shape %v; want (batch, %d)", l.name, x.Shape(), l.in)
	}
	y, err := ops.Linear(x, l.weight, l.state, l.layout)
	if err != nil {
		return nil, fmt.Errorf("approxlayer: linear layer %q: %w", l.name, err)
	}
	if l.bias == nil {
		return y, nil
	}
	if y, err = G.BroadcastAdd(y, l.bias, nil, []byte{0}); err != nil {
		return nil, fmt.Errorf("approxlayer: linear layer %q: adding the bias: %w", l.name, err)
	}
	return y, nil
}

// Name returns the layer's name, unique within its registry.
func (l *Layer) Name() string { return l.name }

// Kind returns what the layer computes.
func (l *Layer) Kind() Kind { return l.kind }

// Weight returns the weight node.
func (l *Layer) Weight() *G.Node { return l.weight }

// Bias returns the bias node, or nil.
func (l *Layer) Bias() *G.Node { return l.bias }

// Output returns the node of the layer's result, or nil before Forward.
func (l *Layer) Output() *G.Node { return l.output }

// Learnables returns the weight and, if there is one, the bias.
func (l *Layer) Learnables() G.Nodes {
	if l.bias != nil {
		return G.Nodes{l.weight, l.bias}
	}
	return G.Nodes{l.weight}
}

// State returns a copy of the run-time state the layer's ops read: mode,
// table, quantization parameters and observers, noise, histograms. The copy
// is a snapshot for reading: writing to it changes nothing. Change a layer
// through its setters (SetMode, SetTable, SetQuantParams, SetNoise,
// SetThreads, ...) or the registry's, which check what they are given. The
// quantization parameters are copied; the observers and the table are
// shared with the layer, so an observer read through the snapshot shows its
// current range. The noise generator is left out (Rand is nil): drawing
// from it would change the layer's noise; Reseed restarts it.
func (l *Layer) State() ops.LayerState {
	s := *l.state
	s.XParams, s.WParams = s.XParams.Clone(), s.WParams.Clone()
	s.Rand = nil
	return s
}

// Preset returns the quantization preset the layer was built with.
func (l *Layer) Preset() quantize.Preset { return l.preset }

// In and Out return the input and output features (linear) or channels
// (convolution).
func (l *Layer) In() int  { return l.in }
func (l *Layer) Out() int { return l.out }

// FanIn returns how many products are summed into one output value.
func (l *Layer) FanIn() int { return l.fanIn }

// MulsPerSample returns the multiplications the layer performs for one
// sample. For a convolution it depends on the input size and is 0 until
// Forward.
func (l *Layer) MulsPerSample() int { return l.mulsPerSample }

// Mode returns the layer's current mode.
func (l *Layer) Mode() ops.Mode { return l.state.Mode }

// SetMode switches the layer's mode; it takes effect on the next run.
// Approximate and Surrogate modes need a table (SetTable first).
func (l *Layer) SetMode(m ops.Mode) error {
	if err := l.modeFits(m); err != nil {
		return err
	}
	l.state.Mode = m
	return nil
}

// modeFits checks, without changing anything, that the layer can run in
// mode m.
func (l *Layer) modeFits(m ops.Mode) error {
	if !m.Valid() {
		return fmt.Errorf("approxlayer: layer %q: unknown mode %v", l.name, m)
	}
	if m.NeedsTable() && l.state.Table == nil {
		return fmt.Errorf("approxlayer: layer %q: %v mode needs a table; call SetTable first", l.name, m)
	}
	return nil
}

// Table returns the layer's multiplier table, or nil.
func (l *Layer) Table() *lut.Table { return l.state.Table }

// SetTable sets the multiplier used in Approximate and Surrogate modes,
// after checking that the layer's code ranges fit the table's operand
// signedness. A nil table clears it (not allowed in those modes).
func (l *Layer) SetTable(t *lut.Table) error {
	if t == nil && l.state.Mode.NeedsTable() {
		return fmt.Errorf("approxlayer: layer %q is in %v mode and needs its table; change the mode first", l.name, l.state.Mode)
	}
	if t != nil {
		if err := l.tableFits(t); err != nil {
			return err
		}
	}
	return l.state.SetTable(t)
}

// tableFits checks, without changing anything, that t suits the layer:
// its preset's schemes and its current code ranges.
func (l *Layer) tableFits(t *lut.Table) error {
	if err := l.preset.CheckTable(t); err != nil {
		return fmt.Errorf("approxlayer: layer %q: %w", l.name, err)
	}
	probe := ops.NewLayerState(l.name, 0)
	probe.XParams, probe.WParams = l.state.XParams, l.state.WParams
	return probe.SetTable(t)
}

// Surrogate returns the settings of the layer's error surrogate (Surrogate
// mode).
func (l *Layer) Surrogate() ops.SurrogateSettings { return l.state.Surrogate }

// SetSurrogateRank makes Surrogate mode use the table's error surrogate of
// rank r (0..256; 0 is the exact product alone). With weighted, the fit
// weights codes by the histograms the layer has recorded so far
// (RecordHistograms), copied now; otherwise every code pair counts
// equally. The fit itself happens on the next run in Surrogate mode, or
// at FitSurrogate.
func (l *Layer) SetSurrogateRank(r int, weighted bool) error {
	return l.setSurrogate(ops.SurrogateSettings{Rank: r}, weighted)
}

// SetSurrogateFidelity makes Surrogate mode use the error surrogate of the
// smallest rank that reproduces at least the share target (in (0, 1]) of
// the table's error (surrogate.Spectrum.Fidelity, under the fit's
// weighting). weighted is as for SetSurrogateRank.
func (l *Layer) SetSurrogateFidelity(target float64, weighted bool) error {
	if !(target > 0 && target <= 1) {
		return fmt.Errorf("approxlayer: layer %q: surrogate fidelity target %v must lie in (0, 1]; use SetSurrogateRank(0, ...) for the exact product alone", l.name, target)
	}
	return l.setSurrogate(ops.SurrogateSettings{Fidelity: target}, weighted)
}

func (l *Layer) setSurrogate(set ops.SurrogateSettings, weighted bool) error {
	set, err := l.surrogateSettings(set, weighted)
	if err != nil {
		return err
	}
	l.state.Surrogate = set
	return nil
}

// surrogateSettings completes and checks settings, without changing
// anything: with weighted, it copies the recorded histograms in.
func (l *Layer) surrogateSettings(set ops.SurrogateSettings, weighted bool) (ops.SurrogateSettings, error) {
	if weighted {
		set.Weighted, set.XHist, set.WHist = true, l.state.XHist, l.state.WHist
	}
	if err := set.Validate(); err != nil {
		return set, fmt.Errorf("approxlayer: layer %q: %w", l.name, err)
	}
	return set, nil
}

// FitSurrogate fits the layer's error surrogate now (about 43 ms, then
// cached per table and settings) rather than on the first run, and returns
// it, e.g. to read the rank a fidelity target chose.
func (l *Layer) FitSurrogate() (*surrogate.Surrogate, error) {
	sg, err := l.state.FitSurrogate()
	if err != nil {
		return nil, fmt.Errorf("approxlayer: %w", err)
	}
	return sg, nil
}

// Gradient returns the layer's backward pass.
func (l *Layer) Gradient() ops.Gradient { return l.state.Gradient }

// SetGradient chooses the layer's backward pass: straight-through (the
// default) or the multiplier's own slopes (ops.TableGradient, with a window
// 0..127). Table gradients need Approximate mode wherever the layer's
// gradient ops run: a run of the backward pass in another mode (a training
// step, or an evaluation on the training machine) stops with an error
// naming the layer. A forward-only machine, such as the one the trainer
// evaluates on, ignores the option in any mode.
func (l *Layer) SetGradient(g ops.Gradient) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("approxlayer: layer %q: %w", l.name, err)
	}
	return l.state.SetGradient(g)
}

// Training reports whether the layer is in training.
func (l *Layer) Training() bool { return l.state.Training }

// SetTraining switches between training (observers watch, Noise mode adds
// noise) and evaluation.
func (l *Layer) SetTraining(on bool) { l.state.Training = on }

// SetNoise sets the Noise mode's relative sigma and absolute mu.
func (l *Layer) SetNoise(sigma, mu float64) error {
	if math.IsNaN(sigma) || math.IsInf(sigma, 0) || sigma < 0 || math.IsNaN(mu) || math.IsInf(mu, 0) {
		return fmt.Errorf("approxlayer: layer %q: noise sigma %g and mu %g must be finite and sigma >= 0", l.name, sigma, mu)
	}
	l.state.NoiseSigma, l.state.NoiseMu = sigma, mu
	return nil
}

// Threads returns the bound on the workers of the layer's kernels; 0 means
// all cores.
func (l *Layer) Threads() int { return l.state.Threads }

// SetThreads bounds the workers of the layer's kernels: n >= 1 workers, or
// 0 for all cores. Results do not depend on the count.
func (l *Layer) SetThreads(n int) error {
	if n < 0 {
		return fmt.Errorf("approxlayer: layer %q: %d threads; use 0 for all cores or a positive count", l.name, n)
	}
	l.state.Threads = n
	return nil
}

// Reseed restarts the generator that draws the noise of Noise mode from
// seed, so that a run can draw the same noise again.
func (l *Layer) Reseed(seed int64) { l.state.Rand = rand.New(rand.NewSource(seed)) }

// FreezeObservers stops the observers, so that the quantization parameters
// stay as they are; UnfreezeObservers lets them learn again.
func (l *Layer) FreezeObservers() {
	for _, o := range []quantize.Observer{l.state.XObserver, l.state.WObserver} {
		if o != nil {
			o.Freeze()
		}
	}
}

// UnfreezeObservers lets the observers learn again.
func (l *Layer) UnfreezeObservers() {
	for _, o := range []quantize.Observer{l.state.XObserver, l.state.WObserver} {
		if o != nil {
			o.Unfreeze()
		}
	}
}

// SetQuantParams fixes the activation and weight parameters, for example
// to reproduce a calibration. It removes the layer's observers (a frozen
// observer would still hand the ops its own parameters), so the parameters
// stay fixed from then on.
func (l *Layer) SetQuantParams(x, w quantize.Params) error {
	if err := x.Validate(); err != nil {
		return fmt.Errorf("approxlayer: layer %q: activation params: %w", l.name, err)
	}
	if x.IsPerChannel() {
		return fmt.Errorf("approxlayer: layer %q: activations are quantized per tensor, got axis %d", l.name, x.Axis)
	}
	if err := w.Validate(); err != nil {
		return fmt.Errorf("approxlayer: layer %q: weight params: %w", l.name, err)
	}
	if err := w.CheckShape(l.weight.Shape()); err != nil {
		return fmt.Errorf("approxlayer: layer %q: weight params: %w", l.name, err)
	}
	l.state.XObserver, l.state.WObserver = nil, nil
	l.state.XParams, l.state.WParams = x.Clone(), w.Clone()
	return nil
}

// RecordHistograms turns the counting of integer codes on or off.
func (l *Layer) RecordHistograms(on bool) { l.state.RecordHistograms = on }

// Histograms returns how often each code byte (code & 0xFF) was seen in
// the activations and weights while recording was on, since the layer was
// made or ResetHistograms last cleared them (turning recording off and on
// keeps the counts).
func (l *Layer) Histograms() (x, w [256]int64) { return l.state.XHist, l.state.WHist }

// ResetHistograms zeroes the code histograms.
func (l *Layer) ResetHistograms() { l.state.ResetHistograms() }

func (l *Layer) String() string {
	return fmt.Sprintf("%s %s(in %d, out %d, fan-in %d) %v", l.kind, l.name, l.in, l.out, l.fanIn, l.state.Mode)
}
