package floatkernel

import "github.com/goapprox/goapprox/ops/kernel"

// A convolution whose groups hold one input channel each (depthwise, with
// any channel multiplier) is a sum of shifted, scaled input planes. Run
// through im2col it becomes thousands of 1-row matrix products, which BLAS
// does badly; these direct loops instead walk each output row once, adding
// every kernel tap's input row to it while the row is in the first-level
// cache.

// isDepthwise reports whether every group has exactly one input channel
// and few outputs. With a micro-tile's worth of outputs per group (a first
// layer on one input channel) the packed matrix products win.
func isDepthwise(g kernel.ConvGeom) bool { return g.InPerGroup() == 1 && g.OutPerGroup() < mr }

// tapSpan returns the output columns [lo, hi) whose input column
// ox*StrideW - PadW + kx*DilW lies inside the row, and the input column of
// output column 0 (which may be negative).
func tapSpan(g kernel.ConvGeom, kx int) (lo, hi, off int) {
	ow := g.OutW()
	off = kx*g.DilW - g.PadW
	lo = 0
	if off < 0 {
		lo = (-off + g.StrideW - 1) / g.StrideW
	}
	hi = 0
	if g.W-1-off >= 0 {
		hi = min((g.W-1-off)/g.StrideW+1, ow)
	}
	return lo, max(hi, lo), off
}

// span is the part of an output row that one kernel column reads inside
// the input: outputs [lo, hi) read input columns lo·stride+off onwards.
type span struct{ lo, hi, off int }

func tapSpans(g kernel.ConvGeom) []span {
	s := make([]span, g.KW)
	for kx := range s {
		s[kx].lo, s[kx].hi, s[kx].off = tapSpan(g, kx)
	}
	return s
}

// axpyRow adds a·x[lo·stride+off + i·stride] to y[i] for outputs [lo, hi).
func axpyRow(y, x []float32, a float32, sp span, stride int) {
	if sp.hi <= sp.lo {
		return
	}
	ys := y[sp.lo:sp.hi]
	if stride == 1 {
		xs := x[sp.lo+sp.off:][:len(ys)]
		for i, v := range xs {
			ys[i] += a * v
		}
		return
	}
	ix := sp.lo*stride + sp.off
	for i := range ys {
		ys[i] += a * x[ix]
		ix += stride
	}
}

// scatterRow is axpyRow's adjoint: x[lo·stride+off + i·stride] += a·y[i].
func scatterRow(x, y []float32, a float32, sp span, stride int) {
	if sp.hi <= sp.lo {
		return
	}
	ys := y[sp.lo:sp.hi]
	if stride == 1 {
		xs := x[sp.lo+sp.off:][:len(ys)]
		for i, v := range ys {
			xs[i] += a * v
		}
		return
	}
	ix := sp.lo*stride + sp.off
	for _, v := range ys {
		x[ix] += a * v
		ix += stride
	}
}

// dotRow returns Σ y[i]·x[lo·stride+off + i·stride] over outputs [lo, hi).
func dotRow(y, x []float32, sp span, stride int) float32 {
	if sp.hi <= sp.lo {
		return 0
	}
	ys := y[sp.lo:sp.hi]
	var s float32
	if stride == 1 {
		xs := x[sp.lo+sp.off:][:len(ys)]
		for i, v := range ys {
			s += v * xs[i]
		}
		return s
	}
	ix := sp.lo*stride + sp.off
	for _, v := range ys {
		s += v * x[ix]
		ix += stride
	}
	return s
}

// depthwiseForward computes y for depthwise geometry, one (image, output
// channel) plane per task.
func depthwiseForward(y, x, w []float32, g kernel.ConvGeom, threads int) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	spans := tapSpans(g)
	parallelFor(g.N*g.O, threads, func(task int) {
		n, o := task/g.O, task%g.O
		in := x[(n*g.C+o/og)*g.H*g.W:][:g.H*g.W]
		out := y[(n*g.O+o)*oh*ow:][:oh*ow]
		wo := w[o*g.KH*g.KW:][:g.KH*g.KW]
		for oy := 0; oy < oh; oy++ {
			yrow := out[oy*ow:][:ow]
			clear(yrow)
			for ky := 0; ky < g.KH; ky++ {
				iy := oy*g.StrideH - g.PadH + ky*g.DilH
				if iy < 0 || iy >= g.H {
					continue
				}
				xrow := in[iy*g.W:][:g.W]
				for kx, sp := range spans {
					axpyRow(yrow, xrow, wo[ky*g.KW+kx], sp, g.StrideW)
				}
			}
		}
	})
}

// depthwiseBackwardData computes dx for depthwise geometry, one (image,
// input channel) plane per task, summing that channel's og outputs.
func depthwiseBackwardData(dx, dy, w []float32, g kernel.ConvGeom, threads int) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	spans := tapSpans(g)
	parallelFor(g.N*g.C, threads, func(task int) {
		n, c := task/g.C, task%g.C
		din := dx[(n*g.C+c)*g.H*g.W:][:g.H*g.W]
		clear(din)
		for o := c * og; o < (c+1)*og; o++ {
			dout := dy[(n*g.O+o)*oh*ow:][:oh*ow]
			wo := w[o*g.KH*g.KW:][:g.KH*g.KW]
			for oy := 0; oy < oh; oy++ {
				yrow := dout[oy*ow:][:ow]
				for ky := 0; ky < g.KH; ky++ {
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					if iy < 0 || iy >= g.H {
						continue
					}
					xrow := din[iy*g.W:][:g.W]
					for kx, sp := range spans {
						scatterRow(xrow, yrow, wo[ky*g.KW+kx], sp, g.StrideW)
					}
				}
			}
		}
	})
}

// depthwiseBackwardWeight computes dw for depthwise geometry, one output
// channel per task, so every weight has one writer and a fixed summation
// order: row dots in float32, added over rows and images in float64.
func depthwiseBackwardWeight(dw, dy, x []float32, g kernel.ConvGeom, threads int) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	spans := tapSpans(g)
	taps := g.KH * g.KW
	parallelFor(g.O, threads, func(o int) {
		var sums [64]float64 // per tap; larger kernels use a slice
		s := sums[:0]
		if taps <= len(sums) {
			s = sums[:taps]
		} else {
			s = make([]float64, taps)
		}
		for n := 0; n < g.N; n++ {
			in := x[(n*g.C+o/og)*g.H*g.W:][:g.H*g.W]
			dout := dy[(n*g.O+o)*oh*ow:][:oh*ow]
			for oy := 0; oy < oh; oy++ {
				yrow := dout[oy*ow:][:ow]
				for ky := 0; ky < g.KH; ky++ {
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					if iy < 0 || iy >= g.H {
						continue
					}
					xrow := in[iy*g.W:][:g.W]
					for kx, sp := range spans {
						s[ky*g.KW+kx] += float64(dotRow(yrow, xrow, sp, g.StrideW))
					}
				}
			}
		}
		for i, v := range s {
			dw[o*taps+i] = float32(v)
		}
	})
}
