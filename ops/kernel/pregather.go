package kernel

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/geom"
)

// The pre-gathered kernel. When the lanes are weights (a GEMM's output
// features, a convolution's output channels) and activation codes select,
// the lane codes of every selector step are fixed for the whole call. So
// one can build, for every step l and every selector code s, the row of
// the lanes' entries
//
//	P[l][s][q] = table[s<<8|w[q][l]] - base   (uint16: narrow tables only)
//
// and then a selector row's sums are Σ_l P[l][sel[l]]: one contiguous row
// load and add per step, no lookup at all. Building a step's 256 rows is a
// transpose of the lanes' rows of the transposed table (Prepared.pgRows)
// and costs about as much as 256 of those adds per lane, so it pays when
// thousands of selector rows share it: every convolution of a CIFAR
// network at a usual batch (rows are output positions), seldom a linear
// layer (rows are the batch). The cost estimates of GEMM and Conv2d decide
// (pgCost).
//
// Lanes are cut into chunks of at most pgMaxWidth, each a whole number of
// pgUnit lanes (16: one 256-bit vector of uint16 entries), so 16, 32 and
// 64 output channels waste nothing and other counts are padded with zero
// entries. The sums are kept in two uint32 words per pair of lanes, so
// that the SIMD kernel adds a loaded vector of sixteen entries without
// widening it: S += the 32-bit word (even lane + 65536*odd lane, wrapping)
// and H += the word >> 16 (the odd lane); the even lane's sum is then
// S - H<<16 (mod 2^32), exact because the int32 results wrap anyway. A
// unit of sixteen lanes keeps its eight S words, then its eight H words.
//
// A task is one chunk of lanes over a block of selector rows. It walks the
// steps a block at a time: it builds the block's rows of P (about
// pgBlockBytes) in its own buffer, which stays in L2 while every row of the
// task reads it at random, and adds them to the sums of all its rows,
// which are kept in a buffer of the task between blocks and read and
// written in order (the hardware prefetches them). P for a whole
// layer is far larger than L2 (64 output channels and 576 steps make 18
// MiB): kept whole and shared by the tasks, it was streamed from memory
// by each of them, which cost more than building it once per task. Only
// the rows of codes between the smallest and the largest selector code
// of the call are built (found as the input is padded): a ReLU's output
// quantized to signed codes never reaches the negative half.
//
// A step costs little besides its row: loading its offset, its code and
// the row. 3×3 convolutions of dilation 1 (every convolution of the CIFAR
// ResNets and VGGs) have their own kernel (pg3Func), whose nine taps per
// input channel are fixed displacements off the row's base and the padded
// width: it loads no offsets, and its blocks hold whole input channels.
// With tables whose entries span at most 15 bits (signed multipliers) it
// adds two taps' rows as 16-bit words before widening them into the sums,
// which saves a third of the vector work of those taps.

const (
	// pgUnit is the number of lanes whose uint16 entries fill one 256-bit
	// vector; chunk widths are multiples of it.
	pgUnit = 16
	// pgMaxWidth is the widest chunk of lanes: two units. A row's sums
	// are loaded and stored once per block of steps, and a block of P
	// holds fewer steps the wider its rows, so the sums' traffic per
	// lookup grows with the width: at four units it came near that of
	// P's rows themselves, and two chunks of two units each, which read
	// every selector code twice, ran faster.
	pgMaxWidth = 32
	// pgBlockBytes is the size of the block of P a task builds and then
	// reads with all its rows: half a Zen 3 core's 512 KiB L2, leaving
	// room for the row sums streaming past. pgAccBytes bounds the sums of a task's rows: a task
	// builds all of P, so the more rows share it the better, and the sums
	// need not stay in a cache; smaller blocks of steps would load and
	// store the sums more often.
	pgBlockBytes = 256 << 10
	pgAccBytes   = 1 << 20
)

