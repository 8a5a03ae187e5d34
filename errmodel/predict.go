package errmodel

import (
	"errors"
	"fmt"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/quantize"
)

// Model selects how the operand distributions enter the prediction (see the
// package documentation).
type Model int

const (
	// Global: activations and weights drawn independently from the layer's
	// histograms (the paper's single-distribution model).
	Global Model = iota
	// Channels: the weight codes of each output channel are known exactly;
	// activations drawn from the layer's histogram.
	Channels
	// Population: activations drawn per receptive field, weights from the
	// layer's histogram, fields pooled (the paper's Eq. 15-16).
	Population
	// PopulationChannels: activations per receptive field, weights exact
	// per channel.
	PopulationChannels
)

// Models lists every model, in the order of the constants.
func Models() []Model { return []Model{Global, Channels, Population, PopulationChannels} }

func (m Model) String() string {
	switch m {
	case Global:
		return "global"
	case Channels:
		return "channels"
	case Population:
		return "population"
	case PopulationChannels:
		return "population+channels"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// Field is the activation codes of one receptive field: the K inputs of one
// output position (a row of a linear layer's input, or one conv patch,
// padding included), as a 256-bin count histogram indexed by code & 0xFF.
// Group is the convolution group the patch was read from (0 if ungrouped).
type Field struct {
	Group int
	Hist  [256]float64
}

// Layer is what the model knows about one layer. Histograms have 256 bins
// indexed by code & 0xFF and need not be normalised.
type Layer struct {
	Table *lut.Table
	// FanIn is K, the number of products summed into one output.
	FanIn int
	// Channels is the number of output channels; needed only when neither
	// WChannels nor per-channel WParams give it and Groups > 1.
	Channels int
	// Groups is the number of convolution groups (0 or 1: ungrouped).
	Groups int
	// XParams and WParams are the quantization parameters: the output error
	// of channel o is the accumulator error times XParams.Scale[0]·sw[o].
	XParams, WParams quantize.Params

	// XHist is the layer's activation code histogram (Global, Channels).
	XHist []float64
	// WHist is the layer's weight code histogram (Global, Population). When
	// nil, the sum of WChannels is used.
	WHist []float64
	// WChannels[o] counts the weight codes of output channel o; each must sum
	// to FanIn (Channels, PopulationChannels). ChannelHists builds it.
	WChannels [][]float64
	// Fields are sampled receptive fields (Population, PopulationChannels).
	// LinearFields and ConvFields build them.
	Fields []Field
}

// Prediction is a model's prediction of the output error (Approximate minus
// Quantized output) of a layer, in output units.
type Prediction struct {
	Model Model
	// PerChannel holds the moments of each output channel's error; a single
	// entry when the model sees no difference between channels.
	PerChannel []Moments
	// Output holds the moments over all outputs of the layer, channels
	// pooled with equal weight: what Noise mode's mu and sigma·std(y) stand
	// for.
	Output Moments
}

// Predict returns the prediction of model m for layer l.
func Predict(l Layer, m Model) (Prediction, error) {
	if err := l.check(); err != nil {
		return Prediction{}, err
	}
	e := errorMap(l.Table)
	switch m {
	case Global:
		return l.global(e)
	case Channels:
		return l.channels(e)
	case Population:
		return l.population(e, false)
	case PopulationChannels:
		return l.population(e, true)
	}
	return Prediction{}, fmt.Errorf("errmodel: unknown model %d", int(m))
}

func (l *Layer) check() error {
	if l.Table == nil {
		return errors.New("errmodel: layer has no table")
	}
	if l.FanIn <= 0 {
		return fmt.Errorf("errmodel: fan-in %d; give the number of products per output", l.FanIn)
	}
	if err := l.XParams.Validate(); err != nil {
		return fmt.Errorf("errmodel: activation params: %w", err)
	}
	if l.XParams.IsPerChannel() {
		return errors.New("errmodel: activation params must be per tensor")
	}
	if err := l.WParams.Validate(); err != nil {
		return fmt.Errorf("errmodel: weight params: %w", err)
	}
	if err := fits("activation", l.XParams, l.Table.SignedX()); err != nil {
		return err
	}
	if err := fits("weight", l.WParams, l.Table.SignedW()); err != nil {
		return err
	}
	if l.WParams.IsPerChannel() && l.WChannels != nil && len(l.WChannels) != l.WParams.Channels() {
		return fmt.Errorf("errmodel: %d weight channel histograms but %d per-channel weight scales", len(l.WChannels), l.WParams.Channels())
	}
	if l.Groups > 1 && l.numChannels()%l.Groups != 0 {
		return fmt.Errorf("errmodel: %d output channels do not split into %d groups; set Layer.Channels", l.numChannels(), l.Groups)
	}
	return nil
}

// fits checks that the codes of p index the table axis by their own value,
// so that e(x, w) is read for the right operands.
func fits(what string, p quantize.Params, signed bool) error {
	if signed && (p.QMin < -128 || p.QMax > 127) || !signed && (p.QMin < 0 || p.QMax > 255) {
		return fmt.Errorf("errmodel: %s codes [%d, %d] do not fit the table's %s axis", what, p.QMin, p.QMax, map[bool]string{true: "signed", false: "unsigned"}[signed])
	}
	return nil
}

func (l *Layer) numChannels() int {
	switch {
	case l.WChannels != nil:
		return len(l.WChannels)
	case l.WParams.IsPerChannel():
		return l.WParams.Channels()
	case l.Channels > 0:
		return l.Channels
	}
	return 1
}

// scale returns sx·sw[o], the factor from accumulator units to output units.
func (l *Layer) scale(o int) float64 {
	sw := l.WParams.Scale[0]
	if l.WParams.IsPerChannel() {
		sw = l.WParams.Scale[o]
	}
	return float64(l.XParams.Scale[0]) * float64(sw)
}

// group returns the convolution group of output channel o.
func (l *Layer) group(o int) int {
	if l.Groups <= 1 {
		return 0
	}
	return o / (l.numChannels() / l.Groups)
}

// weightDist returns the layer's normalised weight histogram.
func (l *Layer) weightDist() (*[256]float64, error) {
	if l.WHist != nil {
		return normalise("weight", l.WHist)
	}
	if l.WChannels == nil {
		return nil, errors.New("errmodel: no weight histogram: set WHist or WChannels")
	}
	sum := make([]float64, 256)
	for _, h := range l.WChannels {
		for i, v := range h {
			sum[i] += v
		}
	}
	return normalise("weight", sum)
}

// channelCounts returns WChannels as arrays after checking that each counts
// FanIn weights.
func (l *Layer) channelCounts() ([][256]float64, error) {
	if l.WChannels == nil {
		return nil, errors.New("errmodel: this model needs the weight codes of each channel: set WChannels (see ChannelHists)")
	}
	out := make([][256]float64, len(l.WChannels))
	for o, h := range l.WChannels {
		if len(h) != 256 {
			return nil, fmt.Errorf("errmodel: weight histogram of channel %d has %d bins, want 256", o, len(h))
		}
		var n float64
		for i, v := range h {
			out[o][i] = v
			n += v
		}
		if n != float64(l.FanIn) {
			return nil, fmt.Errorf("errmodel: channel %d counts %g weights but the fan-in is %d", o, n, l.FanIn)
		}
	}
	return out, nil
}

// finish scales per-channel accumulator moments to output units and pools
// them.
func (l *Layer) finish(m Model, acc []mixture) Prediction {
	p := Prediction{Model: m, PerChannel: make([]Moments, len(acc))}
	var all mixture
	for o := range acc {
		a := acc[o].moments()
		s := l.scale(o)
		p.PerChannel[o] = Moments{Mean: a.Mean * s, Std: a.Std * s}
		all.add(p.PerChannel[o].Mean, p.PerChannel[o].Std*p.PerChannel[o].Std)
	}
	p.Output = all.moments()
	return p
}

func (l *Layer) global(e *[lut.Size]float64) (Prediction, error) {
	px, err := normalise("activation", l.XHist)
	if err != nil {
		return Prediction{}, err
	}
	pw, err := l.weightDist()
	if err != nil {
		return Prediction{}, err
	}
	cols := columnMoments(e, px)
	mean, variance := cols.sumRandomWeights(pw, l.FanIn)
	// Every channel has the same accumulator moments; only scales differ.
	n := 1
	if l.WParams.IsPerChannel() {
		n = l.WParams.Channels()
	}
	acc := make([]mixture, n)
	for o := range acc {
		acc[o].add(mean, variance)
	}
	return l.finish(Global, acc), nil
}

func (l *Layer) channels(e *[lut.Size]float64) (Prediction, error) {
	px, err := normalise("activation", l.XHist)
	if err != nil {
		return Prediction{}, err
	}
	hw, err := l.channelCounts()
	if err != nil {
		return Prediction{}, err
	}
	cols := columnMoments(e, px)
	acc := make([]mixture, len(hw))
	for o := range hw {
		acc[o].add(cols.sumOver(&hw[o]))
	}
	return l.finish(Channels, acc), nil
}

func (l *Layer) population(e *[lut.Size]float64, exactWeights bool) (Prediction, error) {
	if len(l.Fields) == 0 {
		return Prediction{}, errors.New("errmodel: this model needs sampled receptive fields: set Fields (see LinearFields, ConvFields)")
	}
	var (
		hw  [][256]float64
		pw  *[256]float64
		err error
	)
	model := Population
	if exactWeights {
		model = PopulationChannels
		hw, err = l.channelCounts()
	} else {
		pw, err = l.weightDist()
	}
	if err != nil {
		return Prediction{}, err
	}
	n := l.numChannels()
	groups := max(l.Groups, 1)
	acc := make([]mixture, n)
	for fi := range l.Fields {
		f := &l.Fields[fi]
		if f.Group < 0 || f.Group >= groups {
			return Prediction{}, fmt.Errorf("errmodel: field %d is in group %d of %d", fi, f.Group, groups)
		}
		px, err := normalise("field", f.Hist[:])
		if err != nil {
			return Prediction{}, fmt.Errorf("errmodel: field %d: %w", fi, err)
		}
		cols := columnMoments(e, px)
		var mean, variance float64
		if !exactWeights {
			mean, variance = cols.sumRandomWeights(pw, l.FanIn)
		}
		for o := range n {
			if l.group(o) != f.Group {
				continue
			}
			if exactWeights {
				mean, variance = cols.sumOver(&hw[o])
			}
			acc[o].add(mean, variance)
		}
	}
	for o := range acc {
		if acc[o].n == 0 {
			return Prediction{}, fmt.Errorf("errmodel: no sampled field in the group of channel %d: sample more fields", o)
		}
	}
	return l.finish(model, acc), nil
}
