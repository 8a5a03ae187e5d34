package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"runtime"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/quantize"
)

// LayerState is the mutable run-time state of one approximate layer, shared
// by the layer and its ops and read on every run: changing Mode, the table
// or the parameters takes effect on the next run of the same compiled
// machine.
//
// A LayerState is not safe for concurrent use: do not mutate it while a
// machine that uses it is running, and do not run two machines that share
// it at the same time.
type LayerState struct {
	// ID identifies the layer. It is part of every op's hash, so two layers
	// with different IDs never merge in a graph. Keep it unique per graph.
	ID   string
	Mode Mode
	// Table is the multiplier used in Approximate and Surrogate modes. Set
	// it with SetTable, which checks that the code ranges fit its operand
	// types.
	Table *lut.Table
	// Surrogate chooses the table's error surrogate used in Surrogate mode
	// (rank or fidelity target, code weighting). The fitted surrogate is
	// cached per table and settings (see FitSurrogate).
	Surrogate SurrogateSettings
	// Gradient chooses the backward pass: straight-through (the zero
	// value) or the table's own slopes, which need Approximate mode. Set it
	// with SetGradient, which checks it.
	Gradient Gradient

	// XObserver and WObserver, when not nil, observe the activations and
	// weights on every training run outside Float mode; XParams and WParams
	// are then refreshed from them before quantizing. When nil, XParams and
	// WParams are fixed.
	XObserver, WObserver quantize.Observer
	// XParams quantize the activations (per tensor); WParams the weights
	// (per tensor, or per output channel: axis 0 of OutIn linear weights
	// and of conv weights, axis 1 of InOut linear weights).
	XParams, WParams quantize.Params

	// Training enables observers and noise.
	Training bool
	// NoiseSigma (relative to std(y)) and NoiseMu (absolute) parameterise
	// Noise mode; Rand draws the noise.
	NoiseSigma, NoiseMu float64
	Rand                *rand.Rand

	// Threads bounds the workers of the kernels; 0 means all cores.
	Threads int

	// FloatLikeGorgonia makes a convolution in Float mode compute as
	// gorgonia.Conv2d does (im2col and one BLAS product per group), so that
	// its outputs equal gorgonia's bit for bit, rather than on the faster
	// float kernels. approxlayer.WithGorgoniaFloat sets it (graph.Rewrite
	// does so for the layers that replace a gorgonia.Conv2d). Float64 layers always compute that way; linear
	// layers always make gorgonia.Mul's BLAS call in Float mode.
	FloatLikeGorgonia bool

	// RecordHistograms makes the ops count, in XHist and WHist, the code
	// bytes (code & 0xFF) of every activation and weight quantized in
	// Quantized, Noise, Approximate and Surrogate modes: the error model
	// and histogram-weighted surrogates need them.
	RecordHistograms bool
	XHist, WHist     [256]int64

	prepared   preparedTable
	surrogate  surrogateCache
	gradTables gradientTables
}

// DefaultActivationParams and DefaultWeightParams are TorchApprox's default
// code ranges with a unit scale: activations unsigned affine 0..127, weights
// signed symmetric -128..127. Observers or explicit parameters replace the
// scales before real use.
func DefaultActivationParams() quantize.Params { return quantize.PerTensor(1, 0, 0, 127) }
func DefaultWeightParams() quantize.Params     { return quantize.PerTensor(1, 0, -128, 127) }

// NewLayerState returns the state of a layer in Float mode with default
// parameters and a noise generator seeded with seed.
func NewLayerState(id string, seed int64) *LayerState {
	return &LayerState{
		ID:      id,
		Mode:    Float,
		XParams: DefaultActivationParams(),
		WParams: DefaultWeightParams(),
		Rand:    rand.New(rand.NewSource(seed)),
	}
}

// SetTable sets the multiplier table after checking that the current code
// ranges fit its operand types. A nil table clears it.
func (s *LayerState) SetTable(t *lut.Table) error {
	if t != nil {
		if err := fitsAxis("activation", s.XParams, t.SignedX()); err != nil {
			return fmt.Errorf("ops: layer %q: table %s: %w", s.ID, t.Name(), err)
		}
		if err := fitsAxis("weight", s.WParams, t.SignedW()); err != nil {
			return fmt.Errorf("ops: layer %q: table %s: %w", s.ID, t.Name(), err)
		}
	}
	s.Table = t
	return nil
}

