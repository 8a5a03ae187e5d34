package train

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/errmodel"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/ops/geom"
)

// NoiseLayer is the noise one layer trains with in the noise phase: in
// training its output becomes y + N(0,1)·std(y)·Sigma + Mu, std(y) being
// the std of the batch's output (ops.Noise).
type NoiseLayer struct {
	Layer string `json:"layer"`
	// Table is the multiplier the noise stands in for ("" without one).
	Table string  `json:"table,omitempty"`
	Sigma float64 `json:"sigma"` // relative to std(y)
	Mu    float64 `json:"mu"`    // absolute, in output units
	// SigmaFrom and MuFrom say where the values come from: "config"
	// (NoiseSigma, NoiseMu) or "errmodel" (predicted, see PredictNoise).
	SigmaFrom string `json:"sigma_from"`
	MuFrom    string `json:"mu_from"`
	// The prediction, when there is one: PredictedStd and PredictedMean
	// are the PopulationChannels model's moments of the layer's output
	// error (output units), OutputStd the mean std of the layer's Quantized
	// output over the calibration batches (Sigma = PredictedStd/OutputStd),
	// and GlobalSigma, GlobalMu what the paper's single-histogram model
	// (errmodel.FromState) gives, for comparison.
	PredictedStd  float64 `json:"predicted_std,omitempty"`
	PredictedMean float64 `json:"predicted_mean,omitempty"`
	OutputStd     float64 `json:"output_std,omitempty"`
	GlobalSigma   float64 `json:"global_sigma,omitempty"`
	GlobalMu      float64 `json:"global_mu,omitempty"`
}

// The error model's view of a layer comes from this many training batches
// (those the noise phase's first epoch starts with), of which fieldsPerBatch
// receptive fields each are sampled: 8·64 = 512 fields, the number the
// AGN paper samples.
const (
	noiseCalibrationBatches = 8
	fieldsPerBatch          = 64
)

// enterNoisePhase freezes the observers (after a calibration when they
// never saw data), gives the layers their multipliers (the tables the noise
// stands in for), predicts each layer's noise when the phase is entered
// afresh, and puts the noised layers in Noise mode and the others in
// Quantized mode.
func (t *Trainer) enterNoisePhase(fresh bool) error {
	if err := t.freezeQuantization(); err != nil {
		return err
	}
	if t.cfg.HasApprox() {
		if err := t.applyMultipliers(); err != nil {
			return err
		}
	}
	if fresh || t.noise == nil {
		noise, err := t.PredictNoise()
		if err != nil {
			return err
		}
		t.noise = noise
	}
	if err := t.layers.SetMode(ops.Quantized); err != nil {
		return err
	}
	for _, n := range t.noise {
		l := t.layers.Layer(n.Layer)
		if l == nil {
			return fmt.Errorf("noise for layer %q, which the model does not have", n.Layer)
		}
		if err := l.SetNoise(n.Sigma, n.Mu); err != nil {
			return fmt.Errorf("layer %s: %w", n.Layer, err)
		}
		if err := l.SetMode(ops.Noise); err != nil {
			return err
		}
	}
	return nil
}

// Noise returns the noise phase's per-layer settings (nil before the phase).
func (t *Trainer) Noise() []NoiseLayer { return append([]NoiseLayer(nil), t.noise...) }

// PredictNoise returns the sigma and mu of every layer the noise phase
// noises: the layers that have a multiplier (every layer when the run has
// none, with the configured sigma). Configured values (NoiseSigma, NoiseMu)
// win; the others come from the error model's PopulationChannels prediction
// (errmodel.Predict) for the layer's multiplier, made from the weights' codes
// per output channel and 512 receptive fields sampled from the layer's
// inputs on the first training batches of the next epoch, run in Quantized
// mode with the current (frozen) quantization. Call it with the tables set
// (SetPhase does); it leaves the layers in Quantized mode.
func (t *Trainer) PredictNoise() ([]NoiseLayer, error) {
	var targets []*approxlayer.Layer
	for _, l := range t.layers.Layers() {
		if !t.cfg.HasApprox() || l.Table() != nil {
			targets = append(targets, l)
		}
	}
	c := t.cfg
	var preds []prediction
	if c.HasApprox() && (c.NoiseSigma == nil || c.NoiseMu == nil) {
		var err error
		if preds, err = t.predictErrors(targets); err != nil {
			return nil, err
		}
	}
	out := make([]NoiseLayer, len(targets))
	for i, l := range targets {
		n := NoiseLayer{Layer: l.Name(), SigmaFrom: "config", MuFrom: "config"}
		if tab := l.Table(); tab != nil {
			n.Table = tab.Name()
		}
		if preds != nil {
			p := preds[i]
			n.Sigma, n.Mu, n.SigmaFrom, n.MuFrom = p.sigma, p.mu, "errmodel", "errmodel"
			n.PredictedStd, n.PredictedMean, n.OutputStd = p.std, p.mean, p.outputStd
			n.GlobalSigma, n.GlobalMu = p.globalSigma, p.globalMu
		}
		if c.NoiseSigma != nil {
			n.Sigma, n.SigmaFrom = *c.NoiseSigma, "config"
		}
		if c.NoiseMu != nil {
			n.Mu, n.MuFrom = *c.NoiseMu, "config"
		} else if preds == nil {
			n.Mu = 0 // no multiplier to predict it from
		}
		out[i] = n
	}
	return out, nil
}