// pgFunc is a pre-gathered kernel: for each selector row i, with codes
// src[bases[i]+offs[l]] for its steps l, it adds the P rows of those codes
// (p holds len(offs) steps of 256 rows of width uint16 entries, each step
// pgStepBytes(width) after the previous one) to the
// row's sums acc[i*width:][:width], pairs of lanes as described above.
// flags: with pgFirst it sets the sums instead of adding to them; with
// pgLast it then leaves the lanes' int32 sums plus bias there instead, in
// lane order (as uint32); pgPairs allows the kernel to add two steps' rows
// as 16-bit words. width is 16 or 32 (pgMaxWidth).
type pgFunc func(p []byte, width int, offs []int32, src []byte, bases []int32, acc []uint32, flags int, bias int32)

const (
	pgFirst = 1 << iota
	pgLast
	// pgPairs says that any two entries of P sum within 16 bits, so a
	// kernel may add two steps' rows as 16-bit words before widening
	// them. The sums are the same either way.
	pgPairs
)

// pgStepPad is the gap after each step's rows of P. Steps of 256 rows are
// a multiple of 4 KiB apart, so without it the rows of one code in every
// step of a block fall in one set of L1 and evict each other; activation
// codes are far from uniform (a ReLU's output is half the zero point's
// code), so the most used rows would miss L1 every time. With one cache
// line more per step, a code's rows in successive steps fall in
// successive sets.
const pgStepPad = 64

// pgStepBytes is the distance between two steps of P for chunks of width
// lanes. The AVX2 kernels have it as constants.
func pgStepBytes(width int) int { return 512*width + pgStepPad }

// pgGo is the portable pre-gathered kernel, the twin of the SIMD ones.
func pgGo(p []byte, width int, offs []int32, src []byte, bases []int32, acc []uint32, flags int, bias int32) {
	rowBytes := 2 * width
	stepBytes := pgStepBytes(width)
	p = p[:len(offs)*stepBytes]
	for i, b := range bases {
		a := acc[i*width:][:width]
		if flags&pgFirst != 0 {
			clear(a)
		}
		xs := src[b:]
		for l, o := range offs {
			row := p[l*stepBytes+int(xs[o])*rowBytes:][:rowBytes]
			for u := 0; u < width; u += pgUnit {
				au := a[u : u+pgUnit]
				ru := row[2*u : 2*u+2*pgUnit]
				for e := range pgUnit / 2 {
					v := binary.LittleEndian.Uint32(ru[4*e:])
					au[e] += v
					au[pgUnit/2+e] += v >> 16
				}
			}
		}
		if flags&pgLast != 0 {
			for u := 0; u < width; u += pgUnit {
				au := a[u : u+pgUnit]
				var lanes [pgUnit]uint32
				for e := range pgUnit / 2 {
					sum, hi := au[e], au[pgUnit/2+e]
					lanes[2*e] = sum - hi<<16 + uint32(bias)
					lanes[2*e+1] = hi + uint32(bias)
				}
				copy(au, lanes[:])
			}
		}
	}
}

// pg3Func is a pgFunc for the steps of 3×3 taps (dilation 1): chans
// input channels of nine steps each, in (ky, kx) order, tap (ky, kx) of
// channel c reading the code src[base + c*plane + ky*wp + kx]. Its steps'
// offsets are the same for every such convolution but for plane and wp,
// so it needs no table of them (pg3Go is its definition).
type pg3Func func(p []byte, width, chans, plane, wp int, src []byte, bases []int32, acc []uint32, flags int, bias int32)

// pg3Go is the pg3Func of pgGo: the steps' offsets made explicit.
func pg3Go(p []byte, width, chans, plane, wp int, src []byte, bases []int32, acc []uint32, flags int, bias int32) {
	offs := make([]int32, 0, 9*chans)
	for c := range chans {
		for ky := range 3 {
			for kx := range 3 {
				offs = append(offs, int32(c*plane+ky*wp+kx))
			}
		}
	}
	pgGo(p, width, offs, src, bases, acc, flags, bias)
}

// pgBuildFunc builds rows of P for one step and chunk of width lanes:
// dst[(s*width+q)*2:] holds the uint16 entry pgRows[w_q][s], where rows[q]
// = 512*w_q is the byte offset of lane q's source row in pgRows (row 256,
// all zero, for padding lanes). It builds the rows of the selector codes
// s from lo&^7 through hi|7 (whole groups of eight) and leaves the others
// as they are: the codes a call's selector rows read lie in [lo, hi]
// (pgJob.codeLo), and half of them, or fewer, is common: a ReLU's output
// quantized to signed codes never reaches the negative half.
type pgBuildFunc func(dst []byte, width int, tab *[257][256]uint16, rows *[pgMaxWidth]int64, lo, hi int)

