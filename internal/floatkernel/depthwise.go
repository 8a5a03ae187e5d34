package floatkernel

import (
	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/geom"
)

// A convolution whose groups hold one input channel each (depthwise, with
// any channel multiplier) is a sum of shifted, scaled input planes. Run
// through im2col it becomes thousands of 1-row matrix products, which BLAS
// does badly; these direct loops instead add every kernel tap's shifted
// input plane to the output plane (see phased), while both are in the
// first-level cache.

// isDepthwise reports whether every group has exactly one input channel
// and few outputs. With a micro-tile's worth of outputs per group (a first
// layer on one input channel) the packed matrix products win.
func isDepthwise(g geom.Conv) bool { return g.InPerGroup() == 1 && g.OutPerGroup() < mr }

// tapSpan returns the output columns [lo, hi) whose input column
// ox*StrideW - PadW + kx*DilW lies inside the row, and the input column of
// output column 0 (which may be negative).
func tapSpan(g geom.Conv, kx int) (lo, hi, off int) {
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

// A channel's zero-padded input plane (Hp×Wp) is split into StrideH×StrideW
// phase planes: phase (ph, pw) holds padded pixel (r·StrideH+ph,
// c·StrideW+pw) at row r, column c, with row stride wq. Outputs are
// computed with the same row stride wq, their extra columns discarded.
// Kernel tap (ky, kx) then reads, for every output, phase
// ((ky·DilH)%StrideH, (kx·DilW)%StrideW) at a fixed offset, so each tap is
// one long contiguous axpy (or dot) over the whole plane for any stride;
// with stride 1 there is one phase, the padded plane itself. Splitting
// costs one pass over the input instead of a strided gather per tap and
// output row. The taps of one output are then summed in one pass
// (tapsAxpy), and the data gradient gathers, for each phase plane, the
// taps that read it, so that every element is written once.
type phased struct {
	sh, sw int // strides = phases per direction
	hq, wq int // rows and row stride of each phase plane
	stride int // distance between phase planes: hq*wq rounded up to 32
	l      int // length of the output plane with row stride wq, up to its last valid element
	oh, ow int
	h, w   int   // the unpadded plane
	ph, pw int   // padding
	taps   []int // per kernel tap, its first element in the phase planes
	// Per phase plane, the taps that read it and, for the data gradient,
	// the negated offsets of their windows in it; front is the largest
	// such offset.
	phaseTaps, phaseOffs [][]int
	front                int
}

func phasedGeom(g geom.Conv) phased {
	p := phased{sh: g.StrideH, sw: g.StrideW, oh: g.OutH(), ow: g.OutW(), h: g.H, w: g.W, ph: g.PadH, pw: g.PadW}
	p.hq = ceilDiv(g.H+2*g.PadH, p.sh)
	p.wq = ceilDiv(g.W+2*g.PadW, p.sw)
	p.l = (p.oh-1)*p.wq + p.ow
	p.stride = roundUp32(p.hq * p.wq)
	// Output (y, x) of tap (ky, kx) reads padded pixel (y·sh+dy, x·sw+dx):
	// phase (dy%sh, dx%sw) at row y+dy/sh, column x+dx/sw, both inside the
	// phase plane for every valid output, so the tap's window lies in it.
	p.taps = make([]int, g.KH*g.KW)
	for ky := 0; ky < g.KH; ky++ {
		for kx := 0; kx < g.KW; kx++ {
			dy, dx := ky*g.DilH, kx*g.DilW
			phase := (dy%p.sh)*p.sw + dx%p.sw
			p.taps[ky*g.KW+kx] = phase*p.stride + (dy/p.sh)*p.wq + dx/p.sw
		}
	}
	p.phaseTaps = make([][]int, p.sh*p.sw)
	p.phaseOffs = make([][]int, p.sh*p.sw)
	for t, at := range p.taps {
		phase, off := at/p.stride, at%p.stride
		p.phaseTaps[phase] = append(p.phaseTaps[phase], t)
		p.phaseOffs[phase] = append(p.phaseOffs[phase], -off)
		p.front = max(p.front, off)
	}
	return p
}

// tapsAxpy works on blocks of 32 floats (see depthwise_amd64.s).
func roundUp32(n int) int { return (n + 31) &^ 31 }

// size is the length of all phase planes of one channel, with the slack
// that tapsAxpy reads past the last window.
func (p phased) size() int { return p.sh*p.sw*p.stride + 32 }

// outSize is the length of an output (or output gradient) plane with row
// stride wq, with tapsAxpy's slack.
func (p phased) outSize() int { return roundUp32(p.oh * p.wq) }

// tapsAxpy sets out[i], or adds to it if add, Σ_t w[t]·in[base+i+offs[t]]
// for i < n rounded up to a multiple of 32; the caller provides that
// slack.
// tapsAxpyGo is the portable version; tapsAxpy (depthwise_amd64.go,
// depthwise_other.go) picks a vector one where it may run.
func tapsAxpyGo(out, in []float32, base int, offs []int, w []float32, n int, add bool) {
	if n <= 0 || len(offs) == 0 {
		return
	}
	checkTaps(out, in, base, offs, w, n)
	o := out[:roundUp32(n)]
	if !add {
		clear(o)
	}
	for t, off := range offs {
		f32.Axpy(w[t], in[base+off:][:len(o)], o)
	}
}

// tapsDot sets sums[t] = Σ_i dy[i]·in[i+offs[t]] for i < n; dy must be
// zero from n up to n rounded to a multiple of 32 and in readable there (a
// vector version reads whole blocks). The portable version is one dot
// product per tap (tapsDotGo); the vector one may sum in another fixed
// order.
func tapsDotGo(sums, dy, in []float32, offs []int, n int) {
	for t, off := range offs {
		sums[t] = f32.Dot(dy[:n], in[off:][:n])
	}
}

// checkTaps panics if tapsAxpy would read or write outside its slices: the
// vector version works on raw pointers.
func checkTaps(out, in []float32, base int, offs []int, w []float32, n int) {
	lo, hi := offs[0], offs[0]
	for _, o := range offs {
		lo, hi = min(lo, o), max(hi, o)
	}
	m := roundUp32(n)
	if len(out) < m || len(w) < len(offs) || base+lo < 0 || base+hi+m > len(in) {
		panic("floatkernel: tapsAxpy outside its buffers")
	}
}

// rowClasses calls f for each class of input rows that share a phase
// plane: rows iy0, iy0+sh, iy0+2sh, ... (rows of them) are consecutive
// rows, wq apart, of one phase plane, where row iy0 starts at base (plus
// colStart of a column). A row mover takes a class in one call.
func (p phased) rowClasses(f func(iy0, rows, base int)) {
	for iy0 := 0; iy0 < min(p.sh, p.h); iy0++ {
		py := iy0 + p.ph
		f(iy0, (p.h-iy0+p.sh-1)/p.sh, (py%p.sh)*p.sw*p.stride+py/p.sh*p.wq)
	}
}

// colStart is where input pixel (0, ix) is in the phase planes, relative
// to its row class's base.
func (p phased) colStart(ix int) int {
	px := ix + p.pw
	return (px%p.sw)*p.stride + px/p.sw
}

// split writes the H×W plane src into the phase planes dst. It writes the
// same elements for every plane, so the rest of dst, the zero padding,
// needs clearing once for all the planes of a call.
func (p phased) split(dst, src []float32) {
	dst = dst[:p.size()]
	ss := p.sh * p.w
	p.rowClasses(func(iy0, rows, base int) {
		in := src[iy0*p.w:]
		switch p.sw {
		case 1:
			copyRows(dst[base+p.colStart(0):], in, nil, rows, p.w, p.wq, ss)
		case 2:
			splitPairs(dst[base+p.colStart(0):], dst[base+p.colStart(1):], in, rows, p.w, p.wq, ss)
		default:
			for r := 0; r < rows; r++ {
				for ix, v := range in[r*ss:][:p.w] {
					dst[base+r*p.wq+p.colStart(ix)] = v
				}
			}
		}
	})
}

// splitCodes is split for an input plane given as quantization codes,
// dequantized on the way: a quarter of the bytes to read.
func (p phased) splitCodes(dst []float32, src []byte, q codeScale) {
	dst = dst[:p.size()]
	ss := p.sh * p.w
	p.rowClasses(func(iy0, rows, base int) {
		in := src[iy0*p.w:]
		switch p.sw {
		case 1:
			dequantRows(dst[base+p.colStart(0):], in, q, rows, p.w, p.wq, ss)
		case 2:
			splitCodePairs(dst[base+p.colStart(0):], dst[base+p.colStart(1):], in, q, rows, p.w, p.wq, ss)
		default:
			for r := 0; r < rows; r++ {
				for ix, b := range in[r*ss:][:p.w] {
					dst[base+r*p.wq+p.colStart(ix)] = q.value(b)
				}
			}
		}
	})
}

// merge is split's inverse: it writes the input pixels of the phase planes
// src to the H×W plane dst, +0 where mask (dst's layout, nil for none) is
// false.
func (p phased) merge(dst, src []float32, mask []bool) {
	ds := p.sh * p.w
	p.rowClasses(func(iy0, rows, base int) {
		out := dst[iy0*p.w:]
		var m []bool
		if mask != nil {
			m = mask[iy0*p.w:]
		}
		switch p.sw {
		case 1:
			copyRows(out, src[base+p.colStart(0):], m, rows, p.w, ds, p.wq)
		case 2:
			mergePairs(out, src[base+p.colStart(0):], src[base+p.colStart(1):], m, rows, p.w, ds, p.wq)
		default:
			for r := 0; r < rows; r++ {
				for ix := range p.w {
					v := src[base+r*p.wq+p.colStart(ix)]
					if m != nil {
						v = masked(v, m[r*ds+ix])
					}
					out[r*ds+ix] = v
				}
			}
		}
	})
}

// spread copies an oh×ow plane into rows of stride wq. The extra columns
// of dst must be zero already, so that they add nothing where the planes
// are multiplied: callers clear dst once per task, and spreads write only
// the same columns.
func (p phased) spread(dst, src []float32) {
	copyRows(dst, src, nil, p.oh, p.ow, p.wq, p.ow)
}

// depthwiseForward computes y for depthwise geometry, one (image, input
// channel) per task: the channel is split once for all its outputs.
func depthwiseForward(y, x, w []float32, g geom.Conv, threads int, ws *Workspace) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	taps := g.KH * g.KW
	p := phasedGeom(g)
	workers := workerCount(g.N*g.C, threads)
	ws.begin(workers)
	parallel.Run(g.N*g.C, workers, 1, parallel.Func(func(t, lo, hi int) {
		b := &ws.workers[t]
		b.col = growFloats(b.col, p.size())
		clear(b.col) // the padding, which splits do not write
		b.acc = growFloats(b.acc, p.outSize())
		for task := lo; task < hi; task++ {
			n, c := task/g.C, task%g.C
			p.split(b.col, x[(n*g.C+c)*g.H*g.W:][:g.H*g.W])
			for o := c * og; o < (c+1)*og; o++ {
				tapsAxpy(b.acc, b.col, 0, p.taps, w[o*taps:][:taps], p.l, false)
				copyRows(y[(n*g.O+o)*oh*ow:][:oh*ow], b.acc, nil, oh, ow, ow, p.wq)
			}
		}
	}))
}

