package kernel

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/goapprox/goapprox/ops/geom"
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
// Both direct forms can also run their lanes on across images ("stacked":
// each image's planes below the previous one's), so that small maps fill
// whole blocks of lanes and one task builds the planes of many images;
// with stride 1, neighbouring rows and images share their padding. Blocks
// of short rows hold whole rows, whose sums are stored row by row.
//
// The cost estimate weighs the bytes built against the lookups wasted and
// the fixed costs per kernel call and task, with each kernel's measured
// costs.
//
// Depthwise and grouped layers use the same lanes as dense ones (positions,
// not channels), so they run at the same speed per product once the
// blocks are full; on small maps, stacking is what fills them.
func Conv2d(acc []int32, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int) error {
	return convWith(current(), convAuto, acc, x, w, pad, g, p, threads)
}

// convMode chooses how lanes read activations; tests force each one.
type convMode int

const (
	convAuto    convMode = iota
	convIm2col           // lanes over (image, output position) of a column panel
	convDirect           // lanes over padded-width positions of one image
	convShifted          // lanes over output positions of one image, one plane per kernel column
	// The same two with lanes running on across images (see convJob.stacked).
	convDirectStacked
	convShiftedStacked
	convPregather // lanes over output channels, positions select (pregather.go)
)

func checkConv(acc []int32, x, w []byte, g geom.Conv, p *Prepared) error {
	if err := checkConvInputs(x, w, g, p); err != nil {
		return err
	}
	if len(acc) < g.YLen() {
		return fmt.Errorf("kernel: conv2d output holds %d sums, need N*O*OutH*OutW = %d", len(acc), g.YLen())
	}
	return nil
}

// checkConvInputs checks everything checkConv does but the output.
func checkConvInputs(x, w []byte, g geom.Conv, p *Prepared) error {
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
	}
	return nil
}

type convJob struct {
	im   *impl
	lay  *layout
	acc  []int32
	x, w []byte
	pad  byte
	g    geom.Conv
	bias int32

	direct       bool
	shifted      bool // direct mode with column-shifted planes (see buildDirect)
	stacked      bool // direct mode with lanes running on across images
	k            int  // fan-in, the length of one weight row
	oh, ow, opos int  // output height, width, positions per image
	// direct mode: the padded input of one channel is split into
	// StrideH×StrideW phase planes of wq columns, each image's rowsPer rows
	// below the previous image's (a "tall" plane of N*rowsPer rows); lane
	// t*wq+x is output position (t%rowsPer, x) of image t/rowsPer, wasted
	// for x >= OW or t%rowsPer >= OH.
	wq, rowsPer int
	// Work units per group: lane blocks in im2col mode; in direct mode
	// spans of up to spanBlocks lane blocks, which share one build of the
	// input rows: spansPerImage per image, or when stacked spans of the
	// whole tall plane (lanes below tallLanes).
	blocks                    int
	spanBlocks, spansPerImage int
	tallLanes                 int
	// blockLanes is the lanes of one direct-mode block: maxLanes, or when
	// rows are short whole rows only (rowBlocks), so that a block's sums
	// are stored row by row from a few numbers (see storeRows) instead of
	// a list of runs, which on small maps cost as much as the lookups.
	blockLanes      int
	rowBlocks       bool
	rowGeom         rowGeom
	ochunk, ochunks int

	// Direct mode's per-call constants, kept with the pooled job so that
	// calls allocate nothing: tasks only add and multiply, which matters on
	// small maps where a task builds only a few hundred bytes.
	direct2 directConsts
}

type directConsts struct {
	cols  []colSpan  // per column phase pw
	taps  []tapPos   // per fan-in step of one input channel, in weight order
	valid []rowRange // per row phase ph, the plane rows of an image that hold input rows
}

// rowRange is the rows [lo, hi) of a plane.
type rowRange struct{ lo, hi int }

