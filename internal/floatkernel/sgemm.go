package floatkernel

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/internal/parallel"
)

// The packed product: gonum's float32 GEMM is built from axpy and dot
// calls (4-wide SSE, reloading C for every inner step) and runs far below
// what the cores can do. When the caller uses gonum's implementation and
// the CPU has a micro-kernel, products run here instead: op(A) is packed
// into panels of mr rows and op(B) into panels of nr columns, kc inner
// steps per block, and a register-blocked micro-kernel computes each mr×nr
// tile of C. Any other BLAS (gorgonia.Use(netlib...)) is called as before.
//
// Every element of C is summed over the inner steps of a block in order,
// starting from zero, and the blocks are added to C in order; the blocks
// are fixed (kc steps), so results do not depend on how C is split into
// tiles or over threads.
const (
	mr = 6   // rows of a micro-tile
	nr = 16  // columns of a micro-tile
	kc = 256 // inner steps per block
)

// microKernel computes C[i][j] += Σ_l a[l*mr+i]·b[l*nr+j] for an mr×nr tile
// of C with rows ldc floats apart, summing over l in order from zero before
// adding to C; microKernelSet writes the sums instead. Nil when the build
// has none; with one, they and the other vector kernels run only where
// asm.AVX2FMA allows.
var microKernel, microKernelSet func(k int, a, b, c *float32, ldc int)

// dotKernel computes c[i*dc+j] = Σ_l a[i*lda+l]·b[j*ldb+l] for i < dr, j <
// dc, l < k, k a multiple of dotStep, summing each in a fixed order. Nil
// when the build has none.
var dotKernel func(k int, a *float32, lda int, b *float32, ldb int, c *float32)

const (
	dr      = 3 // rows of a dot tile (of a)
	dc      = 4 // columns of a dot tile (rows of b)
	dotStep = 8 // the inner length must be a multiple of this
)

// packed reports whether a product can use the packed micro-kernel path.
func packed(impl blas.Float32, alpha float32) bool {
	if microKernel == nil || !asm.AVX2FMA() || alpha != 1 {
		return false
	}
	switch impl.(type) {
	case gonum.Implementation, *gonum.Implementation:
		return true
	}
	return false
}

// packedLen returns the length of a packed operand with the given outer
// size (rows of op(A) or columns of op(B)), tile width and inner size.
func packedLen(outer, tile, k int) int { return ceilDiv(outer, tile) * tile * k }

// zeros stands in for the rows or columns past the edge of an operand.
var zeros [kc]float32

// packA packs op(A) (m×k), whose element (i, l) is src[i*rs+l*cs], into
// panels: block b (steps k0 = b·kc onwards, kl of them) starts at
// k0·mPad, and within it row tile t holds (l, i) at t·mr·kl + l·mr + i.
// Rows past m are zero. Either rs or cs must be 1.
func packA(dst, src []float32, m, k, rs, cs int) {
	mPad := ceilDiv(m, mr) * mr
	for k0 := 0; k0 < k; k0 += kc {
		kl := min(kc, k-k0)
		block := dst[k0*mPad:][:mPad*kl]
		for t := 0; t*mr < m; t++ {
			panel := block[t*mr*kl:][:mr*kl]
			i0 := t * mr
			if cs != 1 { // rs == 1: the tile's rows are contiguous at each step
				rows := min(mr, m-i0)
				for l := 0; l < kl; l++ {
					out := panel[l*mr:][:mr]
					copy(out, src[(k0+l)*cs+i0:][:rows])
					clear(out[rows:])
				}
				continue
			}
			var r [mr][]float32
			for i := range r {
				if i0+i < m {
					r[i] = src[(i0+i)*rs+k0:][:kl]
				} else {
					r[i] = zeros[:kl]
				}
			}
			for l := 0; l < kl; l++ {
				out := panel[l*mr:][:mr]
				out[0], out[1], out[2], out[3], out[4], out[5] = r[0][l], r[1][l], r[2][l], r[3][l], r[4][l], r[5][l]
			}
		}
	}
}

// packB packs op(B) (k×n), whose element (l, j) is src[l*rs+j*cs], into
// panels laid out as packA's with nr columns per tile. Columns past n are
// zero. Either rs or cs must be 1.
func packB(dst, src []float32, k, n, rs, cs int) {
	nPad := ceilDiv(n, nr) * nr
	for k0 := 0; k0 < k; k0 += kc {
		kl := min(kc, k-k0)
		block := dst[k0*nPad:][:nPad*kl]
		for t := 0; t*nr < n; t++ {
			panel := block[t*nr*kl:][:nr*kl]
			c0 := t * nr
			cols := min(nr, n-c0)
			if cs == 1 { // the tile's columns are contiguous at each step
				for l := 0; l < kl; l++ {
					out := panel[l*nr:][:nr]
					copy(out, src[(k0+l)*rs+c0:][:cols])
					clear(out[cols:])
				}
				continue
			}
			var c [nr][]float32
			for j := range c {
				if j < cols {
					c[j] = src[(c0+j)*cs+k0:][:kl]
				} else {
					c[j] = zeros[:kl]
				}
			}
			for l := 0; l < kl; l++ {
				out := panel[l*nr:][:nr]
				for j := range out {
					out[j] = c[j][l]
				}
			}
		}
	}
}

