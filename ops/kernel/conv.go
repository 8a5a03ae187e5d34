package kernel

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Conv2d computes exactly what Conv2dRef computes, fast: the grouped NCHW
// convolution (stride, padding, dilation, groups including depthwise) of
// activation codes x (N×C×H×W) with weight codes w (O×C/Groups×KH×KW), where
// every product is table[x<<8|w], positions outside the input read the code
// pad, and acc (N×O×OutH×OutW) receives the int32 sums. threads and buffer
// rules are those of GEMM.
//
// The column matrix is never materialised. Output positions are the SIMD
// lanes, and each task builds, in a per-thread buffer, what one block of at
// most maxLanes positions reads, in one of three forms chosen by a cost
// estimate:
//   - a column panel (im2col of the block only), lanes over the positions of
//     all images, so small feature maps still fill the lanes;
//   - direct: the padded input rows of one image split into stride phases,
//     so that for every kernel tap the block's lanes read one contiguous
//     window and the buffer costs about one byte per input pixel instead of
//     one per product. It wastes the lanes of a few padding columns;
//   - shifted: the direct form with one plane per kernel column instead of
//     per stride phase, each already shifted by its column's offset, so
//     rows are OutW lanes wide and no lane is wasted, for KW/StrideW times
//     the bytes. It wins on small maps without padding (LeNet-5's conv2:
//     10 of 14 columns are outputs).
//
// The cost estimate weighs the bytes built against the lookups wasted, with
// each kernel's measured cost per byte.
//
// Depthwise and grouped layers use the same lanes as dense ones (positions,
// not channels), so they run at the same speed per product.
func Conv2d(acc []int32, x, w []byte, pad byte, g ConvGeom, p *Prepared, threads int) error {
	return convWith(current(), convAuto, acc, x, w, pad, g, p, threads)
}

// convMode chooses how lanes read activations; tests force each one.
type convMode int

const (
	convAuto    convMode = iota
	convIm2col           // lanes over (image, output position) of a column panel
	convDirect           // lanes over padded-width positions of one image
	convShifted          // lanes over output positions of one image, one plane per kernel column
)

func checkConv(acc []int32, x, w []byte, g ConvGeom, p *Prepared) error {
	if p == nil {
		return fmt.Errorf("kernel: Conv2d needs a prepared table (kernel.Prepare), got nil")
	}
	if err := g.Validate(); err != nil {
		return err
	}
	switch {
	case len(x) < g.XLen():
		return fmt.Errorf("kernel: conv2d input holds %d codes, need N*C*H*W = %d", len(x), g.XLen())
	case len(w) < g.WLen():
		return fmt.Errorf("kernel: conv2d weights hold %d codes, need O*(C/Groups)*KH*KW = %d", len(w), g.WLen())
	case len(acc) < g.YLen():
		return fmt.Errorf("kernel: conv2d output holds %d sums, need N*O*OutH*OutW = %d", len(acc), g.YLen())
	}
	return nil
}

type convJob struct {
	im   *impl
	lay  *layout
	acc  []int32
	x, w []byte
	pad  byte
	g    ConvGeom
	bias int32

	direct       bool
	shifted      bool // direct mode with column-shifted planes (see buildDirect)
	k            int  // fan-in, the length of one weight row
	oh, ow, opos int  // output height, width, positions per image
	// direct mode: the padded input of one channel is split into
	// StrideH×StrideW phase planes of wq columns; lane y*wq+x is output
	// position (y, x), wasted for x >= OW.
	wq int
	// Work units per group: lane blocks in im2col mode; in direct mode
	// spans of up to spanBlocks lane blocks of one image, spansPerImage of
	// them per image, which share one build of the input rows.
	blocks                    int
	spanBlocks, spansPerImage int
	ochunk, ochunks           int

	// Direct mode's per-call constants, kept with the pooled job so that
	// calls allocate nothing: tasks only add and multiply, which matters on
	// small maps where a task builds only a few hundred bytes.
	direct2 directConsts
}

type directConsts struct {
	cols []colSpan // per column phase pw
	taps []tapPos  // per fan-in step of one input channel, in weight order
}

// colSpan says how the row of column phase pw is gathered from an input
// row: bytes [lo, hi) are xrow[ix0 + t*StrideW] for t in [lo, hi), the
// others are padding.
type colSpan struct{ lo, hi, ix0 int }