// prediction is the error model's result for one layer.
type prediction struct {
	sigma, mu             float64
	std, mean, outputStd  float64
	globalSigma, globalMu float64
}

// layerProbe reads one layer's operands after a forward run.
type layerProbe struct {
	layer  *approxlayer.Layer
	op     *G.Node // the Linear or Conv2d op (its output has no bias)
	x      *G.Node // the op's input
	fields []errmodel.Field
	stdSum float64
}

// predictErrors runs noiseCalibrationBatches training batches forward in
// Quantized mode (batch norm and layers in evaluation, so nothing learns)
// and predicts each layer's output error with errmodel's
// PopulationChannels model. The docs/errmodel.md comparison is why that
// model: the Global model (FromState) sees one activation histogram and
// misses the image-to-image variation of the error, predicting 37-82% of
// the measured std for EvoApprox tables; PopulationChannels is within 6.5%
// on MNIST for every multiplier measured.
func (t *Trainer) predictErrors(layers []*approxlayer.Layer) ([]prediction, error) {
	probes, batches, err := t.probeLayers(layers)
	if err != nil {
		return nil, fmt.Errorf("predicting the noise phase's sigma and mu: %w", err)
	}
	preds := make([]prediction, len(probes))
	for i, p := range probes {
		var err error
		if preds[i], err = p.predict(batches); err != nil {
			return nil, fmt.Errorf("predicting the noise of layer %s: %w", p.layer.Name(), err)
		}
	}
	return preds, nil
}

// probeLayers runs noiseCalibrationBatches training batches forward in
// Quantized mode (batch norm and layers in evaluation, so nothing learns)
// and returns what each layer's probe saw, with the number of batches run.
func (t *Trainer) probeLayers(layers []*approxlayer.Layer) ([]*layerProbe, int, error) {
	probes := make([]*layerProbe, len(layers))
	for i, l := range layers {
		op, x, err := opNode(t.res.Graph, l)
		if err != nil {
			return nil, 0, err
		}
		probes[i] = &layerProbe{layer: l, op: op, x: x}
	}
	if err := t.layers.SetMode(ops.Quantized); err != nil {
		return nil, 0, err
	}
	defer t.evaluationMode()()
	for _, p := range probes {
		p.layer.ResetHistograms()
		p.layer.RecordHistograms(true)
	}
	defer func() {
		for _, p := range probes {
			p.layer.RecordHistograms(false)
		}
	}()

	t.iter.Start(t.progress.Index)
	batches := 0
	for ; batches < noiseCalibrationBatches && t.iter.Next(); batches++ {
		if err := t.bind(t.iter.Batch()); err != nil {
			return nil, 0, err
		}
		err := t.evalVM.RunAll()
		if err == nil {
			for _, p := range probes {
				if err = p.observe(int64(t.cfg.Seed) + int64(batches)); err != nil {
					break
				}
			}
		}
		t.evalVM.Reset()
		if err != nil {
			return nil, 0, err
		}
	}
	return probes, batches, nil
}

// opNode finds a layer's Linear or Conv2d op below its output (which may
// add a bias), where Noise mode adds its noise, and the op's input.
func opNode(g *G.ExprGraph, l *approxlayer.Layer) (op, x *G.Node, err error) {
	stack := []*G.Node{l.Output()}
	seen := map[*G.Node]bool{}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil || seen[n] {
			continue
		}
		seen[n] = true
		switch n.Op().(type) {
		case *ops.LinearOp, *ops.Conv2dOp:
			if ch := children(g, n); len(ch) == 2 && ch[1] == l.Weight() {
				return n, ch[0], nil
			}
		}
		stack = append(stack, children(g, n)...)
	}
	return nil, nil, fmt.Errorf("layer %s: its Linear or Conv2d op was not found below its output", l.Name())
}

