package quantize

import (
	"fmt"
	"math"
)

// Params are the quantization parameters of one tensor: one scale and zero
// point for the whole tensor (Axis < 0) or one per index of Axis.
type Params struct {
	Scale     []float32
	ZeroPoint []int32
	QMin      int32
	QMax      int32
	// Axis is the channel axis of per-channel parameters, or -1 for a
	// per-tensor scale and zero point.
	Axis int
}

// PerTensor returns per-tensor parameters.
func PerTensor(scale float32, zeroPoint, qmin, qmax int32) Params {
	return Params{Scale: []float32{scale}, ZeroPoint: []int32{zeroPoint}, QMin: qmin, QMax: qmax, Axis: -1}
}

// PerChannel returns parameters with one scale and zero point per index of
// axis. The slices are used as given.
func PerChannel(axis int, scale []float32, zeroPoint []int32, qmin, qmax int32) Params {
	return Params{Scale: scale, ZeroPoint: zeroPoint, QMin: qmin, QMax: qmax, Axis: axis}
}

// IsPerChannel reports whether the parameters have one entry per channel.
func (p Params) IsPerChannel() bool { return p.Axis >= 0 }

// Channels returns how many scale/zero-point pairs the parameters hold.
func (p Params) Channels() int { return len(p.Scale) }

// Validate checks that the parameters are usable: matching lengths, finite
// positive scales, an 8-bit code range, and zero points inside it.
func (p Params) Validate() error {
	if len(p.Scale) == 0 {
		return fmt.Errorf("quantize: no scale")
	}
	if len(p.Scale) != len(p.ZeroPoint) {
		return fmt.Errorf("quantize: %d scales but %d zero points", len(p.Scale), len(p.ZeroPoint))
	}
	if p.Axis < 0 && len(p.Scale) != 1 {
		return fmt.Errorf("quantize: per-tensor parameters need one scale, got %d (set Axis for per-channel)", len(p.Scale))
	}
	if p.QMin >= p.QMax || p.QMin < -128 || p.QMax > 255 || (p.QMin < 0 && p.QMax > 127) {
		return fmt.Errorf("quantize: code range [%d, %d] does not fit 8 bits (signed -128..127 or unsigned 0..255)", p.QMin, p.QMax)
	}
	for i, s := range p.Scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("quantize: scale[%d] = %g; scales must be finite and positive", i, s)
		}
		if z := p.ZeroPoint[i]; z < p.QMin || z > p.QMax {
			return fmt.Errorf("quantize: zero point[%d] = %d is outside the code range [%d, %d]", i, z, p.QMin, p.QMax)
		}
	}
	return nil
}

// Signed reports whether codes can be negative.
func (p Params) Signed() bool { return p.QMin < 0 }

// Clone returns a deep copy.
func (p Params) Clone() Params {
	c := p
	c.Scale = append([]float32(nil), p.Scale...)
	c.ZeroPoint = append([]int32(nil), p.ZeroPoint...)
	return c
}

// Code quantizes v with the parameters of channel ch (0 when per tensor).
func (p Params) Code(v float32, ch int) int32 {
	return QuantizeValue(v, p.Scale[ch], p.ZeroPoint[ch], p.QMin, p.QMax)
}

// QuantizeValue returns clamp(roundHalfEven(v/scale) + zp, qmin, qmax).
// Like PyTorch, it multiplies by the float32 reciprocal of the scale, so
// that codes agree bit for bit with TorchApprox. NaN quantizes to the zero
// point.
func QuantizeValue(v, scale float32, zp, qmin, qmax int32) int32 {
	r := float64(v * (1 / scale))
	if r != r { // NaN
		return zp
	}
	r = math.RoundToEven(r)
	// Clamp before converting so that huge values cannot overflow.
	lo, hi := float64(qmin-zp), float64(qmax-zp)
	if r < lo {
		r = lo
	} else if r > hi {
		r = hi
	}
	return int32(r) + zp
}

// InRange reports whether v quantizes without clamping, which is where the
// straight-through estimator passes the gradient.
func InRange(v, scale float32, zp, qmin, qmax int32) bool {
	r := math.RoundToEven(float64(v * (1 / scale)))
	q := r + float64(zp)
	return q >= float64(qmin) && q <= float64(qmax)
}

// Dequantize returns (q - zp) * scale.
func Dequantize(q int32, scale float32, zp int32) float32 { return float32(q-zp) * scale }

// channelRuns returns, for a C-order tensor of the given shape, the length
// of the runs of consecutive elements that share a channel and the number
// of channels: run k belongs to channel k%channels. A per-tensor run is the
// whole tensor.
func (p Params) channelRuns(n int, shape []int) (run, channels int) {
	if p.Axis < 0 {
		return n, 1
	}
	run = 1
	for _, d := range shape[p.Axis+1:] {
		run *= d
	}
	return run, shape[p.Axis]
}

// CheckShape verifies that per-channel parameters fit a tensor shape.
func (p Params) CheckShape(shape []int) error {
	if p.Axis < 0 {
		return nil
	}
	if p.Axis >= len(shape) {
		return fmt.Errorf("quantize: channel axis %d but the tensor has rank %d", p.Axis, len(shape))
	}
	if shape[p.Axis] != len(p.Scale) {
		return fmt.Errorf("quantize: %d channel scales for axis %d of size %d (shape %v)", len(p.Scale), p.Axis, shape[p.Axis], shape)
	}
	return nil
}

// quantize is QuantizeValue with the reciprocal of the scale precomputed,
// also reporting whether v was inside the code range (InRange).
func quantize(v, inv float32, zp, qmin, qmax int32) (q int32, in bool) {
	r := float64(v * inv)
	if r != r { // NaN
		return zp, false
	}
	r = math.RoundToEven(r) + float64(zp)
	in = r >= float64(qmin) && r <= float64(qmax)
	if r < float64(qmin) {
		r = float64(qmin)
	} else if r > float64(qmax) {
		r = float64(qmax)
	}
	return int32(r), in
}

// Codes quantizes a C-order tensor of the given shape into codes. codes must
// have len(values) elements, and per-channel parameters must fit the shape
// (CheckShape).
func (p Params) Codes(codes []int32, values []float32, shape []int) {
	run, channels := p.channelRuns(len(values), shape)
	for start, k := 0, 0; start < len(values) && run > 0; start, k = start+run, k+1 {
		ch := k % channels
		inv, z := 1/p.Scale[ch], p.ZeroPoint[ch]
		end := min(start+run, len(values))
		for i, v := range values[start:end] {
			codes[start+i], _ = quantize(v, inv, z, p.QMin, p.QMax)
		}
	}
}

// FakeQuant writes the quantized-then-dequantized values into out and, when
// mask is not nil, whether each value was inside the code range (where the
// straight-through gradient passes). out may alias values. Per-channel
// parameters must fit the shape (CheckShape).
func (p Params) FakeQuant(out, values []float32, mask []bool, shape []int) {
	run, channels := p.channelRuns(len(values), shape)
	for start, k := 0, 0; start < len(values) && run > 0; start, k = start+run, k+1 {
		ch := k % channels
		s, z := p.Scale[ch], p.ZeroPoint[ch]
		inv := 1 / s
		end := min(start+run, len(values))
		for i, v := range values[start:end] {
			q, in := quantize(v, inv, z, p.QMin, p.QMax)
			if mask != nil {
				mask[start+i] = in
			}
			out[start+i] = Dequantize(q, s, z)
		}
	}
}
