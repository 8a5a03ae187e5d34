package ops

import (
	"encoding/binary"
	"math"
	"sync/atomic"

	"github.com/goapprox/goapprox/quantize"
)

// quantized is one tensor as the approximate ops see it after quantization.
// Only the slices a caller asked for (non-nil) are filled.
type quantized struct {
	codes []int32   // integer codes in [QMin, QMax]
	bytes []byte    // table indices: code & 0xFF
	fq    []float32 // fake-quantized values (code - zp)·scale
	mask  []bool    // value was inside [QMin, QMax] before clamping
	// nonFinite is set to 1 (atomically: the workers share it) when a
	// quantized value was NaN or ±Inf.
	nonFinite int32
}

// minQuantPerWorker is the smallest share of a tensor worth a goroutine.
const minQuantPerWorker = 1 << 15

// quantizeTensor quantizes a C-order tensor with p, filling the requested
// outputs of q (non-nil slices of len(values)) and adding the code bytes to
// hist when hist is not nil. Large tensors are split into contiguous ranges
// over threads workers (threads <= 0: one per core); each element is
// computed on its own, so the result does not depend on the split. Each
// worker counts into its own histogram, added to hist at the end.
//
// It computes exactly what quantize.QuantizeValue, InRange and Dequantize
// compute (a test holds it to that), walking the tensor in runs of one
// channel so that the reciprocal scale and zero point are looked up once
// per run instead of per element.
func quantizeTensor(q *quantized, p quantize.Params, values []float32, shape []int, hist *[256]int64, threads int) {
	if hist == nil {
		parallelRanges(len(values), threads, minQuantPerWorker, func(_, lo, hi int) {
			quantizeRange(q, p, values, shape, nil, lo, hi)
		})
		return
	}
	hists := make([][256]int64, resolveThreads(threads))
	parallelRanges(len(values), threads, minQuantPerWorker, func(t, lo, hi int) {
		quantizeRange(q, p, values, shape, &hists[t], lo, hi)
	})
	for t := range hists {
		for i, c := range hists[t] {
			hist[i] += c
		}
	}
}

// quantizeRange quantizes elements [lo, hi) of the tensor.
func quantizeRange(q *quantized, p quantize.Params, values []float32, shape []int, hist *[256]int64, lo, hi int) {
	channelRuns(p, len(values), shape, lo, hi, func(r *codeRange, start, end int) {
		r.quantizeRun(q, values, hist, start, end)
	})
}

// channelRuns calls f for each run of elements of [lo, hi) that share a
// channel's parameters (the whole range when p is per tensor), with that
// channel's codeRange, in order. n is the tensor's length and shape its
// shape.
func channelRuns(p quantize.Params, n int, shape []int, lo, hi int, f func(r *codeRange, start, end int)) {
	inner, channels := n, 1
	if p.IsPerChannel() {
		inner = 1
		for _, d := range shape[p.Axis+1:] {
			inner *= d
		}
		channels = shape[p.Axis]
	}
	for start := lo; start < hi; {
		run := start / inner
		end := min((run+1)*inner, hi)
		ch := run % channels
		r := codeRange{inv: 1 / p.Scale[ch], scale: p.Scale[ch], zp: p.ZeroPoint[ch],
			lo: float64(p.QMin - p.ZeroPoint[ch]), hi: float64(p.QMax - p.ZeroPoint[ch])}
		f(&r, start, end)
		start = end
	}
}

// codeRange holds one channel's parameters in the form the inner loops
// use: the float32 reciprocal of the scale and the code range shifted by
// the zero point.
type codeRange struct {
	inv, scale float32
	zp         int32
	lo, hi     float64 // QMin - zp, QMax - zp
}

// offset returns clamp(roundHalfEven(v·inv), lo, hi) = code - zp, and
// whether v was inside the range; NaN gives 0 (the zero point), outside.
// This is quantize.QuantizeValue and InRange with the zero point moved to
// the bounds, which is exact because the bounds are integers.
func (r *codeRange) offset(v float32) (int32, bool) {
	f := math.RoundToEven(float64(v * r.inv))
	// Branch-free clamp: clamped values are common (ReLU outputs below an
	// unsigned range), so a branch on them would be mispredicted often.
	c := min(max(f, r.lo), r.hi)
	if c != c { // NaN
		return 0, false
	}
	return int32(c), c == f
}

// quantizeVector, where the CPU has one, quantizes the longest prefix of
// src that it can (a multiple of its width) into the non-nil outputs, as
// codeRange.offset does element by element, and returns its length and
// whether all of src was finite.
var quantizeVector func(r *codeRange, src []float32, bytes []byte, fq []float32, mask []bool) (n int, finite bool)

// quantizeRun fills q's requested outputs for elements [lo, hi), which
// share r, and marks q when one of them is not finite. Without codes or a
// histogram the vector loop takes what it can and a scalar loop the rest.
func (r *codeRange) quantizeRun(q *quantized, values []float32, hist *[256]int64, lo, hi int) {
	finite := true
	if hist == nil && q.codes == nil && quantizeVector != nil {
		var b []byte
		var fq []float32
		var mask []bool
		if q.bytes != nil {
			b = q.bytes[lo:hi]
		}
		if q.fq != nil {
			fq = q.fq[lo:hi]
		}
		if q.mask != nil {
			mask = q.mask[lo:hi]
		}
		n, ok := quantizeVector(r, values[lo:hi], b, fq, mask)
		lo += n
		finite = ok
	}
	for i := lo; i < hi; i++ {
		finite = finite && values[i]-values[i] == 0
		c, in := r.offset(values[i])
		code := c + r.zp
		if q.codes != nil {
			q.codes[i] = code
		}
		if q.bytes != nil {
			q.bytes[i] = byte(code)
		}
		if q.fq != nil {
			q.fq[i] = float32(c) * r.scale
		}
		if q.mask != nil {
			q.mask[i] = in
		}
		if hist != nil {
			hist[byte(code)]++
		}
	}
	if !finite {
		atomic.StoreInt32(&q.nonFinite, 1)
	}
}

// codeSum returns the sum of the codes whose table indices are b: the
// index is the code's low byte, read as signed when the codes are.
//
// It adds eight bytes at a time in the 16-bit lanes of a uint64 (each
// training step sums every weight row and, for linear layers, every
// activation row: byte by byte that was a sixth of LeNet-5's fc1). A
// signed byte is its unsigned value with the top bit flipped, minus 128.
func codeSum(b []byte, signed bool) int64 {
	var flip byte
	if signed {
		flip = 0x80
	}
	flips := uint64(flip) * 0x0101010101010101
	const low = 0x00FF00FF00FF00FF
	var s int64
	n := len(b)
	for len(b) >= 8 {
		// Each word adds at most 2·255 to a 16-bit lane: 128 words fit.
		words := min(len(b)/8, 128)
		var lanes uint64
		for i := 0; i < words*8; i += 8 {
			v := binary.LittleEndian.Uint64(b[i:]) ^ flips
			lanes += v&low + (v>>8)&low
		}
		for ; lanes != 0; lanes >>= 16 {
			s += int64(lanes & 0xFFFF)
		}
		b = b[words*8:]
	}
	for _, v := range b {
		s += int64(v ^ flip)
	}
	return s - int64(flip)*int64(n)
}

// grow returns s with length n, reusing its memory when it is large enough.
// The contents are not cleared.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