// depthwiseBackwardData computes dx for depthwise geometry, one (image,
// input channel) plane per task; the mask (nil: none) zeroes dx where it
// is false. With one output per channel and a fused kernel for the column
// stride (fusedRows), every row class of dx is computed straight from the
// spread output gradient; otherwise through phase planes.
func depthwiseBackwardData(dx, dy, w []float32, mask []bool, g geom.Conv, threads int, ws *Workspace) {
	p := phasedGeom(g)
	if !p.fusedRows(g) {
		depthwiseBackwardDataPhased(dx, dy, w, mask, g, p, threads, ws)
		return
	}
	depthwiseBackwardDataFused(dx, dy, w, mask, g, p, threads, ws)
}

// depthwiseBackwardDataFused is the fused path of depthwiseBackwardData,
// for geometries where p.fusedRows(g) holds.
func depthwiseBackwardDataFused(dx, dy, w []float32, mask []bool, g geom.Conv, p phased, threads int, ws *Workspace) {
	oh, ow := g.OutH(), g.OutW()
	taps := g.KH * g.KW
	workers := workerCount(g.N*g.C, threads)
	ws.begin(workers)
	parallel.Run(g.N*g.C, workers, 1, parallel.Func(func(t, lo, hi int) {
		b := &ws.workers[t]
		b.acc = growFloats(b.acc, p.front+p.stride+32) // as in the phased path
		clear(b.acc)
		var classes [fusedMaxStride]dxClass
		nc := p.dxClasses(&classes, len(b.acc))
		// Each class's kernel arguments but dx, the mask and the weights
		// are the same for every plane: set them once.
		var wbuf [fusedMaxStride][2 * fusedMaxTaps]float32
		var args [fusedMaxStride]rowTaps
		for i := range classes[:nc] {
			cl := &classes[i]
			args[i] = rowTaps{src: &b.acc[0], offs: &cl.offs[0], w: &wbuf[i][0],
				ne: cl.ne, no: cl.no, n: g.W / p.sw, rows: cl.rows, ds: p.sh * g.W, ss: p.wq}
		}
		spreadTo := b.acc[p.front:][:(oh-1)*p.wq+ow]
		for task := lo; task < hi; task++ {
			plane := task * g.H * g.W // task = image·C + channel = output plane
			spreadRows(spreadTo, dy[task*oh*ow:][:oh*ow], oh, ow, p.wq)
			d := dx[plane:][:g.H*g.W]
			var m []bool
			if mask != nil {
				m = mask[plane:][:g.H*g.W]
			}
			wo := w[(task%g.C)*taps:][:taps]
			for i := range classes[:nc] {
				cl, a := &classes[i], &args[i]
				wb := &wbuf[i]
				for j, tap := range cl.taps[:cl.ne+cl.no] {
					wb[j] = wo[tap]
				}
				a.dst = &d[cl.dst]
				a.mask = nil
				if m != nil {
					a.mask = &m[cl.dst]
				}
				tapRows(a, p.sw)
			}
		}
	}))
}

