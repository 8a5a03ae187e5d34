package kernel

import (
	"fmt"
	"sync"
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
	return gemmWith(current(), acc, x, w, m, n, k, p, threads)
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

// gemmJob is one GEMM call in the row-kernel form: a selector operand of R
// rows whose codes pick table rows, and a lane operand of L rows looked up
// in those table rows, both k long. The lane operand is packed per block of
// maxLanes lanes into a k-major panel so each selector step reads one
// contiguous run of lane codes.
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
}

var gemmJobs = sync.Pool{New: func() any { return new(gemmJob) }}

func gemmWith(im *impl, acc []int32, x, w []byte, m, n, k int, p *Prepared, threads int) error {
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
	j := gemmJobs.Get().(*gemmJob)
	*j = gemmJob{im: im, acc: acc, k: k}
	// Lanes go along whichever operand wastes fewer SIMD lanes; on a tie
	// along the weights, which makes each output row a contiguous write.
	if m*roundLanes(n) <= n*roundLanes(m) {
		j.lay, j.sel, j.r, j.lanes, j.l = &p.byX, x, m, w, n
		j.rowStride, j.laneStride = n, 1
	} else {
		j.lay, j.sel, j.r, j.lanes, j.l = &p.byW, w, n, x, m
		j.rowStride, j.laneStride = 1, n
	}
	if im.biased {
		j.bias = int32(k) * p.base
	}
	threads = resolveThreads(threads)
	threads = min(threads, 1+m*n*k/minParallelWork)
	j.blocks = ceilDiv(j.l, maxLanes)
	chunks := 1
	if want := 2 * threads; j.blocks < want {
		chunks = min(j.r, ceilDiv(want, j.blocks))
	}
	j.rowChunk = ceilDiv(j.r, chunks)
	parallel(j, j.blocks*ceilDiv(j.r, j.rowChunk), threads)
	*j = gemmJob{}
	gemmJobs.Put(j)
	return nil
}

func (j *gemmJob) runTask(t int, s *scratch) {
	b, c := t%j.blocks, t/j.blocks
	q0 := b * maxLanes
	nl := min(maxLanes, j.l-q0)
	k := j.k
	// Pack lanes q0..q0+nl into a k×maxLanes panel; lanes past nl keep
	// stale bytes, which the kernel may read but whose sums are dropped.
	s.src = growBytes(s.src, k*maxLanes)
	src := s.src
	for q := 0; q < nl; q++ {
		for l, v := range j.lanes[(q0+q)*k:][:k] {
			src[l*maxLanes+q] = v
		}
	}
	s.offs = growInt32(s.offs, k)
	for l := range s.offs {
		s.offs[l] = int32(l * maxLanes)
	}
	for r := c * j.rowChunk; r < min(j.r, (c+1)*j.rowChunk); r++ {
		j.im.row(j.lay, j.sel[r*k:][:k], s.offs, src, nl, j.bias, &s.out)
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