// pgBuildGo is the portable builder, the twin of the SIMD ones.
func pgBuildGo(dst []byte, width int, tab *[257][256]uint16, rows *[pgMaxWidth]int64, lo, hi int) {
	rowBytes := 2 * width
	dst = dst[:256*rowBytes]
	from, to := pgBuildSpan(lo, hi)
	for q := range width {
		for s, v := range tab[rows[q]/512][from:to] {
			binary.LittleEndian.PutUint16(dst[(from+s)*rowBytes+2*q:], v)
		}
	}
}

// pgBuildSpan returns the codes [from, to) whose rows a builder makes for
// selector codes in [lo, hi]: whole groups of eight.
func pgBuildSpan(lo, hi int) (from, to int) { return lo &^ 7, hi | 7 + 1 }

// pgBuilder is im's builder of P, the portable one if it has none.
func (im *impl) pgBuilder() pgBuildFunc {
	if im.pgBuild != nil {
		return im.pgBuild
	}
	return pgBuildGo
}

// pgChunkWidth is the width of a chunk of nl lanes: nl rounded up to whole
// units.
func pgChunkWidth(nl int) int { return ceilDiv(nl, pgUnit) * pgUnit }

// pgJob is one call on the pre-gathered path: a GEMM whose lanes are the
// weights, or a convolution whose lanes are the output channels of a group
// and whose selector rows are output positions.
type pgJob struct {
	im   *impl
	acc  []int32
	tab  *[257][256]uint16 // Prepared.pgRows
	bias int32
	k    int
	// w holds the lane operand: per group, lanes rows of k codes.
	w                    []byte
	lanes, groups        int
	chunks, lastWidth    int
	nsel                 int // selector rows per group
	rowBlock, rowBlocks  int
	src                  []byte  // selector codes: row i's step l at src[base(i)+offs[l]]
	offs                 []int32 // per step
	conv                 bool
	taps3                bool // a 3×3 convolution of dilation 1 (pg3Func)
	pairs                bool // Prepared.pairs: pgPairs holds
	g                    geom.Conv
	hp, wp, ow, opos     int // padded input rows and columns, output width and positions
	imgStride, grpStride int // src bytes of one image and one group's channels
	// x and pad are the convolution's input and pad code, which the
	// padder copies into padded (pooled with the job, so calls allocate
	// nothing).
	x      []byte
	pad    byte
	padded []byte
	// y, corr and scale, when y is set, take the place of acc: the sums
	// of output channel o are written to y as floats (Conv2dRescaled),
	// its correction and scale at corr[o] and scale[o].
	y           []float32
	corr, scale []float64
	// codeLo and codeHi bound the codes src holds, so the rows of P
	// built are only those that can be read; spans holds each padder
	// part's bounds until they are merged.
	codeLo, codeHi int
	spans          []codeSpan
}

// codeSpan is the smallest and largest code of some selector codes.
type codeSpan struct{ lo, hi byte }