// tapPos is where a kernel tap reads lane 0 of output row 0: phase plane
// (of the channel), row and column in it.
type tapPos struct{ plane, row, col int }

var convJobs = sync.Pool{New: func() any { return new(convJob) }}

func convWith(im *impl, mode convMode, acc []int32, x, w []byte, pad byte, g ConvGeom, p *Prepared, threads int) error {
	if err := checkConv(acc, x, w, g, p); err != nil {
		return err
	}
	im = im.forTable(p)
	j := convJobs.Get().(*convJob)
	*j = convJob{im: im, lay: &p.byW, acc: acc, x: x, w: w, pad: pad, g: g, direct2: j.direct2}
	j.k, j.oh, j.ow = g.FanIn(), g.OutH(), g.OutW()
	j.opos = j.oh * j.ow
	j.wq = ceilDiv(g.W+2*g.PadW, g.StrideW)
	if im.biased {
		j.bias = int32(j.k) * p.base
	}
	og := g.OutPerGroup()
	switch mode {
	case convDirect:
		j.direct = true
	case convShifted:
		j.direct, j.shifted = true, true
	case convAuto:
		// Cost in lookups (im's build costs per byte): the panel gathers
		// one byte per product of a block; the direct form copies about
		// one per input pixel but wastes the padding columns' lanes; the
		// shifted form wastes none but copies each input pixel into
		// KW/StrideW planes.
		cg, hp := g.InPerGroup(), g.H+2*g.PadH
		im2col := og*j.k*roundLanes(g.N*j.opos) + im.gatherCost*j.k*g.N*j.opos
		direct := og*j.k*g.N*roundLanes(j.oh*j.wq) + im.copyCost*cg*g.N*hp*(g.W+2*g.PadW)
		shifted := og*j.k*g.N*roundLanes(j.opos) + im.copyCost*cg*g.N*g.KW*hp*j.ow
		switch min(im2col, direct, shifted) {
		case shifted:
			j.direct, j.shifted = true, true
		case direct:
			j.direct = true
		}
	}
	if j.shifted {
		j.wq = j.ow
	}
	if j.direct {
		// A span's buffer holds about planes*(maxLanes+wq) bytes per block;
		// keep it within about 48 KiB so it stays in the L1/L2 caches.
		planes := g.InPerGroup() * g.StrideH * j.colPlanes()
		perImage := ceilDiv(j.oh*j.wq, maxLanes)
		j.spanBlocks = min(perImage, max(1, 48<<10/(planes*(maxLanes+j.wq))))
		j.spansPerImage = ceilDiv(perImage, j.spanBlocks)
		j.blocks = g.N * j.spansPerImage
		j.directConstants()
	} else {
		j.blocks = ceilDiv(g.N*j.opos, maxLanes)
	}
	threads = resolveThreads(threads)
	threads = min(threads, 1+g.YLen()*j.k/minParallelWork)
	j.ochunks = 1
	if tasks := g.Groups * j.blocks; tasks < 4*threads {
		j.ochunks = min(og, ceilDiv(4*threads, tasks))
	}
	j.ochunk = ceilDiv(og, j.ochunks)
	j.ochunks = ceilDiv(og, j.ochunk)
	parallel(j, g.Groups*j.blocks*j.ochunks, threads)
	*j = convJob{direct2: j.direct2}
	convJobs.Put(j)
	return nil
}

func (j *convJob) runTask(t int, s *scratch) {
	oc := t % j.ochunks
	b := t / j.ochunks % j.blocks
	grp := t / j.ochunks / j.blocks
	og := j.g.OutPerGroup()
	o0 := grp*og + oc*j.ochunk
	o1 := min(o0+j.ochunk, (grp+1)*og)
	if !j.direct {
		nl := j.buildIm2col(s, grp, b)
		j.outputs(s, o0, o1, nl)
		return
	}
	n, span := b/j.spansPerImage, b%j.spansPerImage
	q0 := span * j.spanBlocks * maxLanes
	q1 := min(q0+j.spanBlocks*maxLanes, j.oh*j.wq)
	y0 := j.buildDirect(s, grp, n, q0, q1)
	for ; q0 < q1; q0 += maxLanes {
		nl := j.directBlock(s, n, y0, q0, min(maxLanes, q1-q0))
		j.outputs(s, o0, o1, nl)
	}
}

