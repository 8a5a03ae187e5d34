package floatkernel

import (
	"gonum.org/v1/gonum/blas"
)

// Gonum's Sgemm spreads a product over new goroutines (allocating on every
// call) once C has at least 4 blocks of 64×64; inside this package's own
// parallel loops that nests parallelism and allocates per call. Products
// are therefore cut into tiles of at most tileRows×tileCols of C, which
// gonum computes serially, and the tiles are spread over this package's
// workers. Every tile sums over the whole inner dimension in BLAS's order,
// so the result does not depend on the thread count.
const (
	tileRows = 64
	tileCols = 3 * 64
)

// MatMul computes c = alpha·op(a)·op(b) + beta·c for row-major matrices,
// where op(a) is m×k and op(b) is k×n, on up to threads workers (threads
// <= 0: one per core). transA/transB say that a is stored k×m / b is stored
// n×k and is used transposed; the transposition is a BLAS flag, not a copy.
func MatMul(impl blas.Float32, transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32, threads int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(c[:m*n], beta)
		return
	}
	if packed(impl, alpha) {
		packedMatMul(transA, transB, m, n, k, a, b, beta, c, threads)
		return
	}
	p := product{impl: impl, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c}
	rowTiles, colTiles := ceilDiv(m, tileRows), ceilDiv(n, tileCols)
	rows := tileRows
	if workers := resolveThreads(threads); rowTiles*colTiles < workers && m >= 2*workers {
		// Too few tiles to keep every worker busy: cut the rows finer.
		rows = ceilDiv(m, workers)
		rowTiles = ceilDiv(m, rows)
	}
	parallelFor(rowTiles*colTiles, threads, func(t int) {
		i0, j0 := (t/colTiles)*rows, (t%colTiles)*tileCols
		p.tile(i0, min(i0+rows, m), j0, min(j0+tileCols, n))
	})
}

// matMulSerial is MatMul on the calling goroutine, for use inside this
// package's parallel loops.
func matMulSerial(impl blas.Float32, transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(c[:m*n], beta)
		return
	}
	if packed(impl, alpha) {
		packedMatMul(transA, transB, m, n, k, a, b, beta, c, 1)
		return
	}
	p := product{impl: impl, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c}
	for i0 := 0; i0 < m; i0 += tileRows {
		for j0 := 0; j0 < n; j0 += tileCols {
			p.tile(i0, min(i0+tileRows, m), j0, min(j0+tileCols, n))
		}
	}
}

// product is one matrix product c = alpha·op(a)·op(b) + beta·c, all
// row-major and contiguous.
type product struct {
	impl           blas.Float32
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
}

// tile computes rows [i0, i1) and columns [j0, j1) of c.
func (p *product) tile(i0, i1, j0, j1 int) {
	ta, lda, aOff := blas.NoTrans, p.k, i0*p.k
	if p.transA {
		ta, lda, aOff = blas.Trans, p.m, i0
	}
	tb, ldb, bOff := blas.NoTrans, p.n, j0
	if p.transB {
		tb, ldb, bOff = blas.Trans, p.k, j0*p.k
	}
	p.impl.Sgemm(ta, tb, i1-i0, j1-j0, p.k, p.alpha, p.a[aOff:], lda, p.b[bOff:], ldb, p.beta, p.c[i0*p.n+j0:], p.n)
}

// scaleC sets c to beta·c for an empty product; BLAS requires k >= 1.
func scaleC(c []float32, beta float32) {
	for i := range c {
		if beta == 0 {
			c[i] = 0 // not 0·c: c may hold NaN from a reused buffer
		} else {
			c[i] *= beta
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