// codeRangeGo returns the smallest and largest byte of src, (255, 0) for
// none: the portable scan, the twin of the SIMD ones.
func codeRangeGo(src []byte) (lo, hi byte) {
	lo, hi = 255, 0
	for _, v := range src {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// pgRanger is im's scan for the codes in a selector operand, the portable
// one if it has none.
func (im *impl) pgRanger() func([]byte) (lo, hi byte) {
	if im.pgRange != nil {
		return im.pgRange
	}
	return codeRangeGo
}

// pgPoison, set by tests, fills P with a pattern before each block is
// built, so that a kernel reading a row the builder left out of the code
// range returns wrong sums instead of rows left over from another call.
var pgPoison bool

var pgJobs = sync.Pool{New: func() any { return new(pgJob) }}

// pgShape returns how lanes lanes are cut into chunks: their number and
// the width of the last one (the others are pgMaxWidth wide).
func pgShape(lanes int) (chunks, lastWidth int) {
	chunks = ceilDiv(lanes, pgMaxWidth)
	return chunks, pgChunkWidth(lanes - (chunks-1)*pgMaxWidth)
}

// pgTaskRows is the most selector rows a task of a chunk of width lanes
// holds (see pgAccBytes).
func pgTaskRows(width int) int { return pgAccBytes / (4 * width) }

// pgRowBlocks splits rows selector rows into blocks for tasks of chunks
// of the widest chunk's width: as few as the rows' sums allow, but enough
// to keep every thread busy.
func pgRowBlocks(rows, width, tasksPerBlock, threads int) (blocks int) {
	return min(rows, max(ceilDiv(rows, pgTaskRows(width)), ceilDiv(2*threads, tasksPerBlock)))
}

// pgCost estimates, in lookups of im, the pre-gathered path for groups
// groups of rows selector rows and lanes lanes over k steps: the sums
// (per lane and step, padding lanes included), building P once per task
// (per entry), writing the outputs, and the tasks; ok is false when the
// path cannot run (see pgUsable) or im leaves it to be forced (pgStep 0).
func pgCost(im *impl, p *Prepared, groups, rows, lanes, k, srcBytes, threads int) (cost int, ok bool) {
	if !pgUsable(p, lanes, k, srcBytes) || im.pgStep == 0 {
		return 0, false
	}
	chunks, lastWidth := pgShape(lanes)
	width := (chunks-1)*pgMaxWidth + lastWidth
	blocks := pgRowBlocks(rows, min(width, pgMaxWidth), groups*chunks, threads)
	sums := groups * rows * k * width
	entries := groups * blocks * k * 256 * width
	return (sums*im.pgStep+entries*im.pgEntry+groups*rows*lanes*im.pgOut)/64 + groups*chunks*blocks*im.callCost, true
}

// pgConvSrc is the size of the selector operand of a convolution on the
// pre-gathered path: the padded input.
func pgConvSrc(g geom.Conv) int { return g.N * g.C * (g.H + 2*g.PadH) * (g.W + 2*g.PadW) }

// pgConvCost is pgCost for a convolution, with the copy of the padded
// input.
func pgConvCost(im *impl, p *Prepared, g geom.Conv, threads int) (int, bool) {
	c, ok := pgCost(im, p, g.Groups, g.N*g.OutH()*g.OutW(), g.OutPerGroup(), g.FanIn(), pgConvSrc(g), threads)
	if ok && (g.PadH > 0 || g.PadW > 0) {
		c += im.copyCost * pgConvSrc(g)
	}
	return c, ok
}

// pgUsable says whether the pre-gathered path can run at all: a narrow
// table, and offsets into the selector operand that fit int32.
func pgUsable(p *Prepared, lanes, k, srcBytes int) bool {
	return p.narrow && lanes > 0 && k > 0 && srcBytes <= math.MaxInt32
}

// pgKernel is im's pre-gathered kernel, the portable one if it has none.
func (im *impl) pgKernel() pgFunc {
	if im.pg != nil {
		return im.pg
	}
	return pgGo
}

// gemmPregathered runs a GEMM with lanes along the weights on the
// pre-gathered path (pgUsable holds).
func gemmPregathered(im *impl, acc []int32, x, w []byte, m, n, k int, p *Prepared, threads int) {
	j := pgJobs.Get().(*pgJob)
	*j = pgJob{im: im, acc: acc, tab: &p.pgRows, bias: int32(k) * p.base, k: k,
		w: w, lanes: n, groups: 1, nsel: m, src: x, offs: j.offs, padded: j.padded, spans: j.spans}
	j.offs = growInt32(j.offs, k)
	for l := range j.offs {
		j.offs[l] = int32(l)
	}
	j.setCodeRange(x[:m*k])
	j.run(threads)
}

// setCodeRange records the smallest and largest of the selector codes src.
func (j *pgJob) setCodeRange(src []byte) {
	lo, hi := j.im.pgRanger()(src)
	j.codeLo, j.codeHi = int(lo), int(hi)
}

// convPregathered runs a convolution with lanes along the output channels
// on the pre-gathered path (pgUsable holds).
func convPregathered(im *impl, acc []int32, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int) {
	convPregatheredTo(im, acc, nil, Rescale{}, x, w, pad, g, p, threads)
}

// convPregatheredTo is convPregathered writing either the sums to acc or,
// when y is not nil, the sums rescaled by r to y (r's corrections below
// 2^52 in magnitude, so that float64 adds them to an int32 sum exactly).
func convPregatheredTo(im *impl, acc []int32, y []float32, r Rescale, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int) {
	j := pgJobs.Get().(*pgJob)
	k := g.FanIn()
	*j = pgJob{im: im, acc: acc, tab: &p.pgRows, bias: int32(k) * p.base, k: k,
		w: w, lanes: g.OutPerGroup(), groups: g.Groups, conv: true, g: g, x: x, pad: pad,
		offs: j.offs, padded: j.padded, spans: j.spans, corr: j.corr, scale: j.scale}
	if y != nil {
		j.y = y
		j.corr, j.scale = j.corr[:0], j.scale[:0]
		for o := range g.O {
			j.corr, j.scale = append(j.corr, float64(r.Corr[o])), append(j.scale, r.Scale[o])
		}
	}
	j.hp, j.wp = g.H+2*g.PadH, g.W+2*g.PadW
	j.taps3 = g.KH == 3 && g.KW == 3 && g.DilH == 1 && g.DilW == 1 && im.pg3 != nil
	j.pairs = p.pairs
	j.ow = g.OutW()
	j.opos = g.OutH() * j.ow
	j.nsel = g.N * j.opos
	j.imgStride = g.C * j.hp * j.wp
	j.grpStride = g.InPerGroup() * j.hp * j.wp
	j.offs = growInt32(j.offs, k)
	for c := 0; c < g.InPerGroup(); c++ {
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				j.offs[(c*g.KH+ky)*g.KW+kx] = int32(c*j.hp*j.wp + ky*g.DilH*j.wp + kx*g.DilW)
			}
		}
	}
	if g.PadH == 0 && g.PadW == 0 {
		j.src = x
		j.setCodeRange(x[:g.XLen()])
	} else {
		// The taps read the padded input in place: one copy per call,
		// which also finds the codes' range.
		j.padded = growBytes(j.padded, g.N*j.imgStride)
		j.src = j.padded
		th := min(resolveThreads(threads), 1+len(j.padded)/minPackBytes)
		j.spans = j.spans[:0]
		for range th {
			j.spans = append(j.spans, codeSpan{255, 0})
		}
		parallel.Run(g.N*g.C, th, 1, (*pgPadder)(j))
		lo, hi := byte(255), byte(0)
		for _, sp := range j.spans {
			lo, hi = min(lo, sp.lo), max(hi, sp.hi)
		}
		j.codeLo, j.codeHi = int(lo), int(hi)
	}
	j.run(threads)
}

