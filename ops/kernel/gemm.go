package kernel

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/goapprox/goapprox/internal/parallel"
)

// minParallelWork is the number of lookups below which a call runs on the
// calling goroutine only: handing work to other threads costs a few
// microseconds, which is more than a small call takes.
const minParallelWork = 1 << 16

// GEMM computes exactly what GEMMRef computes, fast:
//
//	acc[i*n+j] = Σ_l table[x[i*k+l]<<8 | w[j*k+l]]   for i < m, j < n
//
// with x m×k activation codes, w n×k weight codes (one row per output
// feature) and sums wrapping in int32. It runs on threads goroutines
// (threads <= 0: runtime.GOMAXPROCS(0)) and returns the same integers for
// every thread count. Buffers may be longer than needed; only acc[:m*n] is
// written. Working memory comes from a pool shared by all calls, so calls in
// steady state allocate nothing.
func GEMM(acc []int32, x, w []byte, m, n, k int, p *Prepared, threads int) error {
	return gemmWith(current(), gemmAuto, acc, x, w, m, n, k, p, threads)
}

func checkGEMM(acc []int32, x, w []byte, m, n, k int, p *Prepared) error {
	switch {
	case p == nil:
		return fmt.Errorf("kernel: GEMM needs a prepared table (kernel.Prepare), got nil")
	case m < 0 || n < 0 || k < 0:
		return fmt.Errorf("kernel: GEMM sizes m=%d, n=%d, k=%d must not be negative", m, n, k)
	case len(x) < m*k:
		return fmt.Errorf("kernel: GEMM activations hold %d codes, need m*k = %d*%d = %d", len(x), m, k, m*k)
	case len(w) < n*k:
		return fmt.Errorf("kernel: GEMM weights hold %d codes, need n*k = %d*%d = %d", len(w), n, k, n*k)
	case len(acc) < m*n:
		return fmt.Errorf("kernel: GEMM output holds %d sums, need m*n = %d*%d = %d", len(acc), m, n, m*n)
	}
	return nil
}

// gemmOrient says which operand a GEMM runs along the lanes; tests force
// each one.
type gemmOrient int

const (
	gemmAuto      gemmOrient = iota
	gemmLanesW               // lanes over weight rows (output features), activation codes select
	gemmLanesX               // lanes over activation rows (batch), weight codes select
	gemmPregather            // lanes over weight rows, pre-gathered (pregather.go)
)

// gemmJob is one GEMM call in the row-kernel form: a selector operand of R
// rows whose codes pick table rows, and a lane operand of L rows looked up
// in those table rows, both k long. The lane operand is packed once per
// call, per block of maxLanes lanes, into a k-major panel so that each
// selector step reads one contiguous run of lane codes; the tasks (lane
// block, chunk of selector rows) then only read it.
type gemmJob struct {
	im         *impl
	lay        *layout
	acc        []int32
	sel, lanes []byte
	r, l, k    int
	// acc index of (selector row r, lane q) is r*rowStride + q*laneStride.
	rowStride, laneStride int
	bias                  int32
	blocks, rowChunk      int
	// The panel holds block b from b*k*maxLanes, k rows of width bytes
	// (maxLanes, or for the last block its lane count rounded up to a
	// kernel width, lastWidth), so a narrow block's panel is compact.
	// offs and offsLast are the offsets of the steps' rows for full and
	// last blocks. They are kept with the pooled job so calls allocate
	// nothing.
	panel          []byte
	lastWidth      int
	offs, offsLast []int32
}

var gemmJobs = sync.Pool{New: func() any { return new(gemmJob) }}

// minPackBytes is the panel size below which one thread packs it: waking
// the other threads for less costs more than it saves.
const minPackBytes = 1 << 15

