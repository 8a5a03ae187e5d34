package errmodel

import (
	"errors"
	"fmt"
	"math"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// NoiseParams converts a prediction into the parameters of Noise mode, which
// computes y + N(0,1)·std(y)·sigma + mu: sigma = predicted std / outputStd
// (relative), mu = predicted mean (absolute, output units). outputStd is the
// standard deviation of the layer's Quantized output on representative data
// (Std computes it as Noise mode does); Noise mode divides by the std of each
// batch instead, so sigma is exact only for batches of that spread.
func NoiseParams(p Prediction, outputStd float64) (sigma, mu float64, err error) {
	if !(outputStd > 0) || math.IsInf(outputStd, 0) {
		return 0, 0, fmt.Errorf("errmodel: output std %g; it must be positive and finite (measure it on a Quantized run)", outputStd)
	}
	return p.Output.Std / outputStd, p.Output.Mean, nil
}

// FromState returns Noise mode's (sigma, mu) for a layer from its recorded
// histograms (set RecordHistograms and run it in Quantized mode first), its
// quantization parameters and fan-in, with the Global model (the paper's).
// The table t is the multiplier the Noise training stands in for; nil means
// the state's own table.
func FromState(s *ops.LayerState, t *lut.Table, fanIn int, outputStd float64) (sigma, mu float64, err error) {
	if s == nil {
		return 0, 0, errors.New("errmodel: nil layer state")
	}
	if t == nil {
		t = s.Table
	}
	if t == nil {
		return 0, 0, fmt.Errorf("errmodel: layer %q has no table: give the multiplier to model", s.ID)
	}
	l := Layer{
		Table: t, FanIn: fanIn,
		XParams: s.XParams, WParams: s.WParams,
		XHist: countsOf(s.XHist), WHist: countsOf(s.WHist),
	}
	p, err := Predict(l, Global)
	if err != nil {
		return 0, 0, fmt.Errorf("errmodel: layer %q: %w", s.ID, err)
	}
	return NoiseParams(p, outputStd)
}

// ForLayer is FromState for an approxlayer.Layer, whose fan-in it knows;
// set the result with l.SetNoise(sigma, mu).
func ForLayer(l *approxlayer.Layer, t *lut.Table, outputStd float64) (sigma, mu float64, err error) {
	if l == nil {
		return 0, 0, errors.New("errmodel: nil layer")
	}
	s := l.State()
	return FromState(&s, t, l.FanIn(), outputStd)
}

// Std returns the unbiased standard deviation of y, as Noise mode computes
// std(y).
func Std(y []float32) float64 {
	if len(y) < 2 {
		return 0
	}
	var sum float64
	for _, v := range y {
		sum += float64(v)
	}
	mean := sum / float64(len(y))
	var ss float64
	for _, v := range y {
		d := float64(v) - mean
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(y)-1))
}
