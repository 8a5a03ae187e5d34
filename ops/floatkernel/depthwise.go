package floatkernel

import (
	"gonum.org/v1/gonum/blas"

	"github.com/goapprox/goapprox/ops/kernel"
)

// A convolution whose groups hold one input channel each (depthwise, with
// any channel multiplier) is a sum of shifted, scaled input planes. Run
// through im2col it becomes thousands of 1-row matrix products, which BLAS
// does badly; these direct loops walk each kernel tap once over contiguous
// rows instead, as BLAS level-1 calls (axpy, dot) on strided rows.

// isDepthwise reports whether every group has exactly one input channel.
func isDepthwise(g kernel.ConvGeom) bool { return g.InPerGroup() == 1 }

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

// depthwiseForward computes y for depthwise geometry, one (image, output
// channel) plane per task.
func depthwiseForward(impl blas.Float32, y, x, w []float32, g kernel.ConvGeom, threads int) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	parallelFor(g.N*g.O, threads, func(task int) {
		n, o := task/g.O, task%g.O
		in := x[(n*g.C+o/og)*g.H*g.W:][:g.H*g.W]
		out := y[(n*g.O+o)*oh*ow:][:oh*ow]
		clear(out)
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				wv := w[(o*g.KH+ky)*g.KW+kx]
				lo, hi, off := tapSpan(g, kx)
				for oy := 0; oy < oh; oy++ {
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					if iy < 0 || iy >= g.H {
						continue
					}
					xrow, yrow := in[iy*g.W:][:g.W], out[oy*ow:][:ow]
					if hi > lo {
						impl.Saxpy(hi-lo, wv, xrow[lo*g.StrideW+off:], g.StrideW, yrow[lo:], 1)
					}
				}
			}
		}
	})
}

// depthwiseBackwardData computes dx for depthwise geometry, one (image,
// input channel) plane per task, summing that channel's og outputs.
func depthwiseBackwardData(impl blas.Float32, dx, dy, w []float32, g kernel.ConvGeom, threads int) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	parallelFor(g.N*g.C, threads, func(task int) {
		n, c := task/g.C, task%g.C
		din := dx[(n*g.C+c)*g.H*g.W:][:g.H*g.W]
		clear(din)
		for o := c * og; o < (c+1)*og; o++ {
			dout := dy[(n*g.O+o)*oh*ow:][:oh*ow]
			for ky := 0; ky < g.KH; ky++ {
				for kx := 0; kx < g.KW; kx++ {
					wv := w[(o*g.KH+ky)*g.KW+kx]
					lo, hi, off := tapSpan(g, kx)
					for oy := 0; oy < oh; oy++ {
						iy := oy*g.StrideH - g.PadH + ky*g.DilH
						if iy < 0 || iy >= g.H {
							continue
						}
						xrow, yrow := din[iy*g.W:][:g.W], dout[oy*ow:][:ow]
						if hi > lo {
							impl.Saxpy(hi-lo, wv, yrow[lo:], 1, xrow[lo*g.StrideW+off:], g.StrideW)
						}
					}
				}
			}
		}
	})
}

// depthwiseBackwardWeight computes dw for depthwise geometry, one output
// channel per task (so every weight has one writer and a fixed summation
// order).
func depthwiseBackwardWeight(impl blas.Float32, dw, dy, x []float32, g kernel.ConvGeom, threads int) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	parallelFor(g.O, threads, func(o int) {
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				lo, hi, off := tapSpan(g, kx)
				var s float32
				for n := 0; n < g.N; n++ {
					in := x[(n*g.C+o/og)*g.H*g.W:][:g.H*g.W]
					dout := dy[(n*g.O+o)*oh*ow:][:oh*ow]
					for oy := 0; oy < oh; oy++ {
						iy := oy*g.StrideH - g.PadH + ky*g.DilH
						if iy < 0 || iy >= g.H {
							continue
						}
						xrow, yrow := in[iy*g.W:][:g.W], dout[oy*ow:][:ow]
						if hi > lo {
							s += impl.Sdot(hi-lo, yrow[lo:], 1, xrow[lo*g.StrideW+off:], g.StrideW)
						}
					}
				}
				dw[(o*g.KH+ky)*g.KW+kx] = s
			}
		}
	})
}
