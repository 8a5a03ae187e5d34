package ops

import (
	"errors"
	"math"

	"github.com/goapprox/goapprox/quantize"
)

// runRecord is what the forward run of one op node leaves for the gradient
// ops of the same node: the mode and parameters it used (observers may have
// changed the state's), and the noise it added. One record per node keeps
// a layer applied twice in one graph correct.
type runRecord struct {
	ran    bool
	mode   Mode
	xp, wp quantize.Params
	noise  *noiseRecord
}

var errNoForward = errors.New("ops: gradient op ran before its forward op: run the forward pass first (TapeMachine)")

// begin validates the state, runs the observers, and records the mode and
// parameters of this run.
func (r *runRecord) begin(s *LayerState, x []float32, xShape []int, w []float32, wShape []int, wAxis int) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := s.observe(x, xShape, w, wShape); err != nil {
		return err
	}
	if s.Mode != Float {
		// Observers may have produced new parameters: check them again.
		if err := s.Validate(); err != nil {
			return err
		}
		if s.WParams.IsPerChannel() && s.WParams.Axis != wAxis {
			return errWeightAxis(s, wAxis)
		}
		if err := s.WParams.CheckShape(wShape); err != nil {
			return err
		}
	}
	*r = runRecord{ran: true, mode: s.Mode, xp: s.XParams.Clone(), wp: s.WParams.Clone()}
	return nil
}

// noiseRecord holds what the gradient through y = yq + n·std(yq)·sigma + mu
// needs.
type noiseRecord struct {
	sigma     float64
	n         []float32 // the standard normal draws
	yq        []float32 // the output before noise
	mean, std float64
}

// addNoise adds N(0,1)·std(y)·sigma + mu to y in place (std unbiased, like
// torch.std) and returns the record for the gradient.
func addNoise(s *LayerState, y []float32) *noiseRecord {
	rec := &noiseRecord{sigma: s.NoiseSigma, n: make([]float32, len(y)), yq: append([]float32(nil), y...)}
	var sum float64
	for _, v := range y {
		sum += float64(v)
	}
	rec.mean = sum / float64(len(y))
	var ss float64
	for _, v := range y {
		d := float64(v) - rec.mean
		ss += d * d
	}
	if len(y) > 1 {
		rec.std = math.Sqrt(ss / float64(len(y)-1))
	}
	for i := range y {
		rec.n[i] = float32(s.Rand.NormFloat64())
		y[i] = float32(float64(y[i]) + float64(rec.n[i])*rec.std*s.NoiseSigma + s.NoiseMu)
	}
	return rec
}

// backward returns the gradient with respect to yq given the gradient g with
// respect to y: g + sigma·(Σ g·n)·(yq − mean)/((N−1)·std), the second term
// being the flow through std(yq). With a zero std the second term is 0.
func (r *noiseRecord) backward(g []float32) []float32 {
	if r == nil {
		return g
	}
	out := append([]float32(nil), g...)
	if r.std == 0 || r.sigma == 0 {
		return out
	}
	var gn float64
	for i, v := range g {
		gn += float64(v) * float64(r.n[i])
	}
	c := r.sigma * gn / (float64(len(g)-1) * r.std)
	for i := range out {
		out[i] = float32(float64(out[i]) + c*(float64(r.yq[i])-r.mean))
	}
	return out
}