// outputs computes output channels o0..o1 for the block of nl lanes that s
// describes and writes them to acc.
func (j *convJob) outputs(s *scratch, o0, o1, nl int) {
	for o := o0; o < o1; o++ {
		j.im.row(j.lay, j.w[o*j.k:][:j.k], s.offs, s.src, nl, j.bias, &s.out)
		at := o * j.opos
		for _, r := range s.runs {
			copy(j.acc[at+r.dst:][:r.n], s.out[r.lane:r.lane+r.n])
		}
	}
}

// buildIm2col fills s with the column panel of lane block b of group grp:
// lanes are output positions counted over all images (image-major), the
// panel row of fan-in step l = (c, ky, kx) holds at lane q the activation
// that weight (c, ky, kx) multiplies for that position.
func (j *convJob) buildIm2col(s *scratch, grp, b int) int {
	g := j.g
	q0 := b * maxLanes
	nl := min(maxLanes, g.N*j.opos-q0)
	s.src = growBytes(s.src, j.k*maxLanes)
	s.offs = growInt32(s.offs, j.k)
	s.runs = s.runs[:0]
	for q := 0; q < nl; {
		n, pos := (q0+q)/j.opos, (q0+q)%j.opos
		r := run{lane: q, dst: n*g.O*j.opos + pos, n: min(j.opos-pos, nl-q)}
		s.runs = append(s.runs, r)
		q += r.n
	}
	cg := g.InPerGroup()
	for c := 0; c < cg; c++ {
		ci := grp*cg + c
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				l := (c*g.KH+ky)*g.KW + kx
				s.offs[l] = int32(l * maxLanes)
				row := s.src[l*maxLanes:][:nl]
				n, pos := q0/j.opos, q0%j.opos
				oy, ox := pos/j.ow, pos%j.ow
				for q := 0; q < nl; {
					run := min(j.ow-ox, nl-q)
					seg := row[q : q+run]
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					if iy < 0 || iy >= g.H {
						fill(seg, j.pad)
					} else {
						xrow := j.x[((n*g.C+ci)*g.H+iy)*g.W:][:g.W]
						gather(seg, xrow, ox*g.StrideW-g.PadW+kx*g.DilW, g.StrideW, j.pad)
					}
					q += run
					if ox += run; ox == j.ow {
						ox = 0
						if oy++; oy == j.oh {
							oy, n = 0, n+1
						}
					}
				}
			}
		}
	}
	return nl
}