// pgPadder copies the input planes [lo, hi) (image-major) into the padded
// input.
type pgPadder pgJob

func (pd *pgPadder) Run(part, lo, hi int) {
	j := (*pgJob)(pd)
	g := j.g
	if lo >= hi {
		return
	}
	// The pad code everywhere, then every plane's rows in one call of
	// the row mover (a copy call per row costs more than its bytes).
	plane := j.hp * j.wp
	fillBulk(j.padded[lo*plane:hi*plane], j.pad)
	src := j.x[lo*g.H*g.W : hi*g.H*g.W]
	copyRows(j.padded[lo*plane+g.PadH*j.wp+g.PadW:], j.wp, plane, src, g.W, g.H*g.W, g.H, g.W, hi-lo)
	// The input's codes are still in cache; the padding is the pad code.
	clo, chi := j.im.pgRanger()(src)
	j.spans[part] = codeSpan{min(clo, j.pad), max(chi, j.pad)}
}

// run splits the selector rows into blocks and runs the tasks.
func (j *pgJob) run(threads int) {
	threads = min(resolveThreads(threads), 1+j.groups*j.nsel*j.lanes*j.k/minParallelWork)
	j.chunks, j.lastWidth = pgShape(j.lanes)
	perBlock := j.groups * j.chunks
	j.rowBlocks = pgRowBlocks(j.nsel, min(pgChunkWidth(j.lanes), pgMaxWidth), perBlock, threads)
	j.rowBlock = ceilDiv(j.nsel, j.rowBlocks)
	j.rowBlocks = ceilDiv(j.nsel, j.rowBlock)
	runTasks(j, perBlock*j.rowBlocks, threads)
	*j = pgJob{offs: j.offs, padded: j.padded, spans: j.spans, corr: j.corr[:0], scale: j.scale[:0]}
	pgJobs.Put(j)
}

