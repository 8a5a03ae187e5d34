package ops

import (
	"github.com/goapprox/goapprox/internal/values"
	"github.com/goapprox/goapprox/quantize"
)

// The float64 ops, and linear layers with a vector weight in either dtype,
// run on the generic code of this file and of linearg.go and convg.go:
// plain loops and gonum's BLAS rather than the float32 kernels.
//
// A float64 value is quantized as its float32 rounding is: the scales are
// float32 and quantize.QuantizeValue multiplies by their float32
// reciprocal, so a float64 graph and a float32 graph holding the same
// (float32) values compute the same codes, and so the same integer
// accumulators, bit for bit. The fake-quantized value (code − zp)·scale is
// exact in float64 and rounded once to T.

// quantizedG is one tensor of element type T after quantization. Only the
// slices a caller asked for (non-nil) are filled.
type quantizedG[T values.Float] struct {
	bytes []byte // table indices: code & 0xFF
	fq    []T    // fake-quantized values (code - zp)·scale
	mask  []bool // value was inside [QMin, QMax] before clamping
}

// quantizeG quantizes a C-order tensor with p into the requested outputs
// of q, adding the code bytes to hist when it is not nil, on up to threads
// workers; each element is computed on its own, so the result does not
// depend on the split.
func quantizeG[T values.Float](q *quantizedG[T], p quantize.Params, v []T, shape []int, hist *[256]int64, threads int) {
	if hist == nil {
		parallelRanges(len(v), threads, minQuantPerWorker, func(_, lo, hi int) {
			quantizeRangeG(q, p, v, shape, nil, lo, hi)
		})
		return
	}
	hists := make([][256]int64, resolveThreads(threads))
	parallelRanges(len(v), threads, minQuantPerWorker, func(t, lo, hi int) {
		quantizeRangeG(q, p, v, shape, &hists[t], lo, hi)
	})
	for t := range hists {
		for i, c := range hists[t] {
			hist[i] += c
		}
	}
}

// quantizeRangeG quantizes elements [lo, hi), a channel's run at a time.
func quantizeRangeG[T values.Float](q *quantizedG[T], p quantize.Params, v []T, shape []int, hist *[256]int64, lo, hi int) {
	channelRuns(p, len(v), shape, lo, hi, func(r *codeRange, start, end int) {
		scale := float64(r.scale)
		for i := start; i < end; i++ {
			c, in := r.offset(float32(v[i]))
			code := c + r.zp
			if q.bytes != nil {
				q.bytes[i] = byte(code)
			}
			if q.fq != nil {
				q.fq[i] = T(float64(c) * scale)
			}
			if q.mask != nil {
				q.mask[i] = in
			}
			if hist != nil {
				hist[byte(code)]++
			}
		}
	})
}

// operandG is one input of a run of a generic op after quantization, with
// the identity of the data it came from, so that the gradient ops of the
// same run reuse it instead of quantizing again.
type operandG[T values.Float] struct {
	src    *T
	n      int
	params *quantize.Params
	q      quantizedG[T]

	bytes []byte // backing memory of q, kept between runs
	fq    []T
	mask  []bool
}

// quantize quantizes v with p into the operand's buffers, computing table
// indices, fake-quantized values and masks as asked.
func (o *operandG[T]) quantize(p *quantize.Params, v []T, shape []int, hist *[256]int64, threads int, bytes, fq, mask bool) {
	n := len(v)
	o.q = quantizedG[T]{}
	if bytes {
		o.bytes = grow(o.bytes, n)
		o.q.bytes = o.bytes
	}
	if fq {
		o.fq = grow(o.fq, n)
		o.q.fq = o.fq
	}
	if mask {
		o.mask = grow(o.mask, n)
		o.q.mask = o.mask
	}
	quantizeG(&o.q, *p, v, shape, hist, threads)
	o.src, o.n, o.params = nil, n, p
	if n > 0 {
		o.src = &v[0]
	}
}

// forget marks the operand as holding nothing.
func (o *operandG[T]) forget() { o.src, o.n, o.q = nil, 0, quantizedG[T]{} }

