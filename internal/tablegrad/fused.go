package tablegrad

import (
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/kernel"
)

// How the fused kernels are fast: a training step needs both gradients,
// and both visit the same products (x, w, dy). One pass reads each
// product's codes and output gradient once and takes both slopes from the
// two 1 KiB rows the activation code fixes (Tables.gx and Tables.gw): the
// data gradient's sum runs in registers along the pass, the weight gradient's
// sums are a row of accumulators in L1 (one per output, for the tap or
// input at hand) that the pass adds to. Summation orders are fixed by the
// shapes alone (the data gradient as in dotAxpy; the weight gradient over
// the batch in order within a fixed chunk of it, then the chunks in order
// in float64), so results do not depend on the thread count.

// GEMMBoth computes what GEMMData and GEMMWeight compute, in one pass over
// the products: dx (m×k) and dw (n×k, or k×n with inOut). It returns what
// the references return up to float32 rounding (not the bits of the
// separate functions: the sums run in another order), the same bits for
// every thread count.
func GEMMBoth(dx, dw, dy []float32, x, w []byte, m, n, k int, inOut bool, t *Tables, q *Quant, threads int, ws *Workspace) error {
	if err := checkGEMM("GEMMBoth", dx, m*k, "m*k", dy, x, w, m, n, k, t != nil); err != nil {
		return err
	}
	if err := checkGEMM("GEMMBoth", dw, n*k, "n*k", dy, x, w, m, n, k, true); err != nil {
		return err
	}
	j := ws.gemmJob()
	defer ws.doneGEMM(j)
	p, err := resolve(q, n, j.sw, j.zw)
	j.sw, j.zw = p.sw, p.zw
	if err != nil {
		return err
	}
	if k == 0 || n == 0 && m == 0 {
		return nil
	}
	j.t, j.p, j.out, j.dy, j.x, j.w, j.m, j.n, j.k, j.inOut = t, p, dx, dy, x, w, m, n, k, inOut
	j.dw = dw
	j.codesT = grow(j.codesT, k*n)
	transposeBytes(j.codesT, w, n, k)
	// The output gradient scaled per output, its per-row zero-point share
	// for dx and its per-output sums for dw's.
	j.dyT = grow(j.dyT, m*n)
	j.rowCorr = grow(j.rowCorr, m)
	j.colSum = grow(j.colSum, n)
	clear(j.colSum)
	for i := 0; i < m; i++ {
		var c float64
		for o, d := range dy[i*n : (i+1)*n] {
			v := float32(float64(d) * p.scale(o))
			j.dyT[i*n+o] = v
			c += float64(v) * p.zero(o)
			j.colSum[o] += float64(v)
		}
		j.rowCorr[i] = c
	}
	j.acc = grow(j.acc, k*n)
	parallel.Run(k, threads, max(1, minParallelProducts/max(m*n, 1)), (*gemmBoth)(j))
	return nil
}

type gemmBoth gemmJob

// Run computes inputs [lo, hi): column l of dx and the gradients of every
// weight of input l.
func (j *gemmBoth) Run(_, lo, hi int) {
	m, n, k := j.m, j.n, j.k
	for l := lo; l < hi; l++ {
		acc := j.acc[l*n : (l+1)*n]
		clear(acc)
		wl := j.codesT[l*n : (l+1)*n]
		for i := 0; i < m; i++ {
			s := dotAxpy(j.dyT[i*n:(i+1)*n], wl, &j.t.gx[j.x[i*k+l]], &j.t.gw[j.x[i*k+l]], acc)
			j.out[i*k+l] = float32(float64(s) - j.rowCorr[i])
		}
		for o, v := range acc {
			g := float32(j.p.sx / j.p.scale(o) * (float64(v) - j.p.zx*j.colSum[o]))
			if j.inOut {
				j.dw[l*n+o] = g
			} else {
				j.dw[o*k+l] = g
			}
		}
	}
}

// maxImageChunks bounds the chunks of images whose weight-gradient sums the
// fused convolution keeps apart (and adds in order at the end).
const maxImageChunks = 16