// Limits of the fused data gradient's per-worker tables.
const (
	fusedMaxStride = 4
	fusedMaxTaps   = 16
)

// rowTaps are the arguments of a fused kernel, which reads the fields by
// their offsets (depthwise_amd64.s): keep the order. Row r of the class
// (r < rows) is dst[r·ds+x] for x < n (sw 1) or x < 2n (sw 2), masked by
// mask[r·ds+x] unless mask is nil. With column stride 1 it is Σ_t w[t]·
// src[r·ss+x+offs[t]] over the ne taps; with stride 2, even column 2j is
// that sum at j over the first ne taps and odd column 2j+1 at j over the
// next no taps. Each sum is one FMA chain in tap order from +0, as
// tapsAxpy computes the phase planes.
type rowTaps struct {
	dst    *float32 // 0
	mask   *bool    // 8
	src    *float32 // 16
	offs   *int     // 24
	w      *float32 // 32
	ne, no int      // 40, 48
	n      int      // 56: outputs a row (sw 1) or column pairs (sw 2)
	rows   int      // 64
	ds, ss int      // 72, 80: row strides of dst (and mask) and src
}

// dxClass is one row class of dx (input rows iy0, iy0+sh, ...) for the
// fused kernels: where its first row starts in the plane, and per column
// stream (one for sw 1, even and odd columns for sw 2) the kernel taps
// and their offsets in the spread output gradient.
type dxClass struct {
	rows, dst int
	ne, no    int
	taps      [2 * fusedMaxTaps]int
	offs      [2 * fusedMaxTaps]int
}