// Run runs tasks [lo, hi) for the shared pool (see runTasks).
func (j *pgJob) Run(_, lo, hi int) { tasks(j, lo, hi) }

// runTask computes one chunk of lanes of one group for one block of
// selector rows and writes its sums.
func (j *pgJob) runTask(t int, s *scratch) {
	rb := t % j.rowBlocks
	c := t / j.rowBlocks % j.chunks
	grp := t / j.rowBlocks / j.chunks
	r0 := rb * j.rowBlock
	nr := min(j.rowBlock, j.nsel-r0)
	q0 := c * pgMaxWidth
	nl := min(pgMaxWidth, j.lanes-q0)
	width := pgMaxWidth
	if c == j.chunks-1 {
		width = j.lastWidth
	}

	s.pgBases = growInt32(s.pgBases, nr)
	bases := s.pgBases
	if j.conv {
		g := j.g
		n, pos := r0/j.opos, r0%j.opos
		oy, ox := pos/j.ow, pos%j.ow
		for i := range bases {
			bases[i] = int32(n*j.imgStride + grp*j.grpStride + oy*g.StrideH*j.wp + ox*g.StrideW)
			if ox++; ox == j.ow {
				ox = 0
				if oy++; oy*j.ow == j.opos {
					oy, n = 0, n+1
				}
			}
		}
	} else {
		for i := range bases {
			bases[i] = int32((r0 + i) * j.k)
		}
	}

	if cap(s.pgAcc) < nr*width {
		s.pgAcc = make([]uint32, nr*width)
	}
	acc := s.pgAcc[:nr*width]
	stepBytes := pgStepBytes(width)
	lb := max(1, pgBlockBytes/stepBytes)
	if j.taps3 {
		// Blocks of whole input channels, the nearest number to fill
		// pgBlockBytes.
		lb = 9 * max(1, (2*pgBlockBytes+9*stepBytes)/(18*stepBytes))
	}
	s.pgP = growBytes(s.pgP, min(lb, j.k)*stepBytes)
	kern, build := j.im.pgKernel(), j.im.pgBuilder()
	rows := &s.pgRows
	ws := j.w[(grp*j.lanes+q0)*j.k:]
	for l0 := 0; l0 < j.k; l0 += lb {
		l1 := min(l0+lb, j.k)
		if pgPoison {
			fillBulk(s.pgP, 0xA5)
		}
		for l := l0; l < l1; l++ {
			for q := range width {
				rows[q] = 256 * 512 // the zero row
				if q < nl {
					rows[q] = 512 * int64(ws[q*j.k+l])
				}
			}
			build(s.pgP[(l-l0)*stepBytes:], width, j.tab, rows, j.codeLo, j.codeHi)
		}
		flags := 0
		if l0 == 0 {
			flags |= pgFirst
		}
		if l1 == j.k {
			flags |= pgLast
		}
		if j.pairs {
			flags |= pgPairs
		}
		if j.taps3 {
			plane := j.hp * j.wp
			j.im.pg3(s.pgP[:(l1-l0)*stepBytes], width, (l1-l0)/9, plane, j.wp, j.src[l0/9*plane:], bases, acc, flags, j.bias)
		} else {
			kern(s.pgP[:(l1-l0)*stepBytes], width, j.offs[l0:l1], j.src, bases, acc, flags, j.bias)
		}
	}
	j.store(acc, width, grp, q0, nl, r0, nr)
}