// Conv2dBoth computes what Conv2dData and Conv2dWeight compute, in one
// pass over the products: dx (N×C×H×W) and dw (the layout of w), with the
// same guarantees as GEMMBoth.
//
// The pass walks input positions, as Conv2dData does; the products a tap
// reads from the padding have no input position, and their share of the
// weight gradient, GW[pad][w]·Σ dy over the outputs where the tap falls in
// the padding, is added from sums of dy over the rectangle of outputs where
// it does not.
func Conv2dBoth(dx, dw, dy []float32, x, w []byte, g kernel.ConvGeom, t *Tables, q *Quant, threads int, ws *Workspace) error {
	if err := checkConv("Conv2dBoth", dx, g.XLen(), "N*C*H*W", dy, x, w, g, t != nil); err != nil {
		return err
	}
	if err := checkConv("Conv2dBoth", dw, g.WLen(), "O*(C/Groups)*KH*KW", dy, x, w, g, true); err != nil {
		return err
	}
	j := ws.convJob()
	defer ws.doneConv(j)
	p, err := resolve(q, g.O, j.sw, j.zw)
	j.sw, j.zw = p.sw, p.zw
	if err != nil {
		return err
	}
	j.setup(t, p, g, dx, dy, x, w)
	j.dw = dw
	j.prepareData()
	j.chunks = min(g.N, maxImageChunks)
	taps := g.KH * g.KW
	// Per task (chunk, group): the group's weight-gradient sums (tap-major,
	// og per tap), and per output channel of the group the padding's share
	// of each kernel position and the sum of the scaled dy.
	tasks := j.chunks * g.Groups
	j.acc = grow(j.acc, tasks*j.k*j.og)
	j.padSum = grow(j.padSum, tasks*j.og*taps)
	j.colSum = grow(j.colSum, tasks*j.og)
	parallel.RunParts(tasks, tasks, workThreads(g.YLen()*j.k, threads), (*convBoth)(j))
	j.finishWeights()
	return nil
}

type convBoth convJob

// Run computes tasks [lo, hi): task grp*chunks+c is group grp of the
// images of chunk c.
func (j *convBoth) Run(_, lo, hi int) {
	s := convScratches.Get().(*convScratch)
	for task := lo; task < hi; task++ {
		j.task(s, task, task/j.chunks, task%j.chunks)
	}
	convScratches.Put(s)
}

func (j *convBoth) task(s *convScratch, task, grp, chunk int) {
	g := &j.g
	og, k := j.og, j.k
	taps := g.KH * g.KW
	acc := j.acc[task*k*og:][:k*og]
	padSum := j.padSum[task*og*taps:][:og*taps]
	colSum := j.colSum[task*og:][:og]
	clear(acc)
	clear(padSum)
	clear(colSum)
	wT := j.wT[grp*k*og:][:k*og]
	hw := g.H * g.W
	n0, n1 := chunk*g.N/j.chunks, (chunk+1)*g.N/j.chunks
	for n := n0; n < n1; n++ {
		(*convData)(j).gradientPositions(s, n, grp)
		(*convJob)(j).padShares(s, padSum, colSum)
		for c := 0; c < j.cg; c++ {
			ci := grp*j.cg + c
			xs := j.x[(n*g.C+ci)*hw:][:hw]
			out := j.out[(n*g.C+ci)*hw:][:hw]
			for iy := 0; iy < g.H; iy++ {
				rows := j.rowTaps[j.rowAt[iy]:j.rowAt[iy+1]]
				for ix := 0; ix < g.W; ix++ {
					cols := j.colTaps[j.colAt[ix]:j.colAt[ix+1]]
					out[iy*g.W+ix] = float32((*convJob)(j).pixel(s, wT, c, xs[iy*g.W+ix], rows, cols, acc))
				}
			}
		}
	}
}

