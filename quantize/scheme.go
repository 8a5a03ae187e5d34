package quantize

import (
	"fmt"
	"math"
)

// Float32Eps is the smallest scale an observer proposes: PyTorch floors
// every scale at torch.finfo(torch.float32).eps (2^-23) so that an all-zero
// tensor still gets a usable, positive scale.
const Float32Eps float32 = 1.0 / (1 << 23)

// Scheme says how the codes of a tensor are formed. The zero value is not
// valid: at least Bits must be set.
//
// A per-tensor scheme has one scale and zero point; a per-channel scheme has
// one per index of Axis. The code range is the full range of the bit width
// (-2^(b-1)..2^(b-1)-1 signed, 0..2^b-1 unsigned) unless CustomRange is set,
// in which case [QMin, QMax] is used; TorchApprox's activations, for
// example, are unsigned 8-bit codes restricted to 0..127.
type Scheme struct {
	Bits      int  `json:"bits"`      // 2..8
	Signed    bool `json:"signed"`    // codes may be negative
	Symmetric bool `json:"symmetric"` // real 0 is the middle code; otherwise affine
	// PerChannel selects one scale and zero point per index of Axis.
	// Axis must be 0 when PerChannel is false.
	PerChannel bool `json:"per_channel"`
	Axis       int  `json:"axis"`
	// CustomRange replaces the bit width's full range by [QMin, QMax]. As
	// in PyTorch, a custom range must contain 0 and lie inside the full
	// range of Bits and Signed.
	CustomRange bool  `json:"custom_range"`
	QMin        int32 `json:"qmin"`
	QMax        int32 `json:"qmax"`
}

// fullRange is the code range of the bit width, ignoring any custom range.
func (s Scheme) fullRange() (qmin, qmax int32) {
	if s.Signed {
		return -(1 << (s.Bits - 1)), 1<<(s.Bits-1) - 1
	}
	return 0, 1<<s.Bits - 1
}

// Range returns the smallest and largest code.
func (s Scheme) Range() (qmin, qmax int32) {
	if s.CustomRange {
		return s.QMin, s.QMax
	}
	return s.fullRange()
}

// Validate reports what is wrong with the scheme, if anything.
func (s Scheme) Validate() error {
	if s.Bits < 2 || s.Bits > 8 {
		return fmt.Errorf("quantize: bit width %d is not supported; use 2..8 (the tables are 8-bit)", s.Bits)
	}
	if s.PerChannel && s.Axis < 0 {
		return fmt.Errorf("quantize: per-channel axis %d is negative; use the index of the channel dimension", s.Axis)
	}
	if !s.PerChannel && s.Axis != 0 {
		return fmt.Errorf("quantize: axis %d given but PerChannel is false; set PerChannel for per-channel parameters", s.Axis)
	}
	if s.CustomRange {
		lo, hi := s.fullRange()
		if s.QMin >= s.QMax {
			return fmt.Errorf("quantize: custom code range [%d, %d] is empty; QMin must be below QMax", s.QMin, s.QMax)
		}
		if s.QMin < lo || s.QMax > hi {
			return fmt.Errorf("quantize: custom code range [%d, %d] exceeds the %s range [%d, %d]", s.QMin, s.QMax, s.typeName(), lo, hi)
		}
		// PyTorch (_ObserverBase._validate_qmin_qmax) insists on this too:
		// real 0 must have an exact code, or zero padding is not zero.
		if s.QMin > 0 || s.QMax < 0 {
			return fmt.Errorf("quantize: custom code range [%d, %d] must contain 0", s.QMin, s.QMax)
		}
	}
	return nil
}

func (s Scheme) typeName() string {
	if s.Signed {
		return fmt.Sprintf("int%d", s.Bits)
	}
	return fmt.Sprintf("uint%d", s.Bits)
}

// String describes the scheme, e.g. "int8 symmetric per-channel(axis 0) [-128,127]".
func (s Scheme) String() string {
	kind := "affine"
	if s.Symmetric {
		kind = "symmetric"
	}
	gran := "per-tensor"
	if s.PerChannel {
		gran = fmt.Sprintf("per-channel(axis %d)", s.Axis)
	}
	lo, hi := s.Range()
	return fmt.Sprintf("%s %s %s [%d,%d]", s.typeName(), kind, gran, lo, hi)
}

// WithAxis returns the scheme made per-channel along axis, e.g. to point a
// preset's weight scheme at a layer's output-channel dimension.
func (s Scheme) WithAxis(axis int) Scheme {
	s.PerChannel = true
	s.Axis = axis
	return s
}

// paramsAxis is the Axis of the Params the scheme produces.
func (s Scheme) paramsAxis() int {
	if s.PerChannel {
		return s.Axis
	}
	return -1
}