// buildDirect fills s.src for lanes q0..q1 of image n in direct mode and
// returns the first output row they cover. The padded input of each channel
// of the group is split into phase planes: plane (ph, pw) holds padded
// pixel (r*StrideH+ph, c*StrideW+pw) at row r, column c; s.src keeps the
// rows the lanes read, rows*wq bytes per plane. Tap (ky, kx) then reads,
// for output (y, x), plane ((ky*DilH)%StrideH, (kx*DilW)%StrideW) at
// (y + ky*DilH/StrideH, x + kx*DilW/StrideW): a fixed shift of lane y*wq+x.
//
// With shifted planes the columns are split by kernel column instead of
// stride phase: plane (ph, kx) holds padded pixel (r*StrideH+ph,
// t*StrideW+kx*DilW) at row r, column t < OutW, so wq = OutW, no lane is
// wasted on padding columns, and tap (ky, kx) reads plane
// ((ky*DilH)%StrideH, kx) from row ky*DilH/StrideH. It builds KW/StrideW
// times the bytes of the phase planes, which pays when the row of an
// output is much shorter than the padded input row (small maps, no
// padding), or the input has few channels.
func (j *convJob) buildDirect(s *scratch, grp, n, q0, q1 int) (y0 int) {
	g := j.g
	wq, sh, sw := j.wq, g.StrideH, g.StrideW
	np := len(j.direct2.cols) // column planes per row phase
	split := sw == 2 && !j.shifted
	y0 = q0 / wq
	rows := (q1-1)/wq + (g.KH-1)*g.DilH/sh - y0 + 1
	cg := g.InPerGroup()
	planes := cg * sh * np
	// The largest offset a block uses is below planes*rows*wq + wq, and the
	// kernel reads up to maxLanes bytes from it; the slack bytes feed only
	// lanes whose sums are dropped, so they are not initialised.
	s.src = growBytes(s.src, planes*rows*wq+wq+maxLanes)
	s.offs = growInt32(s.offs, j.k)
	s.taps = growInt32(s.taps, j.k)
	cols, taps := j.direct2.cols, j.direct2.taps
	for c := 0; c < cg; c++ {
		xc := j.x[(n*g.C+grp*cg+c)*g.H*g.W:][:g.H*g.W]
		for ph := 0; ph < sh && split; ph++ {
			// Stride-2 columns: lay out the padded rows of row phase ph
			// (2*wq bytes each) and split them into even and odd bytes in
			// one pass over the whole block, which are then the phase
			// planes (c, ph, 0) and (c, ph, 1).
			s.tmp = growBytes(s.tmp, rows*2*wq)
			iy := y0*sh + ph - g.PadH
			for r := 0; r < rows; r, iy = r+1, iy+sh {
				row := s.tmp[r*2*wq:][:2*wq]
				if iy < 0 || iy >= g.H {
					fill(row, j.pad)
					continue
				}
				fill(row, j.pad)
				copyRow(row[g.PadW:], xc[iy*g.W:][:g.W])
			}
			at := (c*sh + ph) * 2 * rows * wq
			splitBytes(s.src[at:][:rows*wq], s.src[at+rows*wq:][:rows*wq], s.tmp)
		}
		for ph := 0; ph < sh && !split; ph++ {
			iy := y0*sh + ph - g.PadH
			// Plane (c, ph, pw) starts at ((c*sh+ph)*np+pw)*rows*wq.
			at := (c*sh + ph) * np * rows * wq
			for r := 0; r < rows; r, iy, at = r+1, iy+sh, at+wq {
				if iy < 0 || iy >= g.H {
					for pw := range cols {
						fill(s.src[at+pw*rows*wq:][:wq], j.pad)
					}
					continue
				}
				xrow := xc[iy*g.W:][:g.W]
				for pw, cs := range cols {
					buf := s.src[at+pw*rows*wq:][:wq]
					fill(buf[:cs.lo], j.pad)
					seg := buf[cs.lo:cs.hi]
					switch sw {
					case 1:
						copy(seg, xrow[cs.ix0+cs.lo:])
					case 2:
						evenBytes(seg, xrow[cs.ix0+2*cs.lo:])
					default:
						for t, ix := 0, cs.ix0+cs.lo*sw; t < len(seg); t, ix = t+1, ix+sw {
							seg[t] = xrow[ix]
						}
					}
					fill(buf[cs.hi:], j.pad)
				}
			}
		}
		base := c * len(taps)
		for l, tp := range taps {
			s.taps[base+l] = int32(((c*sh*np+tp.plane)*rows+tp.row)*wq + tp.col)
		}
	}
	return y0
}

// directConstants computes direct mode's per-call constants (divisions
// and clipping) once, so that buildDirect only adds and multiplies.
func (j *convJob) directConstants() {
	g := j.g
	sh, sw := g.StrideH, g.StrideW
	d := &j.direct2
	d.cols = d.cols[:0]
	for pw := 0; pw < j.colPlanes(); pw++ {
		// Column t of phase pw is padded column t*sw+pw, input column
		// t*sw+pw-PadW: inside the row for t in [lo, hi). Shifted plane
		// kx starts at padded column kx*DilW instead.
		ix0 := pw - g.PadW
		if j.shifted {
			ix0 = pw*g.DilW - g.PadW
		}
		lo := min(ceilDiv(max(-ix0, 0), sw), j.wq)
		hi := lo
		if last := g.W - 1 - ix0; last >= 0 {
			hi = min(max(last/sw+1, lo), j.wq)
		}
		d.cols = append(d.cols, colSpan{lo: lo, hi: hi, ix0: ix0})
	}
	d.taps = d.taps[:0]
	for ky := 0; ky < g.KH; ky++ {
		for kx := 0; kx < g.KW; kx++ {
			dy, dx := ky*g.DilH, kx*g.DilW
			if j.shifted {
				d.taps = append(d.taps, tapPos{plane: (dy%sh)*g.KW + kx, row: dy / sh})
			} else {
				d.taps = append(d.taps, tapPos{plane: (dy%sh)*sw + dx%sw, row: dy / sh, col: dx / sw})
			}
		}
	}
}

// colPlanes is the number of column planes per row phase in direct mode.
func (j *convJob) colPlanes() int {
	if j.shifted {
		return j.g.KW
	}
	return j.g.StrideW
}

