package ops

import (
	"math"
	"runtime"
	"sync"

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
// hist when hist is not nil. Large tensors are split over threads workers
// (threads <= 0: one per core); each counts into its own histogram, added
// to hist at the end.
//
// It computes exactly what quantize.QuantizeValue, InRange and Dequantize
// compute (a test holds it to that), walking the tensor in runs of one
// channel so that the reciprocal scale and zero point are looked up once
// per run instead of per element.
func quantizeTensor(q *quantized, p quantize.Params, values []float32, shape []int, hist *[256]int64, threads int) {
	const minPerWorker = 1 << 16 // below this a goroutine costs more than it saves
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	workers := max(1, min(threads, len(values)/minPerWorker))
	if workers == 1 {
		quantizeRange(q, p, values, shape, hist, 0, len(values))
		return
	}
	hists := make([][256]int64, workers)
	var wg sync.WaitGroup
	for t := 0; t < workers; t++ {
		lo, hi := t*len(values)/workers, (t+1)*len(values)/workers
		var h *[256]int64
		if hist != nil {
			h = &hists[t]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			quantizeRange(q, p, values, shape, h, lo, hi)
		}()
	}
	wg.Wait()
	if hist != nil {
		for t := range hists {
			for i, c := range hists[t] {
				hist[i] += c
			}
		}
	}
}

// quantizeRange quantizes elements [lo, hi) of the tensor.
func quantizeRange(q *quantized, p quantize.Params, values []float32, shape []int, hist *[256]int64, lo, hi int) {
	inner, channels := len(values), 1
	if p.IsPerChannel() {
		inner = 1
		for _, d := range shape[p.Axis+1:] {
			inner *= d
		}
		channels = shape[p.Axis]
	}
	qmin, qmax := float64(p.QMin), float64(p.QMax)
	for start := lo; start < hi; {
		run := start / inner
		end := min((run+1)*inner, hi)
		ch := run % channels
		s, z := p.Scale[ch], p.ZeroPoint[ch]
		inv, zf := 1/s, float64(z)
		for i := start; i < end; i++ {
			// As QuantizeValue: multiply by the float32 reciprocal, round
			// half to even in float64, add the zero point, clamp.
			r := math.RoundToEven(float64(values[i]*inv)) + zf
			c := z // NaN quantizes to the zero point
			in := r >= qmin && r <= qmax
			switch {
			case in:
				c = int32(r)
			case r < qmin:
				c = p.QMin
			case r > qmax:
				c = p.QMax
			}
			if q.codes != nil {
				q.codes[i] = c
			}
			if q.bytes != nil {
				q.bytes[i] = byte(c)
			}
			if q.fq != nil {
				q.fq[i] = float32(c-z) * s
			}
			if q.mask != nil {
				q.mask[i] = in
			}
			if hist != nil {
				hist[byte(c)]++
			}
		}
		start = end
	}
}

// fakeQuant returns the fake-quantized values of a tensor and their
// straight-through masks.
func fakeQuant(p quantize.Params, values []float32, shape []int, hist *[256]int64, threads int) (fq []float32, mask []bool) {
	q := quantized{fq: make([]float32, len(values)), mask: make([]bool, len(values))}
	quantizeTensor(&q, p, values, shape, hist, threads)
	return q.fq, q.mask
}