// gradientPositions fills s.dT with image n's output gradient of group
// grp, position-major and scaled per channel, and s.corr with the zero
// points' share of each position.
func (j *convData) gradientPositions(s *convScratch, n, grp int) {
	g := &j.g
	og, opos := j.og, j.opos
	s.dT = grow(s.dT, opos*og)
	s.corr = grow(s.corr, opos)
	for oo := 0; oo < og; oo++ {
		o := grp*og + oo
		sw := j.p.scale(o)
		plane := j.dy[(n*g.O+o)*opos:][:opos]
		for q, d := range plane {
			s.dT[q*og+oo] = float32(float64(d) * sw)
		}
	}
	for q := 0; q < opos; q++ {
		var c float64
		for oo, d := range s.dT[q*og : (q+1)*og] {
			c += float64(d) * j.p.zero(grp*og+oo)
		}
		s.corr[q] = c
	}
}

// padShares adds, for the image whose scaled output gradient is in s.dT,
// each channel's sum of it to colSum and, per kernel position, its sum over
// the outputs where that position reads the padding to padSum (channel-
// major): the sum over all outputs minus the sum over the rectangle where
// the position reads the input, from 2-D prefix sums.
func (j *convJob) padShares(s *convScratch, padSum, colSum []float64) {
	g := &j.g
	og, oh, ow := j.og, j.oh, j.ow
	taps := g.KH * g.KW
	stride := ow + 1
	s.prefix = grow(s.prefix, (oh+1)*stride)
	for oo := 0; oo < og; oo++ {
		pre := s.prefix
		clear(pre[:stride])
		for oy := 0; oy < oh; oy++ {
			pre[(oy+1)*stride] = 0
			var rowSum float64
			for ox := 0; ox < ow; ox++ {
				rowSum += float64(s.dT[(oy*ow+ox)*og+oo])
				pre[(oy+1)*stride+ox+1] = pre[oy*stride+ox+1] + rowSum
			}
		}
		total := pre[oh*stride+ow]
		colSum[oo] += total
		for ky := 0; ky < g.KH; ky++ {
			y0, y1 := inside(oh, g.H, g.StrideH, g.PadH, ky*g.DilH)
			for kx := 0; kx < g.KW; kx++ {
				x0, x1 := inside(ow, g.W, g.StrideW, g.PadW, kx*g.DilW)
				rect := pre[y1*stride+x1] - pre[y0*stride+x1] - pre[y1*stride+x0] + pre[y0*stride+x0]
				padSum[oo*taps+ky*g.KW+kx] += total - rect
			}
		}
	}
}

// inside returns the outputs [lo, hi) of out at which a kernel position at
// offset off reads inside an input of size in (stride and padding given).
func inside(out, in, stride, pad, off int) (lo, hi int) {
	i0 := off - pad // the input index output 0 reads
	lo = min(ceilDiv(max(-i0, 0), stride), out)
	hi = lo
	if last := in - 1 - i0; last >= 0 {
		hi = min(max(last/stride+1, lo), out)
	}
	return lo, hi
}

// finishWeights adds the tasks' weight-gradient sums in chunk order, the
// padding's and the zero point's shares, and scales.
func (j *convJob) finishWeights() {
	g := &j.g
	og, k := j.og, j.k
	taps := g.KH * g.KW
	pad := &j.t.gwT
	for o := 0; o < g.O; o++ {
		grp, oo := o/og, o%og
		var colSum float64
		for c := 0; c < j.chunks; c++ {
			colSum += j.colSum[(grp*j.chunks+c)*og+oo]
		}
		scale := j.p.sx / j.p.scale(o)
		for l := 0; l < k; l++ {
			tp, at := l%taps, j.tapAt(l)
			var sum, padSum float64
			for c := 0; c < j.chunks; c++ {
				task := grp*j.chunks + c
				sum += float64(j.acc[(task*k+at)*og+oo])
				padSum += j.padSum[(task*og+oo)*taps+tp]
			}
			b := j.w[o*k+l]
			sum += float64(pad[b][j.p.pad]) * padSum
			j.dw[o*k+l] = float32(scale * (sum - j.p.zx*colSum))
		}
	}
}