// fitsAxis checks that every code of p is an operand of a table axis of the
// given signedness, so that code & 0xFF indexes the product of that code.
func fitsAxis(what string, p quantize.Params, signed bool) error {
	if signed && (p.QMin < -128 || p.QMax > 127) {
		return fmt.Errorf("%s codes [%d, %d] do not fit the table's signed axis -128..127: use a signed range or an unsigned table", what, p.QMin, p.QMax)
	}
	if !signed && (p.QMin < 0 || p.QMax > 255) {
		return fmt.Errorf("%s codes [%d, %d] do not fit the table's unsigned axis 0..255: use an unsigned range or a signed table", what, p.QMin, p.QMax)
	}
	return nil
}

// Validate reports a state that cannot run in its current mode.
func (s *LayerState) Validate() error {
	if s == nil {
		return errors.New("ops: nil LayerState")
	}
	if !s.Mode.Valid() {
		return fmt.Errorf("ops: layer %q: unknown mode %d", s.ID, int(s.Mode))
	}
	if s.Threads < 0 {
		return fmt.Errorf("ops: layer %q: Threads = %d; use 0 for all cores or a positive count", s.ID, s.Threads)
	}
	if err := s.Gradient.Validate(); err != nil {
		return fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	if s.Mode == Float {
		return nil
	}
	if err := s.XParams.Validate(); err != nil {
		return fmt.Errorf("ops: layer %q: activation params: %w", s.ID, err)
	}
	if s.XParams.IsPerChannel() {
		return fmt.Errorf("ops: layer %q: activations must be quantized per tensor (one scale and zero point), got axis %d", s.ID, s.XParams.Axis)
	}
	if err := s.WParams.Validate(); err != nil {
		return fmt.Errorf("ops: layer %q: weight params: %w", s.ID, err)
	}
	switch s.Mode {
	case Noise:
		if math.IsNaN(s.NoiseSigma) || math.IsInf(s.NoiseSigma, 0) || s.NoiseSigma < 0 || math.IsNaN(s.NoiseMu) || math.IsInf(s.NoiseMu, 0) {
			return fmt.Errorf("ops: layer %q: noise sigma %g and mu %g must be finite, sigma >= 0", s.ID, s.NoiseSigma, s.NoiseMu)
		}
		if s.Training && s.Rand == nil {
			return fmt.Errorf("ops: layer %q: Noise mode in training needs a seeded Rand (use NewLayerState)", s.ID)
		}
	case Approximate, Surrogate:
		if s.Table == nil {
			return fmt.Errorf("ops: layer %q: %v mode needs a table: call SetTable", s.ID, s.Mode)
		}
		if err := fitsAxis("activation", s.XParams, s.Table.SignedX()); err != nil {
			return fmt.Errorf("ops: layer %q: table %s: %w", s.ID, s.Table.Name(), err)
		}
		if err := fitsAxis("weight", s.WParams, s.Table.SignedW()); err != nil {
			return fmt.Errorf("ops: layer %q: table %s: %w", s.ID, s.Table.Name(), err)
		}
		if s.Mode == Surrogate {
			if err := s.Surrogate.Validate(); err != nil {
				return fmt.Errorf("ops: layer %q: %w", s.ID, err)
			}
		}
	}
	return nil
}

// ResetHistograms zeroes XHist and WHist.
func (s *LayerState) ResetHistograms() {
	s.XHist, s.WHist = [256]int64{}, [256]int64{}
}

// threads returns the worker count for the kernels.
func (s *LayerState) threads() int {
	if s == nil || s.Threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return s.Threads
}

// observe feeds x and w to the observers (training, not Float) and refreshes
// the parameters from them.
func (s *LayerState) observe(x []float32, xShape []int, w []float32, wShape []int) error {
	if !s.Training || s.Mode == Float {
		return nil
	}
	if s.XObserver != nil {
		s.XObserver.Observe(x, xShape)
		p, err := s.XObserver.Params()
		if err != nil {
			return fmt.Errorf("ops: layer %q: activation observer: %w", s.ID, err)
		}
		s.XParams = p
	}
	if s.WObserver != nil {
		s.WObserver.Observe(w, wShape)
		p, err := s.WObserver.Params()
		if err != nil {
			return fmt.Errorf("ops: layer %q: weight observer: %w", s.ID, err)
		}
		s.WParams = p
	}
	return nil
}