// store writes the sums of nr selector rows from r0 (acc, width lanes
// per row) for lanes q0..q0+nl of group grp.
func (j *pgJob) store(acc []uint32, width, grp, q0, nl, r0, nr int) {
	if !j.conv {
		for i := range nr {
			out := j.acc[(r0+i)*j.lanes+q0:][:nl]
			for q, v := range acc[i*width:][:nl] {
				out[q] = int32(v)
			}
		}
		return
	}
	// A convolution's lanes are output channels, opos sums apart: they
	// are written channel by channel, runs of eight positions at a time
	// (pgStoreFunc), then the rest of each run of positions within one
	// image. Writing each row across the channels instead touches a cache
	// line per channel, and with maps of 32x32 those lines are 4 KiB apart
	// and evict each other from L1.
	st, sts := j.im.pgStorer(), j.im.pgScaledStorer()
	ch := grp*j.lanes + q0
	n, pos := r0/j.opos, r0%j.opos
	for i := 0; i < nr; {
		nt := min(nr-i, j.opos-pos)
		at := (n*j.g.O+ch)*j.opos + pos
		groups := nt / 8
		t0 := 8 * groups
		if j.y != nil {
			corr, scale := j.corr[ch:], j.scale[ch:]
			sts(j.y[at:], j.opos, acc[i*width:], width, nl, groups, corr, scale)
			if t0 < nt {
				pgStoreScaledGo(j.y[at+t0:], j.opos, acc[(i+t0)*width:], width, nl, nt-t0, corr, scale)
			}
		} else {
			st(j.acc[at:], j.opos, acc[i*width:], width, nl, groups)
			if t0 < nt {
				pgStoreGo(j.acc[at+t0:], j.opos, acc[(i+t0)*width:], width, nl, nt-t0)
			}
		}
		i += nt
		if pos += nt; pos == j.opos {
			pos, n = 0, n+1
		}
	}
}

// pgStoreScaledFunc is pgStoreFunc writing floats: lane q's sum s becomes
// float32((float64(int32(s)) + corr[q]) * scale[q]), for lanes q < nl.
type pgStoreScaledFunc func(out []float32, opos int, acc []uint32, width, nl, groups int, corr, scale []float64)

// pgStoreScaledGo is pgStoreGo writing floats (pgStoreScaledFunc): the
// portable store and the SIMD stores' tail.
func pgStoreScaledGo(out []float32, opos int, acc []uint32, width, nl, rows int, corr, scale []float64) {
	if rows <= 0 || nl <= 0 {
		return
	}
	acc = acc[:(rows-1)*width+nl]
	for q := range nl {
		o := out[q*opos:][:rows]
		c, sc := corr[q], scale[q]
		for t := range o {
			o[t] = float32((float64(int32(acc[t*width+q])) + c) * sc)
		}
	}
}

// pgStoreScaledGroups is pgStoreScaledGo for blocks of eight rows.
func pgStoreScaledGroups(out []float32, opos int, acc []uint32, width, nl, groups int, corr, scale []float64) {
	pgStoreScaledGo(out, opos, acc, width, nl, 8*groups, corr, scale)
}

// pgScaledStorer is im's store of rescaled sums, the portable one if it
// has none.
func (im *impl) pgScaledStorer() pgStoreScaledFunc {
	if im.pgStoreScaled != nil {
		return im.pgStoreScaled
	}
	return pgStoreScaledGroups
}

// pgStoreFunc writes the lane sums of groups blocks of eight selector
// rows (acc, width lanes per row) to a convolution's output: lane q < nl
// of row t to out[q*opos+t].
type pgStoreFunc func(out []int32, opos int, acc []uint32, width, nl, groups int)

// pgStoreGo writes rows selector rows' lane sums as pgStoreFunc does (any
// number of rows, not only blocks of eight): the portable store and the
// SIMD stores' tail.
func pgStoreGo(out []int32, opos int, acc []uint32, width, nl, rows int) {
	if rows <= 0 || nl <= 0 {
		return
	}
	acc = acc[:(rows-1)*width+nl]
	for q := range nl {
		o := out[q*opos:][:rows]
		for t := range o {
			o[t] = int32(acc[t*width+q])
		}
	}
}

// pgStoreGroups is pgStoreGo for blocks of eight rows.
func pgStoreGroups(out []int32, opos int, acc []uint32, width, nl, groups int) {
	pgStoreGo(out, opos, acc, width, nl, 8*groups)
}

// pgStorer is im's store of a convolution's sums, the portable one if it
// has none.
func (im *impl) pgStorer() pgStoreFunc {
	if im.pgStore != nil {
		return im.pgStore
	}
	return pgStoreGroups
}
