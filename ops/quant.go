package ops

import (
	"github.com/goapprox/goapprox/quantize"
)

// quantized is one tensor as the approximate ops see it after quantization.
// Only the slices a caller asked for are filled.
type quantized struct {
	codes []int32   // integer codes in [QMin, QMax]
	bytes []byte    // table indices: code & 0xFF
	fq    []float32 // fake-quantized values (code - zp)·scale
	mask  []bool    // value was inside [QMin, QMax] before clamping
}

// quantizeTensor quantizes a C-order tensor with p, filling the requested
// outputs of q (non-nil slices of len(values)) and adding the code bytes to
// hist when hist is not nil.
func quantizeTensor(q *quantized, p quantize.Params, values []float32, shape []int, hist *[256]int64) {
	inner, channels := 1, 1
	if p.IsPerChannel() {
		for _, d := range shape[p.Axis+1:] {
			inner *= d
		}
		channels = shape[p.Axis]
	}
	for i, v := range values {
		ch := 0
		if channels > 1 {
			ch = (i / inner) % channels
		}
		s, z := p.Scale[ch], p.ZeroPoint[ch]
		c := quantize.QuantizeValue(v, s, z, p.QMin, p.QMax)
		if q.codes != nil {
			q.codes[i] = c
		}
		if q.bytes != nil {
			q.bytes[i] = byte(c)
		}
		if q.fq != nil {
			q.fq[i] = quantize.Dequantize(c, s, z)
		}
		if q.mask != nil {
			q.mask[i] = quantize.InRange(v, s, z, p.QMin, p.QMax)
		}
		if hist != nil {
			hist[byte(c)]++
		}
	}
}

// fakeQuant returns the fake-quantized values of a tensor and their
// straight-through masks.
func fakeQuant(p quantize.Params, values []float32, shape []int, hist *[256]int64) (fq []float32, mask []bool) {
	q := quantized{fq: make([]float32, len(values)), mask: make([]bool, len(values))}
	quantizeTensor(&q, p, values, shape, hist)
	return q.fq, q.mask
}