// colSpan says how the row of column phase pw is gathered from an input
// row: bytes [lo, hi) are xrow[ix0 + t*StrideW] for t in [lo, hi), the
// others are padding.
type colSpan struct{ lo, hi, ix0 int }

// tapPos is where a kernel tap reads lane 0 of output row 0: phase plane
// (of the channel), row and column in it.
type tapPos struct{ plane, row, col int }

var convJobs = sync.Pool{New: func() any { return new(convJob) }}

func convWith(im *impl, mode convMode, acc []int32, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int) error {
	if err := checkConv(acc, x, w, g, p); err != nil {
		return err
	}
	im = im.forTable(p)
	j := convJobs.Get().(*convJob)
	j.init(im, acc, x, w, pad, g, p)
	if j.plan(mode, p, threads) {
		*j = convJob{direct2: j.direct2}
		convJobs.Put(j)
		convPregathered(im, acc, x, w, pad, g, p, threads)
		return nil
	}
	og := g.OutPerGroup()
	if j.shifted {
		j.wq = j.ow
	}
	threads = resolveThreads(threads)
	threads = min(threads, 1+g.YLen()*j.k/minParallelWork)
	if j.direct {
		j.directSpans(threads)
		j.directConstants()
	} else {
		j.blocks = ceilDiv(g.N*j.opos, maxLanes)
	}
	j.ochunks = 1
	if tasks := g.Groups * j.blocks; tasks < 4*threads {
		j.ochunks = min(og, ceilDiv(4*threads, tasks))
	}
	j.ochunk = ceilDiv(og, j.ochunks)
	j.ochunks = ceilDiv(og, j.ochunk)
	runTasks(j, g.Groups*j.blocks*j.ochunks, threads)
	*j = convJob{direct2: j.direct2}
	convJobs.Put(j)
	return nil
}

// plan decides how j's call runs in mode: true for the pre-gathered path
// (forced, where it can run, or chosen by cost in convAuto), else with
// j's row-kernel layout set (forced, or the cheapest in convAuto).
func (j *convJob) plan(mode convMode, p *Prepared, threads int) (pregather bool) {
	g := j.g
	switch mode {
	case convPregather:
		if pgUsable(p, g.OutPerGroup(), g.FanIn(), pgConvSrc(g)) {
			return true
		}
		return j.picksPregather(p, threads)
	case convDirect:
		j.direct = true
	case convShifted:
		j.direct, j.shifted = true, true
	case convDirectStacked:
		j.direct, j.stacked = true, true
	case convShiftedStacked:
		j.direct, j.shifted, j.stacked = true, true, true
	case convAuto:
		return j.picksPregather(p, threads)
	}
	return false
}

// init sets up j for a call in one of the row-kernel layouts.
func (j *convJob) init(im *impl, acc []int32, x, w []byte, pad byte, g geom.Conv, p *Prepared) {
	*j = convJob{im: im, lay: &p.byW, acc: acc, x: x, w: w, pad: pad, g: g, direct2: j.direct2}
	j.k, j.oh, j.ow = g.FanIn(), g.OutH(), g.OutW()
	j.opos = j.oh * j.ow
	j.wq = ceilDiv(g.W+2*g.PadW, g.StrideW)
	// Plane rows per image: output row y reads rows y..y+maxdy.
	j.rowsPer = j.oh + (g.KH-1)*g.DilH/g.StrideH
	// With stride 1 the padding below one row (image) can be the padding
	// above the next: rows of W+PadW lanes (images of H+PadH rows), which
	// on a 7x7 map with padding 1 wastes 15 of 64 lanes instead of 32 of
	// 81. Only if every output reads an input pixel (padding within the
	// kernel's reach), else outputs would not fit in the shorter rows.
	if g.StrideW == 1 && g.PadW <= (g.KW-1)*g.DilW {
		j.wq = g.W + g.PadW
	}
	if g.StrideH == 1 && g.PadH <= (g.KH-1)*g.DilH {
		j.rowsPer = g.H + g.PadH
	}
	if im.biased {
		j.bias = int32(j.k) * p.base
	}
}