// fusedRows reports whether the fused kernels handle g: one output per
// channel, column stride 1 with rows of at least 4 or stride 2 with an
// even row of at least 8, and tables that fit dxClass.
func (p phased) fusedRows(g geom.Conv) bool {
	if !haveTapRows() || g.OutPerGroup() != 1 || p.sh > fusedMaxStride {
		return false
	}
	switch {
	case p.sw == 1 && g.W >= 4:
	case p.sw == 2 && g.W >= 8 && g.W%2 == 0:
	default:
		return false
	}
	for _, ts := range p.phaseTaps {
		if len(ts) > fusedMaxTaps {
			return false
		}
	}
	return true
}

// dxClasses fills cls with dx's row classes and returns their number. In
// the phase planes, input pixel (iy, ix) is at row (iy+ph)/sh, column
// (ix+pw)/sw of phase ((iy+ph)%sh, (ix+pw)%sw), whose value the phased
// path sums from the output gradient at front + that position + each of
// the phase's offsets; the offsets here fold in all but the row and the
// column step. It panics if a kernel would read outside accLen floats.
func (p phased) dxClasses(cls *[fusedMaxStride]dxClass, accLen int) int {
	nc := 0
	p.rowClasses(func(iy0, rows, _ int) {
		c := &cls[nc]
		nc++
		py := iy0 + p.ph
		c.rows, c.dst = rows, iy0*p.w
		row := p.front + py/p.sh*p.wq
		stream := func(k, px int) int { // px: the padded column of stream element 0
			phase := py%p.sh*p.sw + px%p.sw
			for i, tap := range p.phaseTaps[phase] {
				c.taps[k+i] = tap
				c.offs[k+i] = row + px/p.sw + p.phaseOffs[phase][i]
			}
			return len(p.phaseTaps[phase])
		}
		c.ne = stream(0, p.pw)
		if p.sw == 2 {
			c.no = stream(c.ne, p.pw+1)
		}
		span := p.w / p.sw // elements of a stream in a row
		for _, off := range c.offs[:c.ne+c.no] {
			if off < 0 || off+(rows-1)*p.wq+span > accLen {
				panic("floatkernel: fused depthwise kernel outside its buffer")
			}
		}
	})
	return nc
}

