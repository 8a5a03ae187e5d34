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

// axpy adds a·x[i] to y[i] for i < len(y); dot returns Σ x[i]·y[i] for
// i < len(x). Vector versions replace these where the CPU has them.
var (
	axpy = func(a float32, x, y []float32) {
		x = x[:len(y)]
		for i, v := range x {
			y[i] += a * v
		}
	}
	dot = func(x, y []float32) float32 {
		y = y[:len(x)]
		var s float32
		for i, v := range x {
			s += v * y[i]
		}
		return s
	}
)

// axpyRow adds a·x[lo·stride+off + i·stride] to y[i] for outputs [lo, hi).
func axpyRow(y, x []float32, a float32, sp span, stride int) {
	if sp.hi <= sp.lo {
		return
	}
	ys := y[sp.lo:sp.hi]
	if stride == 1 {
		axpy(a, x[sp.lo+sp.off:], ys)
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
		axpy(a, ys, x[sp.lo+sp.off:][:len(ys)])
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
	if stride == 1 {
		return dot(ys, x[sp.lo+sp.off:])
	}
	var s float32
	ix := sp.lo*stride + sp.off
	for _, v := range ys {
		s += v * x[ix]
		ix += stride
	}
	return s
}

// With stride 1 the loops run over whole planes instead of rows. The
// input plane is copied into a zero-padded plane (Hp×Wp) and the output is
// computed with the same row stride Wp, its extra columns discarded: then
// every kernel tap is one long axpy (or dot) between the planes shifted by
// a fixed offset, about nine calls per plane instead of nine per row.
type padded struct {
	hp, wp int // padded plane
	l      int // length of the output plane with row stride wp, up to its last valid element
	oh, ow int
}

func paddedGeom(g kernel.ConvGeom) padded {
	hp, wp := g.H+2*g.PadH, g.W+2*g.PadW
	oh, ow := g.OutH(), g.OutW()
	return padded{hp: hp, wp: wp, l: (oh-1)*wp + ow, oh: oh, ow: ow}
}

// shift is the offset of kernel tap (ky, kx) in the padded input plane.
func (p padded) shift(g kernel.ConvGeom, ky, kx int) int { return ky*g.DilH*p.wp + kx*g.DilW }

// fill copies an H×W plane into the middle of the zeroed padded plane.
func (p padded) fill(dst, src []float32, g kernel.ConvGeom) {
	clear(dst)
	for y := 0; y < g.H; y++ {
		copy(dst[(y+g.PadH)*p.wp+g.PadW:][:g.W], src[y*g.W:][:g.W])
	}
}

// spread copies an oh×ow plane into rows of stride wp, zeroing the extra
// columns.
func (p padded) spread(dst, src []float32) {
	for y := 0; y < p.oh; y++ {
		row := dst[y*p.wp:][:p.wp]
		copy(row, src[y*p.ow:][:p.ow])
		clear(row[p.ow:])
	}
}

// depthwiseForward computes y for depthwise geometry, one (image, output
// channel) plane per task.
func depthwiseForward(y, x, w []float32, g kernel.ConvGeom, threads int, ws *Workspace) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	workers := workerCount(g.N*g.O, threads)
	ws.begin(workers)
	if g.StrideH == 1 && g.StrideW == 1 {
		p := paddedGeom(g)
		parallelForWorker(g.N*g.O, workers, func(t, task int) {
			b := &ws.workers[t]
			n, o := task/g.O, task%g.O
			b.col = growFloats(b.col, p.hp*p.wp)
			b.acc = growFloats(b.acc, p.oh*p.wp)
			p.fill(b.col, x[(n*g.C+o/og)*g.H*g.W:][:g.H*g.W], g)
			out := b.acc[:p.l]
			clear(out)
			for ky := 0; ky < g.KH; ky++ {
				for kx := 0; kx < g.KW; kx++ {
					sh := p.shift(g, ky, kx)
					axpy(w[(o*g.KH+ky)*g.KW+kx], b.col[sh:sh+p.l], out)
				}
			}
			yPlane := y[(n*g.O+o)*oh*ow:][:oh*ow]
			for r := 0; r < oh; r++ {
				copy(yPlane[r*ow:][:ow], b.acc[r*p.wp:][:ow])
			}
		})
		return
	}
	spans := tapSpans(g)
	parallelForWorker(g.N*g.O, workers, func(_, task int) {
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
func depthwiseBackwardData(dx, dy, w []float32, g kernel.ConvGeom, threads int, ws *Workspace) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	workers := workerCount(g.N*g.C, threads)
	ws.begin(workers)
	if g.StrideH == 1 && g.StrideW == 1 {
		p := paddedGeom(g)
		parallelForWorker(g.N*g.C, workers, func(t, task int) {
			b := &ws.workers[t]
			n, c := task/g.C, task%g.C
			b.col = growFloats(b.col, p.hp*p.wp) // padded dx
			b.acc = growFloats(b.acc, p.oh*p.wp) // dy with row stride wp
			clear(b.col)
			for o := c * og; o < (c+1)*og; o++ {
				p.spread(b.acc, dy[(n*g.O+o)*oh*ow:][:oh*ow])
				for ky := 0; ky < g.KH; ky++ {
					for kx := 0; kx < g.KW; kx++ {
						sh := p.shift(g, ky, kx)
						axpy(w[(o*g.KH+ky)*g.KW+kx], b.acc[:p.l], b.col[sh:sh+p.l])
					}
				}
			}
			din := dx[(n*g.C+c)*g.H*g.W:][:g.H*g.W]
			for r := 0; r < g.H; r++ {
				copy(din[r*g.W:][:g.W], b.col[(r+g.PadH)*p.wp+g.PadW:])
			}
		})
		return
	}
	spans := tapSpans(g)
	parallelForWorker(g.N*g.C, workers, func(_, task int) {
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
// order: dots in float32 (per plane, or per row with strides), added over
// planes or rows and images in float64.
func depthwiseBackwardWeight(dw, dy, x []float32, g kernel.ConvGeom, threads int, ws *Workspace) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	taps := g.KH * g.KW
	workers := workerCount(g.O, threads)
	ws.begin(workers)
	strided := g.StrideH != 1 || g.StrideW != 1
	p := paddedGeom(g)
	spans := tapSpans(g)
	parallelForWorker(g.O, workers, func(t, o int) {
		b := &ws.workers[t]
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
			if !strided {
				b.col = growFloats(b.col, p.hp*p.wp)
				b.acc = growFloats(b.acc, p.oh*p.wp)
				p.fill(b.col, in, g)
				p.spread(b.acc, dout)
				for ky := 0; ky < g.KH; ky++ {
					for kx := 0; kx < g.KW; kx++ {
						sh := p.shift(g, ky, kx)
						s[ky*g.KW+kx] += float64(dot(b.acc[:p.l], b.col[sh:sh+p.l]))
					}
				}
				continue
			}
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