// picksPregather chooses the row-kernel layout (chooseForm) and says
// whether the pre-gathered path is estimated to cost less still.
func (j *convJob) picksPregather(p *Prepared, threads int) bool {
	best := j.chooseForm(j.g.OutPerGroup())
	c, ok := pgConvCost(j.im, p, j.g, resolveThreads(threads))
	return ok && c < best
}

// chooseForm picks the input layout with the lowest estimated cost, in
// lookups of j.im, and returns that cost: the lanes computed (wasted ones
// included), the bytes built (at the kernel's measured cost per byte) and
// the fixed costs of kernel calls and tasks. The panel gathers one byte per product of a
// block; the direct form copies about one byte per input pixel but wastes
// the padding columns' lanes; the shifted form wastes none but copies each
// input pixel into KW/StrideW planes. Either direct form can run its lanes
// per image (whole blocks per image, the last one rounded up, a task per
// image) or on across images (stacked: no rounding, few tasks, but the
// rows below each image's last output row are wasted).
func (j *convJob) chooseForm(og int) (cost int) {
	g, im := j.g, j.im
	cg, hp, n := g.InPerGroup(), g.H+2*g.PadH, g.N
	calls := func(lanes int) int { return og * ceilDiv(lanes, maxLanes) * (im.callCost + j.k*im.stepCost) }
	perImage := func(wq int) int {
		return og*j.k*n*roundLanes(j.oh*wq) + n*calls(j.oh*wq) + n*im.callCost
	}
	stacked := func(wq int) int {
		l := ((n-1)*j.rowsPer + j.oh) * wq
		return og*j.k*roundLanes(l) + calls(l)
	}
	im2col := og*j.k*roundLanes(n*j.opos) + im.gatherCost*j.k*n*j.opos + calls(n*j.opos)
	directBytes := im.copyCost * cg * n * hp * (g.W + 2*g.PadW)
	shiftedBytes := im.copyCost * cg * n * g.KW * hp * j.ow
	costs := [...]int{
		im2col,
		perImage(j.wq) + directBytes,
		stacked(j.wq) + directBytes,
		perImage(j.ow) + shiftedBytes,
		stacked(j.ow) + shiftedBytes,
	}
	best := 0
	for i, c := range costs {
		if c < costs[best] {
			best = i
		}
	}
	j.direct = best > 0
	j.stacked = best == 2 || best == 4
	j.shifted = best >= 3
	return costs[best]
}

// directSpans splits the direct form's lanes into spans, the work of one
// task per group (and chunk of output channels).
func (j *convJob) directSpans(threads int) {
	g := j.g
	// Rows of up to 32 lanes waste at most 1/8 of a block when blocks
	// hold whole rows.
	j.blockLanes, j.rowBlocks = maxLanes, false
	if j.wq <= maxLanes/8 {
		j.blockLanes, j.rowBlocks = maxLanes/j.wq*j.wq, true
		j.rowGeom = rowGeom{wq: j.wq, ow: j.ow, oh: j.oh, rowsPer: j.rowsPer, image: g.O * j.opos}
	}
	// A span's buffer holds about planes*(maxLanes+wq) bytes per block;
	// keep it within about 48 KiB so it stays in the L1/L2 caches.
	planes := g.InPerGroup() * g.StrideH * j.colPlanes()
	fit := max(1, 48<<10/(planes*(maxLanes+j.wq)))
	if !j.stacked {
		perImage := ceilDiv(j.oh*j.wq, j.blockLanes)
		j.spanBlocks = min(perImage, fit)
		j.spansPerImage = ceilDiv(perImage, j.spanBlocks)
		j.blocks = g.N * j.spansPerImage
		return
	}
	// Stacked: as few spans as keep every thread busy (about eight tasks
	// per thread over all groups), each rebuilds only a few halo rows.
	j.tallLanes = ((g.N-1)*j.rowsPer + j.oh) * j.wq
	total := ceilDiv(j.tallLanes, j.blockLanes)
	spans := ceilDiv(8*threads, g.Groups)
	j.spanBlocks = max(1, min(fit, ceilDiv(total, spans)))
	j.blocks = ceilDiv(total, j.spanBlocks)
}