// FitsTable reports whether every code of the scheme reads the same when a
// table interprets it with the given signedness. A table indexes a code by
// its low byte, so a signed table axis reads bytes 128..255 as -128..-1 and
// an unsigned axis reads them as 128..255. Codes 0..127 fit either.
func (s Scheme) FitsTable(signed bool) error {
	lo, hi := s.Range()
	if signed && (lo < -128 || hi > 127) {
		return fmt.Errorf("quantize: scheme %s has codes up to %d but the table operand is signed (codes -128..127); "+
			"use a signed scheme or a table with an unsigned operand", s, hi)
	}
	if !signed && lo < 0 {
		return fmt.Errorf("quantize: scheme %s has negative codes down to %d but the table operand is unsigned (codes 0..255); "+
			"use an unsigned scheme or a table with a signed operand", s, lo)
	}
	return nil
}

// ParamsFromMinMax turns observed ranges into quantization parameters, with
// one (min, max) pair per tensor or per channel. It follows PyTorch's
// torch.ao.quantization.observer.UniformQuantizationObserverBase.
// _calculate_qparams step for step, in float32 as PyTorch does:
//
//   - the range is widened to contain 0: min = min(min, 0), max = max(max, 0);
//   - symmetric: scale = max(-min, max) / ((qmax-qmin)/2); the zero point is
//     0 for signed codes, 128 for unsigned 8-bit codes with the full range,
//     and floor((qmin+qmax)/2) for any other unsigned range (PyTorch's
//     "customized qrange" rule: 63 for 0..127, 7 for 4-bit 0..15);
//   - affine: scale = (max-min) / (qmax-qmin), zero point =
//     qmin - roundHalfEven(min/scale), clamped to [qmin, qmax];
//   - every scale is floored at Float32Eps, so an all-zero tensor gets scale
//     2^-23 and the zero point of real 0.
//
// The unsigned symmetric rule depends, as in PyTorch, on whether the range
// was customised: CustomRange 0..255 gives 127 (quant_min=0, quant_max=255
// passed to a PyTorch observer does the same), the default 8-bit range 128.
func (s Scheme) ParamsFromMinMax(min, max []float32) (Params, error) {
	if err := s.Validate(); err != nil {
		return Params{}, err
	}
	if len(min) != len(max) {
		return Params{}, fmt.Errorf("quantize: %d minima but %d maxima", len(min), len(max))
	}
	if len(min) == 0 {
		return Params{}, fmt.Errorf("quantize: no ranges given")
	}
	if !s.PerChannel && len(min) != 1 {
		return Params{}, fmt.Errorf("quantize: per-tensor scheme %s needs one range, got %d", s, len(min))
	}
	qmin, qmax := s.Range()
	p := Params{
		Scale:     make([]float32, len(min)),
		ZeroPoint: make([]int32, len(min)),
		QMin:      qmin,
		QMax:      qmax,
		Axis:      s.paramsAxis(),
	}
	for i := range min {
		lo, hi := min[i], max[i]
		if !isFinite(lo) || !isFinite(hi) {
			return Params{}, fmt.Errorf("quantize: range[%d] = [%g, %g] is not finite", i, lo, hi)
		}
		if lo > hi {
			return Params{}, fmt.Errorf("quantize: range[%d] = [%g, %g] has min above max", i, lo, hi)
		}
		lo, hi = float32(math.Min(float64(lo), 0)), float32(math.Max(float64(hi), 0))
		var scale float32
		var zp int32
		if s.Symmetric {
			amax := hi
			if -lo > amax {
				amax = -lo
			}
			scale = amax / float32(float64(qmax-qmin)/2)
			if !s.Signed {
				if s.Bits == 8 && !s.CustomRange {
					zp = 128
				} else {
					zp = int32(math.Floor(float64(qmin+qmax) / 2))
				}
			}
			scale = maxf(scale, Float32Eps)
		} else {
			scale = (hi - lo) / float32(qmax-qmin)
			scale = maxf(scale, Float32Eps)
			z := float64(qmin) - math.RoundToEven(float64(lo/scale))
			zp = int32(math.Min(math.Max(z, float64(qmin)), float64(qmax)))
		}
		if !isFinite(scale) {
			return Params{}, fmt.Errorf("quantize: range[%d] = [%g, %g] is too wide for float32 scales", i, min[i], max[i])
		}
		p.Scale[i], p.ZeroPoint[i] = scale, zp
	}
	return p, nil
}

// isFinite reports whether v is neither NaN nor ±Inf: its exponent bits
// are not all ones.
func isFinite(v float32) bool { return math.Float32bits(v)&0x7f800000 != 0x7f800000 }

func maxf(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}