// tileRange is a rectangle of micro-tiles of C: row tiles [r0, r1) and
// column tiles [c0, c1).
type tileRange struct{ r0, r1, c0, c1 int }

// multiplyPacked computes the tiles tr of C = A·B (add: C += A·B) from
// packed operands, C being m×n with rows ldc apart. edge is scratch for
// tiles cut by the edges of C.
func multiplyPacked(pa, pb []float32, m, n, k int, c []float32, ldc int, add bool, tr tileRange, edge *[mr * nr]float32) {
	mPad, nPad := ceilDiv(m, mr)*mr, ceilDiv(n, nr)*nr
	if k == 0 {
		if !add {
			for t := tr.r0; t < tr.r1; t++ {
				for i := t * mr; i < min(t*mr+mr, m); i++ {
					clear(c[i*ldc+tr.c0*nr : i*ldc+min(tr.c1*nr, n)])
				}
			}
		}
		return
	}
	for k0 := 0; k0 < k; k0 += kc {
		kl := min(kc, k-k0)
		blockA, blockB := pa[k0*mPad:], pb[k0*nPad:]
		set := !add && k0 == 0
		for ct := tr.c0; ct < tr.c1; ct++ {
			pbt := &blockB[ct*nr*kl]
			j0 := ct * nr
			cols := min(nr, n-j0)
			for rt := tr.r0; rt < tr.r1; rt++ {
				pat := &blockA[rt*mr*kl]
				i0 := rt * mr
				rows := min(mr, m-i0)
				if rows == mr && cols == nr {
					if set {
						microKernelSet(kl, pat, pbt, &c[i0*ldc+j0], ldc)
					} else {
						microKernel(kl, pat, pbt, &c[i0*ldc+j0], ldc)
					}
					continue
				}
				// A tile cut by an edge of C: compute it whole into the
				// scratch tile and move the part that exists.
				microKernelSet(kl, pat, pbt, &edge[0], nr)
				for i := 0; i < rows; i++ {
					crow := c[(i0+i)*ldc+j0:][:cols]
					src := edge[i*nr:][:cols]
					if set {
						copy(crow, src)
						continue
					}
					for j, v := range src {
						crow[j] += v
					}
				}
			}
		}
	}
}

// packBufs is packing memory for MatMul, which has no Workspace.
type packBufs struct {
	a, b []float32
	edge [][mr * nr]float32
}

var packPool = sync.Pool{New: func() any { return new(packBufs) }}

// packedMatMul is MatMul on the packed path (alpha = 1): both operands are
// packed once, then tiles of C are spread over the workers.
func packedMatMul(transA, transB bool, m, n, k int, a, b []float32, beta float32, c []float32, threads int) {
	add := beta == 1
	if beta != 0 && beta != 1 {
		scaleC(c[:m*n], beta)
		add = true
	}
	bufs := packPool.Get().(*packBufs)
	defer packPool.Put(bufs)
	bufs.a = growFloats(bufs.a, packedLen(m, mr, k))
	bufs.b = growFloats(bufs.b, packedLen(n, nr, k))
	ars, acs := k, 1
	if transA {
		ars, acs = 1, m
	}
	brs, bcs := n, 1
	if transB {
		brs, bcs = 1, k
	}
	packA(bufs.a, a, m, k, ars, acs)
	packB(bufs.b, b, k, n, brs, bcs)
	rowTiles, colTiles := ceilDiv(m, mr), ceilDiv(n, nr)
	// Tasks of up to 8 row tiles × 12 column tiles (48×192 of C).
	rPer, cPer := min(rowTiles, 8), min(colTiles, 12)
	rTasks, cTasks := ceilDiv(rowTiles, rPer), ceilDiv(colTiles, cPer)
	if w := parallel.Threads(threads); rTasks*cTasks < w && rowTiles >= w {
		rPer = ceilDiv(rowTiles, w)
		rTasks = ceilDiv(rowTiles, rPer)
	}
	workers := workerCount(rTasks*cTasks, threads)
	for len(bufs.edge) < workers {
		bufs.edge = append(bufs.edge, [mr * nr]float32{})
	}
	parallelForWorker(rTasks*cTasks, workers, func(w, task int) {
		rt, ct := task/cTasks, task%cTasks
		tr := tileRange{rt * rPer, min(rt*rPer+rPer, rowTiles), ct * cPer, min(ct*cPer+cPer, colTiles)}
		multiplyPacked(bufs.a, bufs.b, m, n, k, c, n, add, tr, &bufs.edge[w])
	})
}

func growFloats[T float32 | float64](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