// Run runs tasks [lo, hi) for the shared pool (see runTasks).
func (j *convJob) Run(_, lo, hi int) { tasks(j, lo, hi) }

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
	// The span's lanes [q0, q1) in the tall plane.
	spanLanes := j.spanBlocks * j.blockLanes
	q0 := b * spanLanes
	q1 := min(q0+spanLanes, j.tallLanes)
	if !j.stacked {
		n, span := b/j.spansPerImage, b%j.spansPerImage
		first := n * j.rowsPer * j.wq
		q0 = first + span*spanLanes
		q1 = min(q0+spanLanes, first+j.oh*j.wq)
	}
	t0 := j.buildDirect(s, grp, q0, q1)
	for ; q0 < q1; q0 += j.blockLanes {
		nl := min(j.blockLanes, q1-q0)
		j.directBlock(s, t0, q0, nl)
		if !j.rowBlocks {
			j.outputs(s, o0, o1, nl)
			continue
		}
		// Whole rows: from tall row q0/wq, image t/rowsPer, row t%rowsPer.
		t := q0 / j.wq
		img, y := t/j.rowsPer*j.rowGeom.image, t%j.rowsPer
		for o := o0; o < o1; o++ {
			j.im.row(j.lay, j.w[o*j.k:][:j.k], s.offs, s.src, nl, j.bias, &s.out)
			storeRows(j.acc[img+o*j.opos:], &s.out, nl/j.wq, y, &j.rowGeom)
		}
	}
}