func gemmWith(im *impl, orient gemmOrient, acc []int32, x, w []byte, m, n, k int, p *Prepared, threads int) error {
	if err := checkGEMM(acc, x, w, m, n, k, p); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 {
		clear(acc[:m*n])
		return nil
	}
	im = im.forTable(p)
	switch orient {
	case gemmPregather:
		if pgUsable(p, n, k, m*k) {
			gemmPregathered(im, acc, x, w, m, n, k, p, threads)
			return nil
		}
		orient = gemmAuto
	case gemmAuto:
		if gemmPicksPregather(im, p, m, n, k, threads) {
			gemmPregathered(im, acc, x, w, m, n, k, p, threads)
			return nil
		}
	}
	j := gemmJobs.Get().(*gemmJob)
	*j = gemmJob{im: im, acc: acc, k: k, panel: j.panel, offs: j.offs, offsLast: j.offsLast}
	// On a tie lanes go along the weights, which makes each output row a
	// contiguous write.
	if orient == gemmLanesW || orient == gemmAuto && gemmCost(im, m, n, k) <= gemmCost(im, n, m, k) {
		j.lay, j.sel, j.r, j.lanes, j.l = &p.byX, x, m, w, n
		j.rowStride, j.laneStride = n, 1
	} else {
		j.lay, j.sel, j.r, j.lanes, j.l = &p.byW, w, n, x, m
		j.rowStride, j.laneStride = 1, n
	}
	if im.biased {
		j.bias = int32(k) * p.base
	}
	j.blocks = ceilDiv(j.l, maxLanes)
	j.lastWidth = roundLanes(j.l - (j.blocks-1)*maxLanes)
	// The kernel reads up to maxLanes bytes from every offset (see
	// maxLanes): slack past the last block's rows.
	j.panel = growBytes(j.panel, (j.blocks-1)*k*maxLanes+k*j.lastWidth+maxLanes)
	j.offs = stepOffsets(j.offs, k, maxLanes)
	j.offsLast = stepOffsets(j.offsLast, k, j.lastWidth)

	threads = resolveThreads(threads)
	threads = min(threads, 1+m*n*k/minParallelWork)
	// Pack in groups of 8 steps (see packPanel).
	groups := ceilDiv(k, 8)
	parallel.Run(groups, threads, ceilDiv(minPackBytes, 8*j.l), (*gemmPacker)(j))

	chunks := 1
	if want := 4 * threads; j.blocks < want {
		chunks = min(j.r, ceilDiv(want, j.blocks))
	}
	j.rowChunk = ceilDiv(j.r, chunks)
	runTasks(j, j.blocks*ceilDiv(j.r, j.rowChunk), threads)
	*j = gemmJob{panel: j.panel, offs: j.offs, offsLast: j.offsLast}
	gemmJobs.Put(j)
	return nil
}

// gemmPicksPregather says whether the pre-gathered path is estimated to
// cost less than the row kernel in either orientation.
func gemmPicksPregather(im *impl, p *Prepared, m, n, k, threads int) bool {
	c, ok := pgCost(im, p, 1, m, n, k, m*k, resolveThreads(threads))
	return ok && c < min(gemmCost(im, m, n, k), gemmCost(im, n, m, k))
}

// gemmCost estimates, in lookups of im, a GEMM whose selector operand has
// r rows and lane operand l rows, both k long: the lanes the kernel
// computes (wasted ones included), the fixed cost of each row-kernel call
// and of each selector step (loading a table row), and packing the lane
// operand. The step cost is what makes the wider lane operand cheaper when
// lanes are wasted either way: LeNet-5's fc1 (batch 64, 400 -> 120) loads
// 64*400 table rows with lanes along its 120 outputs, 120*400 along its
// batch.
func gemmCost(im *impl, r, l, k int) int {
	calls := r * ceilDiv(l, maxLanes)
	return r*k*roundLanes(l) + calls*(im.callCost+k*im.stepCost) + im.packCost*l*k
}

// stepOffsets returns offs grown to k entries, offs[l] = l*width.
func stepOffsets(offs []int32, k, width int) []int32 {
	offs = growInt32(offs, k)
	for l := range offs {
		offs[l] = int32(l * width)
	}
	return offs
}

// gemmPacker packs a gemmJob's panel, a part of its steps at a time.
type gemmPacker gemmJob

// Run packs steps [8*lo, 8*hi) of every lane block.
func (pk *gemmPacker) Run(_, lo, hi int) {
	j := (*gemmJob)(pk)
	l0, l1 := 8*lo, min(8*hi, j.k)
	for b := 0; b < j.blocks; b++ {
		q0 := b * maxLanes
		nl, width := maxLanes, maxLanes
		if b == j.blocks-1 {
			nl, width = j.l-q0, j.lastWidth
		}
		packPanel(j.panel[b*j.k*maxLanes:], width, j.lanes[q0*j.k:], j.k, nl, l0, l1)
	}
}

// packPanel transposes steps [l0, l1) of lanes rows of k codes into panel
// rows of width bytes: panel[l*width+q] = lanes[q*k+l] for q < nl. Lanes
// past nl are left as they are: the kernel reads them, but their sums are
// dropped. Blocks of 8 lanes by 8 steps move as eight 64-bit words each
// way, transposed in registers; l0 is a multiple of 8.
func packPanel(panel []byte, width int, lanes []byte, k, nl, l0, l1 int) {
	q := 0
	for ; q+8 <= nl; q += 8 {
		rows := lanes[q*k:][:8*k]
		l := l0
		for ; l+8 <= l1; l += 8 {
			transpose8(panel[l*width+q:], width, rows[l:], k)
		}
		for ; l < l1; l++ {
			for i := range 8 {
				panel[l*width+q+i] = rows[i*k+l]
			}
		}
	}
	for ; q < nl; q++ {
		row := lanes[q*k:][:k]
		for l := l0; l < l1; l++ {
			panel[l*width+q] = row[l]
		}
	}
}