// depthwiseBackwardDataPhased computes dx for depthwise geometry, one (image,
// input channel) plane per task, summing that channel's og outputs into
// its phase planes; the merge back into dx applies the mask (nil: none).
func depthwiseBackwardDataPhased(dx, dy, w []float32, mask []bool, g geom.Conv, p phased, threads int, ws *Workspace) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	taps := g.KH * g.KW
	workers := workerCount(g.N*g.C, threads)
	ws.begin(workers)
	parallel.Run(g.N*g.C, workers, 1, parallel.Func(func(t, lo, hi int) {
		b := &ws.workers[t]
		b.col = growFloats(b.col, p.size()) // dx in phase planes
		// dy with row stride wq after p.front zeros, zeros after it up to
		// the reach of the phase planes' windows; spread writes the same
		// elements for every plane.
		b.acc = growFloats(b.acc, p.front+p.stride+32)
		clear(b.acc)
		b.tapBuf = growFloats(b.tapBuf, taps) // one phase's weights
		for task := lo; task < hi; task++ {
			n, c := task/g.C, task%g.C
			for o := c * og; o < (c+1)*og; o++ {
				p.spread(b.acc[p.front:], dy[(n*g.O+o)*oh*ow:][:oh*ow])
				for phase, ts := range p.phaseTaps {
					plane := b.col[phase*p.stride:][:p.stride]
					if len(ts) == 0 {
						clear(plane)
						continue
					}
					wp := b.tapBuf[:len(ts)]
					for i, tap := range ts {
						wp[i] = w[o*taps+tap]
					}
					tapsAxpy(plane, b.acc, p.front, p.phaseOffs[phase], wp, p.stride, o > c*og)
				}
			}
			plane := (n*g.C + c) * g.H * g.W
			var m []bool
			if mask != nil {
				m = mask[plane:][:g.H*g.W]
			}
			p.merge(dx[plane:][:g.H*g.W], b.col, m)
		}
	}))
}

// inputPlanes is the input of a depthwise weight gradient: floats, or
// quantization codes (bytes non-nil) dequantized by q.
type inputPlanes struct {
	floats []float32
	bytes  []byte
	q      codeScale
}

// images is the part of in holding images [i0, i1), each size elements.
func (in inputPlanes) images(i0, i1, size int) inputPlanes {
	if in.bytes != nil {
		return inputPlanes{bytes: in.bytes[i0*size : i1*size], q: in.q}
	}
	return inputPlanes{floats: in.floats[i0*size : i1*size]}
}

// split writes input plane i (image·C + channel) of size h·w into the
// phase planes dst.
func (in *inputPlanes) split(p phased, dst []float32, i int) {
	size := p.h * p.w
	if in.bytes != nil {
		p.splitCodes(dst, in.bytes[i*size:][:size], in.q)
		return
	}
	p.split(dst, in.floats[i*size:][:size])
}