// outputs computes output channels o0..o1 for the block of nl lanes that s
// describes and writes them to acc.
func (j *convJob) outputs(s *scratch, o0, o1, nl int) {
	for o := o0; o < o1; o++ {
		j.im.row(j.lay, j.w[o*j.k:][:j.k], s.offs, s.src, nl, j.bias, &s.out)
		copyRuns(j.acc[o*j.opos:], &s.out, s.runs)
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

// buildDirect fills s.src for lanes q0..q1 of the tall plane in direct
// mode and returns the first tall row they cover. The padded input of each
// channel of the group is split into phase planes: plane (ph, pw) holds
// padded pixel (r*StrideH+ph, c*StrideW+pw) of image n at tall row
// n*rowsPer+r, column c; s.src keeps the rows the lanes read, rows*wq bytes
// per plane. Tap (ky, kx) then reads, for output (y, x), plane
// ((ky*DilH)%StrideH, (kx*DilW)%StrideW) at (y + ky*DilH/StrideH, x +
// kx*DilW/StrideW): a fixed shift of lane y*wq+x, which stays within the
// image's rowsPer rows.
//
// With shifted planes the columns are split by kernel column instead of
// stride phase: plane (ph, kx) holds padded pixel (r*StrideH+ph,
// t*StrideW+kx*DilW) at row r, column t < OutW, so wq = OutW, no lane is
// wasted on padding columns, and tap (ky, kx) reads plane
// ((ky*DilH)%StrideH, kx) from row ky*DilH/StrideH. It builds KW/StrideW
// times the bytes of the phase planes, which pays when the row of an
// output is much shorter than the padded input row (small maps, no
// padding), or the input has few channels.
//
// All planes are first filled with the pad code in one pass, then the
// input's pixels are copied over it: small maps have rows of a few bytes,
// and padding them one by one cost more than the copy.
func (j *convJob) buildDirect(s *scratch, grp, q0, q1 int) (t0 int) {
	g := j.g
	wq, sh, sw := j.wq, g.StrideH, g.StrideW
	np := len(j.direct2.cols) // column planes per row phase
	split := sw == 2 && !j.shifted
	t0 = q0 / wq
	rows := (q1-1)/wq + (g.KH-1)*g.DilH/sh - t0 + 1
	cg := g.InPerGroup()
	planes := cg * sh * np
	// The largest offset a block uses is below planes*rows*wq + wq, and the
	// kernel reads up to maxLanes bytes from it; the slack bytes feed only
	// lanes whose sums are dropped, so they are not initialised.
	s.src = growBytes(s.src, planes*rows*wq+wq+maxLanes)
	s.offs = growInt32(s.offs, j.k)
	s.taps = growInt32(s.taps, j.k)
	if split {
		// Stride-2 columns: lay out the padded rows of every (channel,
		// row phase), 2*wq bytes each, and split them into even and odd
		// bytes in one pass, which are then the phase planes (c, ph, 0)
		// and (c, ph, 1).
		s.tmp = growBytes(s.tmp, cg*sh*rows*2*wq)
		fillBulk(s.tmp, j.pad)
	} else {
		// Past the last row, the padding the last row shares with the
		// next one (see convWith).
		fillBulk(s.src[:planes*rows*wq+wq], j.pad)
	}
	cols, taps, valid := j.direct2.cols, j.direct2.taps, j.direct2.valid
	rp := j.rowsPer
	for c := 0; c < cg; c++ {
		ci := grp*cg + c
		for ph := 0; ph < sh; ph++ {
			// Plane (c, ph, pw) starts at ((c*sh+ph)*np+pw)*rows*wq; in the
			// split form its padded rows start at (c*sh+ph)*rows*2*wq in tmp.
			first := (c*sh + ph) * np * rows * wq
			// Per image, the rows holding input are one run of input
			// rows StrideH apart, and every image wholly inside the span
			// has the same ones: one 3-D copy (images, rows, bytes) for
			// each run of such images. Rows past the last image are the
			// padding it shares.
			lo, hi := valid[ph].lo, valid[ph].hi
			for n := t0 / rp; n*rp < t0+rows && n < g.N; {
				a := max(n*rp+lo, t0)
				b := min(n*rp+hi, t0+rows)
				if a >= b {
					n++
					continue
				}
				imgs := 1
				if a == n*rp+lo && b == n*rp+hi {
					imgs = max(1, min(g.N, (t0+rows-hi)/rp+1)-n)
				}
				iy := (a-n*rp)*sh + ph - g.PadH
				xs := j.x[((n*g.C+ci)*g.H+iy)*g.W:]
				i, cnt, xImage := a-t0, b-a, g.C*g.H*g.W
				switch {
				case split:
					copyRows(s.tmp[first+i*2*wq+g.PadW:], 2*wq, rp*2*wq, xs, sh*g.W, xImage, cnt, g.W, imgs)
				case sw == 1:
					for pw, cs := range cols {
						if cs.hi > cs.lo {
							copyRows(s.src[first+pw*rows*wq+i*wq+cs.lo:], wq, rp*wq, xs[cs.ix0+cs.lo:], sh*g.W, xImage, cnt, cs.hi-cs.lo, imgs)
						}
					}
				default:
					for m := 0; m < imgs; m++ {
						for r := 0; r < cnt; r++ {
							xrow := xs[m*xImage+r*sh*g.W:][:g.W]
							at := first + (i+m*rp+r)*wq
							for pw, cs := range cols {
								seg := s.src[at+pw*rows*wq:][cs.lo:cs.hi]
								if sw == 2 {
									evenBytes(seg, xrow[cs.ix0+2*cs.lo:])
									continue
								}
								for t, ix := 0, cs.ix0+cs.lo*sw; t < len(seg); t, ix = t+1, ix+sw {
									seg[t] = xrow[ix]
								}
							}
						}
					}
				}
				n += imgs
			}
			if split {
				splitBytes(s.src[first:][:rows*wq], s.src[first+rows*wq:][:rows*wq], s.tmp[first:][:2*rows*wq])
			}
		}
		base := c * len(taps)
		for l, tp := range taps {
			s.taps[base+l] = int32(((c*sh*np+tp.plane)*rows+tp.row)*wq + tp.col)
		}
	}
	return t0
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
	d.valid = d.valid[:0]
	for ph := 0; ph < sh; ph++ {
		// Row r of phase ph is input row r*sh+ph-PadH.
		lo := ceilDiv(max(g.PadH-ph, 0), sh)
		hi := lo
		if last := g.H - 1 + g.PadH - ph; last >= 0 {
			hi = min(max(last/sh+1, lo), j.rowsPer)
		}
		d.valid = append(d.valid, rowRange{lo: min(lo, hi), hi: hi})
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
// span whose rows buildDirect put in s.src from tall row t0.
func (j *convJob) directBlock(s *scratch, t0, q0, nl int) int {
	wq, ow, oh, rp := j.wq, j.ow, j.oh, j.rowsPer
	shift := int32(q0 - t0*wq)
	offs := s.offs[:len(s.taps)]
	for l, t := range s.taps {
		offs[l] = t + shift
	}
	// At most one run per row the block touches; kept in locals, as the
	// compiler cannot tell that stores to s.runs leave j alone.
	if cap(s.runs) < nl/wq+2 {
		s.runs = make([]run, 0, maxLanes+2)
	}
	if j.rowBlocks {
		return nl
	}
	runs := s.runs[:nl/wq+2]
	nr := 0
	t := q0 / wq
	y, img := t%rp, t/rp*j.g.O*j.opos
	for lo, end := q0, q0+nl; lo < end; {
		rowStart := t * wq
		if hi := min(end, rowStart+ow); y < oh && lo < hi {
			runs[nr] = run{lane: lo - q0, dst: img + y*ow + lo - rowStart, n: hi - lo}
			nr++
		}
		lo = rowStart + wq
		t++
		if y++; y == rp {
			y, img = 0, img+j.g.O*j.opos
		}
	}
	s.runs = runs[:nr]
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

// fillBulk sets every byte of b to v, a whole buffer at a time.
func fillBulk(b []byte, v byte) {
	if v == 0 {
		clear(b)
		return
	}
	n := min(len(b), 64)
	fill(b[:n], v)
	for ; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// copyRowsGo copies images blocks of rows rows of width bytes from src,
// rows srcPitch and blocks srcImage apart, to dst, rows dstPitch and
// blocks dstImage apart.
func copyRowsGo(dst []byte, dstPitch, dstImage int, src []byte, srcPitch, srcImage, rows, width, images int) {
	for m := 0; m < images; m++ {
		for r := 0; r < rows; r++ {
			copyRow(dst[m*dstImage+r*dstPitch:][:width], src[m*srcImage+r*srcPitch:][:width])
		}
	}
}

// copyRunsGo copies each run of sums from out to acc.
func copyRunsGo(acc []int32, out *[maxLanes]int32, runs []run) {
	for _, r := range runs {
		copy(acc[r.dst:][:r.n], out[r.lane:r.lane+r.n])
	}
}

// rowGeom describes how the rows of a whole-row block map to the output:
// lane r*wq+x is output (y+r, x) of the block's first image when y+r <
// oh; rows run on into the next image (image sums further on) after
// rowsPer rows.
type rowGeom struct{ wq, ow, oh, rowsPer, image int }

// storeRowsGo stores the sums of rows whole rows of a block whose first
// row is output row y of the image at acc[0]: see rowGeom.
func storeRowsGo(acc []int32, out *[maxLanes]int32, rows, y int, rg *rowGeom) {
	img := 0
	for r := 0; r < rows; r++ {
		if y < rg.oh {
			copy(acc[img+y*rg.ow:][:rg.ow], out[r*rg.wq:][:rg.ow])
		}
		if y++; y == rg.rowsPer {
			y, img = 0, img+rg.image
		}
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