// holds reports whether the operand quantized exactly these data with p
// and kept their fake-quantized values and masks.
func (o *operandG[T]) holds(v []T, p *quantize.Params) bool {
	return o.src != nil && len(v) == o.n && &v[0] == o.src && o.params == p && o.q.mask != nil && o.q.fq != nil
}

// recordG is what a run of a generic op leaves for its gradient ops, beside
// the mode and parameters in the runRecord: the quantized inputs and the
// noise, and scratch memory kept between runs.
type recordG[T values.Float] struct {
	x, w     operandG[T]
	noise    *noiseRec[T]
	noiseBuf noiseRec[T]
	x32, w32 []float32 // float32 copies of float64 inputs for the observers
	col, tmp []T       // convolution scratch: unfolded input, NHWC output
}

// generic returns the record of T's generic runs of rec.
func generic[T values.Float](rec *runRecord) *recordG[T] {
	var z T
	if _, ok := any(z).(float64); ok {
		if rec.g64 == nil {
			rec.g64 = new(recordG[float64])
		}
		return any(rec.g64).(*recordG[T])
	}
	if rec.g32 == nil {
		rec.g32 = new(recordG[float32])
	}
	return any(rec.g32).(*recordG[T])
}

// as32 returns v as float32: itself for float32, else a rounded copy in
// *buf. The observers take float32 (parameters are float32 anyway).
func as32[T values.Float](v []T, buf *[]float32) []float32 {
	if f, ok := any(v).([]float32); ok {
		return f
	}
	*buf = grow(*buf, len(v))
	out := *buf
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// beginG is runRecord.begin for a generic run: the observers see float32
// copies of float64 inputs, made only when they will look.
func beginG[T values.Float](r *runRecord, s *LayerState, x []T, xs []int, w []T, ws []int, wAxis int) (*recordG[T], error) {
	g := generic[T](r)
	var x32, w32 []float32
	if s != nil && s.Training && s.Mode != Float {
		if s.XObserver != nil {
			x32 = as32(x, &g.x32)
		}
		if s.WObserver != nil {
			w32 = as32(w, &g.w32)
		}
	}
	if err := r.begin(s, x32, xs, w32, ws, wAxis, false); err != nil {
		return nil, err
	}
	g.noise = nil
	g.x.forget()
	g.w.forget()
	return g, nil
}

// quantizeInputs quantizes x and w with the recorded parameters: table
// indices when bytes is set, fake-quantized values when fq is set or the
// node has gradient ops, and then the masks too.
func (g *recordG[T]) quantizeInputs(r *runRecord, s *LayerState, x []T, xs []int, w []T, ws []int, bytes, fq bool) {
	var xh, wh *[256]int64
	if s.RecordHistograms {
		xh, wh = &s.XHist, &s.WHist
	}
	keep := r.grads
	g.x.quantize(&r.xp, x, xs, xh, s.threads(), bytes, fq || keep, keep)
	g.w.quantize(&r.wp, w, ws, wh, s.threads(), bytes, fq || keep, keep)
}

// gradInputs returns the fake-quantized x and w with their masks, from the
// forward run when it quantized these very data, computed into own
// otherwise.
func (g *recordG[T]) gradInputs(r *runRecord, x []T, xs []int, w []T, ws []int, own *[2]operandG[T], threads int) (xq, wq quantizedG[T]) {
	get := func(i int, v []T, shape []int, p *quantize.Params, fromRun *operandG[T]) quantizedG[T] {
		if fromRun.holds(v, p) {
			return fromRun.q
		}
		own[i].quantize(p, v, shape, nil, threads, false, true, true)
		return own[i].q
	}
	return get(0, x, xs, &r.xp, &g.x), get(1, w, ws, &r.wp, &g.w)
}

// applyMaskG zeroes the gradient where the value was clamped.
func applyMaskG[T values.Float](g []T, mask []bool, threads int) {
	if mask == nil {
		return
	}
	parallelRanges(len(g), threads, minQuantPerWorker, func(_, lo, hi int) {
		for i, in := range mask[lo:hi] {
			if !in {
				g[lo+i] = 0
			}
		}
	})
}