// depthwiseBackwardWeight computes dw for depthwise geometry: with one
// output per channel, nine taps and a fused kernel for the strides
// (fusedDots), one kernel call per worker and image does all the worker's
// planes; otherwise through depthwiseBackwardWeightPhased. Both sum in the
// same order, so they give the same bits.
func depthwiseBackwardWeight(dw, dy []float32, x inputPlanes, g geom.Conv, threads int, ws *Workspace) {
	p := phasedGeom(g)
	if !p.fusedDots(g) {
		depthwiseBackwardWeightPhased(dw, dy, x, g, p, threads, ws)
		return
	}
	depthwiseBackwardWeightFused(dw, dy, x, g, p, threads, ws)
}

// depthwiseBackwardWeightFused is the fused path of
// depthwiseBackwardWeight, for geometries where p.fusedDots(g) holds.
func depthwiseBackwardWeightFused(dw, dy []float32, x inputPlanes, g geom.Conv, p phased, threads int, ws *Workspace) {
	oh, ow := g.OutH(), g.OutW()
	size := g.H * g.W
	workers := workerCount(g.O, threads)
	ws.begin(workers)
	ws.sums = growFloats(ws.sums, g.O*9)
	clear(ws.sums)
	parallel.Run(g.O, workers, 1, parallel.Func(func(t, lo, hi int) {
		b := &ws.workers[t]
		b.col = growFloats(b.col, p.size())
		clear(b.col) // the padding, which the kernel does not write
		b.acc = growFloats(b.acc, p.outSize())
		clear(b.acc) // the extra columns and the slack after the last row
		p.checkDots(len(b.col), len(b.acc))
		a := planeDots{col: &b.col[0], acc: &b.acc[0], q: x.q, inPlane: size, outPlane: oh * ow,
			w: g.W, sw: p.sw, srcStride: p.sh * g.W, oh: oh, ow: ow, wq: p.wq, n: p.l}
		copy(a.offs[:], p.taps)
		p.splitClasses(&a.cls)
		planes := hi - lo
		for n := 0; n < g.N; n++ {
			first := n*g.C + lo // input and output-gradient plane (O = C)
			a.codes, a.floats = nil, nil
			if x.bytes != nil {
				a.codes = &x.bytes[first*size:][:planes*size][0]
			} else {
				a.floats = &x.floats[first*size:][:planes*size][0]
			}
			a.dy = &dy[first*oh*ow:][:planes*oh*ow][0]
			a.sums = &ws.sums[lo*9:][:planes*9][0]
			a.planes = planes
			weightDots(&a)
		}
		for i, v := range ws.sums[lo*9 : hi*9] {
			dw[lo*9+i] = float32(v)
		}
	}))
}

// planeDots are the arguments of the fused weight-gradient kernel, which
// reads them by the offsets in go_asm.h and advances codes (or floats),
// dy, sums and planes as it goes. For each of planes consecutive planes it
// splits the input plane (codes dequantized by q if codes is non-nil,
// else floats; inPlane elements apart) into the phase planes col, whose
// padding is zero, by the row classes in cls (up to the first with no
// rows); spreads the output-gradient plane (oh×ow, outPlane apart) into
// acc with row stride wq, whose other elements are zero; and adds to
// sums[0..8] (nine per plane) the float32 dots of acc with col+offs[t]
// over n elements rounded up to 8, lane by lane and summed across lanes
// as dot9Unit does.
type planeDots struct {
	codes     *byte
	floats    *float32
	dy        *float32
	sums      *float64
	planes    int
	col, acc  *float32
	q         codeScale
	inPlane   int
	outPlane  int
	w, sw     int // input row length and column stride (1 or 2)
	srcStride int // input elements between consecutive rows of a class
	oh, ow    int
	wq        int
	n         int
	offs      [9]int
	cls       [fusedMaxStride + 1]splitClass
}

// splitClass is one row class of the input (see rowClasses): its first
// row's first element in the plane, where that row's even and odd columns
// start in the phase planes (with column stride 1, all columns go to
// even), and its number of rows.
type splitClass struct {
	src, even, odd, rows int
}