// directBlock sets the offsets and output runs of the nl lanes from q0 of a
// span whose rows buildDirect put in s.src from output row y0.
func (j *convJob) directBlock(s *scratch, n, y0, q0, nl int) int {
	shift := int32(q0 - y0*j.wq)
	for l, t := range s.taps {
		s.offs[l] = t + shift
	}
	s.runs = s.runs[:0]
	y := q0 / j.wq
	for lo := q0; lo < q0+nl; y++ {
		hi := min(q0+nl, y*j.wq+j.ow)
		if lo < hi {
			s.runs = append(s.runs, run{lane: lo - q0, dst: n*j.g.O*j.opos + lo - y*j.wq + y*j.ow, n: hi - lo})
		}
		lo = (y + 1) * j.wq
	}
	return nl
}

// fill sets every byte of b to v, eight per store: rows in small maps are
// a few bytes long, too short for a memset call to pay off.
func fill(b []byte, v byte) {
	i := 0
	if len(b) >= 8 {
		word := uint64(v) * 0x0101010101010101
		for ; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], word)
		}
		binary.LittleEndian.PutUint64(b[len(b)-8:], word)
		return
	}
	for ; i < len(b); i++ {
		b[i] = v
	}
}

// copyRow is copy(dst, src) for len(dst) >= len(src), inline for the
// short rows of small maps (a memmove call costs more than the copy).
func copyRow(dst, src []byte) {
	n := len(src)
	if n < 8 || n > 64 {
		copy(dst, src)
		return
	}
	dst = dst[:n]
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:]))
	}
	binary.LittleEndian.PutUint64(dst[n-8:], binary.LittleEndian.Uint64(src[n-8:]))
}

// gather sets seg[t] = xrow[ix0+t*stride], or pad where that index falls
// outside the row.
func gather(seg, xrow []byte, ix0, stride int, pad byte) {
	// seg[lo:hi] are the positions inside the row.
	lo := min(ceilDiv(max(-ix0, 0), stride), len(seg))
	hi := lo
	if last := len(xrow) - 1 - ix0; last >= 0 {
		hi = min(max(last/stride+1, lo), len(seg))
	}
	fill(seg[:lo], pad)
	if hi > lo {
		switch stride {
		case 1:
			copy(seg[lo:hi], xrow[ix0+lo:])
		case 2:
			evenBytes(seg[lo:hi], xrow[ix0+lo*2:])
		default:
			in := xrow[ix0+lo*stride:]
			for t := range seg[lo:hi] {
				seg[lo+t] = in[t*stride]
			}
		}
	}
	fill(seg[hi:], pad)
}

// evenBytes sets out[t] = in[2t], eight bytes per step (stride-2 layers
// spend most of their input gathering here).
func evenBytes(out, in []byte) {
	t := 0
	for ; t+8 <= len(out) && 2*t+16 <= len(in); t += 8 {
		a := binary.LittleEndian.Uint64(in[2*t:])
		b := binary.LittleEndian.Uint64(in[2*t+8:])
		binary.LittleEndian.PutUint64(out[t:], packEven(a)|packEven(b)<<32)
	}
	for ; t < len(out); t++ {
		out[t] = in[2*t]
	}
}

// splitBytes sets even[t] = in[2t] and odd[t] = in[2t+1] for t <
// len(even) = len(odd) = len(in)/2, eight of each per step.
func splitBytes(even, odd, in []byte) {
	in = in[:2*len(even)]
	odd = odd[:len(even)]
	t := splitBytesSIMD(even, odd, in)
	for ; t+8 <= len(even); t += 8 {
		a := binary.LittleEndian.Uint64(in[2*t:])
		b := binary.LittleEndian.Uint64(in[2*t+8:])
		binary.LittleEndian.PutUint64(even[t:], packEven(a)|packEven(b)<<32)
		binary.LittleEndian.PutUint64(odd[t:], packEven(a>>8)|packEven(b>>8)<<32)
	}
	for ; t < len(even); t++ {
		even[t], odd[t] = in[2*t], in[2*t+1]
	}
}

// packEven moves bytes 0, 2, 4, 6 of v to bytes 0..3.
func packEven(v uint64) uint64 {
	v &= 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	return (v | v>>16) & 0xFFFFFFFF
}