// transpose8 sets dst[j*dstPitch+i] = src[i*srcPitch+j] for i, j < 8: each
// of the eight source rows is one 64-bit word, and three rounds of swaps
// (of bytes, byte pairs, then halves between words 1, 2 and 4 apart)
// transpose the 8x8 byte matrix in registers.
func transpose8(dst []byte, dstPitch int, src []byte, srcPitch int) {
	src = src[:7*srcPitch+8]
	dst = dst[:7*dstPitch+8]
	a0 := binary.LittleEndian.Uint64(src[0*srcPitch:])
	a1 := binary.LittleEndian.Uint64(src[1*srcPitch:])
	a2 := binary.LittleEndian.Uint64(src[2*srcPitch:])
	a3 := binary.LittleEndian.Uint64(src[3*srcPitch:])
	a4 := binary.LittleEndian.Uint64(src[4*srcPitch:])
	a5 := binary.LittleEndian.Uint64(src[5*srcPitch:])
	a6 := binary.LittleEndian.Uint64(src[6*srcPitch:])
	a7 := binary.LittleEndian.Uint64(src[7*srcPitch:])
	// Byte j of word i is element (i, j). Swap the off-diagonal bytes of
	// each 2x2 block, then the off-diagonal byte pairs of each 4x4 block,
	// then the off-diagonal 4x4 blocks.
	const m1, m2, m4 = 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF
	a0, a1 = swapBits(a0, a1, 8, m1)
	a2, a3 = swapBits(a2, a3, 8, m1)
	a4, a5 = swapBits(a4, a5, 8, m1)
	a6, a7 = swapBits(a6, a7, 8, m1)
	a0, a2 = swapBits(a0, a2, 16, m2)
	a1, a3 = swapBits(a1, a3, 16, m2)
	a4, a6 = swapBits(a4, a6, 16, m2)
	a5, a7 = swapBits(a5, a7, 16, m2)
	a0, a4 = swapBits(a0, a4, 32, m4)
	a1, a5 = swapBits(a1, a5, 32, m4)
	a2, a6 = swapBits(a2, a6, 32, m4)
	a3, a7 = swapBits(a3, a7, 32, m4)
	binary.LittleEndian.PutUint64(dst[0*dstPitch:], a0)
	binary.LittleEndian.PutUint64(dst[1*dstPitch:], a1)
	binary.LittleEndian.PutUint64(dst[2*dstPitch:], a2)
	binary.LittleEndian.PutUint64(dst[3*dstPitch:], a3)
	binary.LittleEndian.PutUint64(dst[4*dstPitch:], a4)
	binary.LittleEndian.PutUint64(dst[5*dstPitch:], a5)
	binary.LittleEndian.PutUint64(dst[6*dstPitch:], a6)
	binary.LittleEndian.PutUint64(dst[7*dstPitch:], a7)
}

// swapBits exchanges the bits of lo selected by mask<<s with the bits of
// hi selected by mask.
func swapBits(lo, hi uint64, s uint, mask uint64) (uint64, uint64) {
	t := (lo>>s ^ hi) & mask
	return lo ^ t<<s, hi ^ t
}

// Run runs tasks [lo, hi) for the shared pool (see runTasks).
func (j *gemmJob) Run(_, lo, hi int) { tasks(j, lo, hi) }

func (j *gemmJob) runTask(t int, s *scratch) {
	b, c := t%j.blocks, t/j.blocks
	q0 := b * maxLanes
	nl := min(maxLanes, j.l-q0)
	offs := j.offs
	if b == j.blocks-1 {
		offs = j.offsLast
	}
	src := j.panel[b*j.k*maxLanes:]
	k := j.k
	for r := c * j.rowChunk; r < min(j.r, (c+1)*j.rowChunk); r++ {
		j.im.row(j.lay, j.sel[r*k:][:k], offs, src, nl, j.bias, &s.out)
		at := r*j.rowStride + q0*j.laneStride
		if j.laneStride == 1 {
			copy(j.acc[at:at+nl], s.out[:nl])
			continue
		}
		for q, v := range s.out[:nl] {
			j.acc[at+q*j.laneStride] = v
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// roundLanes is the number of lanes the SIMD kernel computes for l real
// lanes: whole blocks of maxLanes, the last block rounded up to 64, 128 or
// 256 lanes (the widths of its variants).
func roundLanes(l int) int {
	full, tail := l/maxLanes*maxLanes, l%maxLanes
	switch {
	case tail == 0:
		return full
	case tail <= 64:
		return full + 64
	case tail <= 128:
		return full + 128
	}
	return full + maxLanes
}