// fusedDots reports whether the fused weight-gradient kernel handles g:
// one output per channel, nine taps, column stride 1 with rows of at
// least 4 inputs or stride 2 with at least 8, output rows of at least 4,
// and at most fusedMaxStride row classes.
func (p phased) fusedDots(g geom.Conv) bool {
	if !haveWeightDots() || g.OutPerGroup() != 1 || g.KH*g.KW != 9 || p.sh > fusedMaxStride || p.ow < 4 {
		return false
	}
	return p.sw == 1 && g.W >= 4 || p.sw == 2 && g.W >= 8
}

// splitClasses fills cls with the input's row classes, as split moves
// them, followed by an empty one.
func (p phased) splitClasses(cls *[fusedMaxStride + 1]splitClass) {
	*cls = [fusedMaxStride + 1]splitClass{}
	i := 0
	p.rowClasses(func(iy0, rows, base int) {
		cls[i] = splitClass{src: iy0 * p.w, even: base + p.colStart(0), odd: base + p.colStart(1%p.sw), rows: rows}
		i++
	})
}

// checkDots panics if the fused weight-gradient kernel would read or
// write outside phase planes of colLen floats or an output-gradient buffer
// of accLen floats: it works on raw pointers.
func (p phased) checkDots(colLen, accLen int) {
	n := (p.l + 7) &^ 7
	ok := n <= accLen && (p.oh-1)*p.wq+p.ow <= accLen
	for _, off := range p.taps {
		ok = ok && off >= 0 && off+n <= colLen
	}
	var cls [fusedMaxStride + 1]splitClass
	p.splitClasses(&cls)
	for _, c := range cls {
		if c.rows > 0 {
			last := (c.rows - 1) * p.wq
			ok = ok && c.even >= 0 && c.odd >= 0 && c.even+last+ceilDiv(p.w, p.sw) <= colLen && c.odd+last+p.w/p.sw <= colLen
		}
	}
	if !ok {
		panic("floatkernel: fused depthwise weight gradient outside its buffers")
	}
}

// depthwiseBackwardWeightPhased computes dw for depthwise geometry. Every
// weight is summed in one fixed order: one float32 dot per tap and image
// over the whole plane (tapsDot), added over the images in order in
// float64. A worker owns a range of output channels, so every weight has
// one writer, and goes through the images one by one, through its
// channels in each: their planes are consecutive in x and dy, one long
// stream per image that the hardware prefetcher follows (channel by
// channel, each image's plane would be a short read a whole image away
// from the last). Codes and their dequantized floats give the same phase
// planes, hence the same dw bit for bit.
func depthwiseBackwardWeightPhased(dw, dy []float32, x inputPlanes, g geom.Conv, p phased, threads int, ws *Workspace) {
	oh, ow, og := g.OutH(), g.OutW(), g.OutPerGroup()
	taps := g.KH * g.KW
	workers := workerCount(g.O, threads)
	ws.begin(workers)
	ws.sums = growFloats(ws.sums, g.O*taps)
	clear(ws.sums)
	parallel.Run(g.O, workers, 1, parallel.Func(func(t, lo, hi int) {
		b := &ws.workers[t]
		b.col = growFloats(b.col, p.size())
		clear(b.col) // the padding, which splits do not write
		// The output gradient with row stride wq: spread leaves the extra
		// columns and the slack after the last row as cleared here.
		b.acc = growFloats(b.acc, p.outSize())
		clear(b.acc)
		b.tapBuf = growFloats(b.tapBuf, taps)
		part := b.tapBuf // one image's tap sums
		for n := 0; n < g.N; n++ {
			for o := lo; o < hi; o++ {
				if o == lo || o%og == 0 { // outputs of one group share its input plane
					x.split(p, b.col, n*g.C+o/og)
				}
				p.spread(b.acc, dy[(n*g.O+o)*oh*ow:][:oh*ow])
				tapsDot(part, b.acc, b.col, p.taps, p.l)
				s := ws.sums[o*taps:][:taps]
				for i, v := range part {
					s[i] += float64(v)
				}
			}
		}
		for i, v := range ws.sums[lo*taps : hi*taps] {
			dw[lo*taps+i] = float32(v)
		}
	}))
}