// observe samples receptive fields of the layer's input codes and adds the
// std of its output for one batch.
func (p *layerProbe) observe(seed int64) error {
	xNode := p.x
	if xNode.Value() == nil || p.op.Value() == nil {
		return fmt.Errorf("layer %s: no values after the forward run", p.layer.Name())
	}
	x, ok := xNode.Value().Data().([]float32)
	y, ok2 := p.op.Value().Data().([]float32)
	if !ok || !ok2 {
		return fmt.Errorf("layer %s: values are not float32", p.layer.Name())
	}
	s := p.layer.State()
	shape := []int(xNode.Shape())
	codes := make([]int32, len(x))
	s.XParams.Codes(codes, x, shape)
	var fields []errmodel.Field
	var err error
	if p.layer.Kind() == approxlayer.KindConv2d {
		fields, err = errmodel.ConvFields(codes, p.geom(shape), s.XParams.ZeroPoint[0], fieldsPerBatch, seed)
	} else {
		fields, err = errmodel.LinearFields(codes, shape[0], shape[1], fieldsPerBatch, seed)
	}
	if err != nil {
		return err
	}
	p.fields = append(p.fields, fields...)
	p.stdSum += errmodel.Std(y)
	return nil
}

// geom is the convolution's geometry for an input of the given shape.
func (p *layerProbe) geom(x []int) geom.Conv {
	w := []int(p.layer.Weight().Shape())
	a := p.layer.ConvArgs()
	return geom.Conv{
		N: x[0], C: x[1], H: x[2], W: x[3], O: w[0], KH: w[2], KW: w[3],
		StrideH: max(a.Stride[0], 1), StrideW: max(a.Stride[1], 1),
		PadH: a.Pad[0], PadW: a.Pad[1],
		DilH: max(a.Dilation[0], 1), DilW: max(a.Dilation[1], 1),
		Groups: max(a.Groups, 1),
	}
}

// predict turns what the batches showed into the noise's sigma and mu.
func (p *layerProbe) predict(batches int) (prediction, error) {
	model, outStd, err := p.model(batches)
	if err != nil {
		return prediction{}, err
	}
	l := p.layer
	model.Table = l.Table()
	pred, err := errmodel.Predict(model, errmodel.PopulationChannels)
	if err != nil {
		return prediction{}, err
	}
	r := prediction{std: pred.Output.Std, mean: pred.Output.Mean, outputStd: outStd}
	if r.sigma, r.mu, err = errmodel.NoiseParams(pred, outStd); err != nil {
		return prediction{}, err
	}
	if r.globalSigma, r.globalMu, err = errmodel.ForLayer(l, nil, outStd); err != nil {
		return prediction{}, err
	}
	return r, nil
}

// model is the error model's view of the layer from what the batches
// showed (without a table), and the mean std of its output.
func (p *layerProbe) model(batches int) (errmodel.Layer, float64, error) {
	if batches == 0 || len(p.fields) == 0 {
		return errmodel.Layer{}, 0, fmt.Errorf("no calibration batch ran")
	}
	l, s := p.layer, p.layer.State()
	w, ok := l.Weight().Value().Data().([]float32)
	if !ok {
		return errmodel.Layer{}, 0, fmt.Errorf("the weight is not float32")
	}
	wShape := []int(l.Weight().Shape())
	wCodes := make([]int32, len(w))
	s.WParams.Codes(wCodes, w, wShape)
	axis := 0
	if l.Kind() == approxlayer.KindLinear && l.WeightLayout() != ops.OutIn {
		axis = 1
	}
	channels, err := errmodel.ChannelHists(wCodes, wShape, axis)
	if err != nil {
		return errmodel.Layer{}, 0, err
	}
	groups := 1
	if l.Kind() == approxlayer.KindConv2d {
		groups = max(l.ConvArgs().Groups, 1)
	}
	model := errmodel.Layer{FanIn: l.FanIn(), Channels: l.Out(), Groups: groups,
		XParams: s.XParams, WParams: s.WParams, WChannels: channels, Fields: p.fields}
	return model, p.stdSum / float64(batches), nil
}

// reseedNoise gives every layer a noise generator seeded by the run's seed,
// the layer's position and the epoch's index in the run. A *rand.Rand
// cannot be saved, so each noise epoch starts from a state derived from
// what a checkpoint stores, and a resumed run draws the same noise.
func (t *Trainer) reseedNoise(epochIndex int) {
	for i, l := range t.layers.Layers() {
		seed := int64(t.cfg.Seed)*1_000_003 + int64(epochIndex)*1_009 + int64(i) + 1
		l.Reseed(seed)
	}
}
