package floatkernel

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/parallel"
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
	MatMulBLAS(impl, transA, transB, m, n, k, alpha, a, b, beta, c, threads)
}

// MatMulBLAS is MatMul through impl's Sgemm even where the packed kernel
// exists. With gonum's BLAS its results are bit for bit those of one Sgemm
// call, which is what gorgonia.Mul computes: tiles sum every element in
// gonum's own order, in inner blocks where gonum would. Float-mode layers use it so that rewriting a graph changes
// nothing until a layer leaves Float mode.
func MatMulBLAS(impl blas.Float32, transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32, threads int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(c[:m*n], beta)
		return
	}
	p := product{impl: impl, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c}
	p.kSteps = gonumSplitsInner(impl, m, n)
	rowTiles, colTiles := ceilDiv(m, tileRows), ceilDiv(n, tileCols)
	rows := tileRows
	if workers := parallel.Threads(threads); rowTiles*colTiles < workers && m >= 2*workers {
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
	kSteps         bool // sum over the inner dimension in gonum's 64-step blocks
}

// gonumBlock is gonum's block size; a product whose C has at least
// gonumParBlocks such blocks is split by gonum over goroutines and summed
// over the inner dimension block by block.
const (
	gonumBlock     = 64
	gonumParBlocks = 4
)

// gonumSplitsInner reports whether one gonum Sgemm call of an m×n C would
// sum over the inner dimension in blocks (its parallel path), which tiles
// must then repeat to give the same bits.
func gonumSplitsInner(impl blas.Float32, m, n int) bool {
	switch impl.(type) {
	case gonum.Implementation, *gonum.Implementation:
		return ceilDiv(m, gonumBlock)*ceilDiv(n, gonumBlock) >= gonumParBlocks
	}
	return false
}

// tile computes rows [i0, i1) and columns [j0, j1) of c.
func (p *product) tile(i0, i1, j0, j1 int) {
	if p.kSteps {
		// As gonum's parallel path: beta once, then each block of inner
		// steps added to c.
		beta := p.beta
		for k0 := 0; k0 < p.k; k0 += gonumBlock {
			p.tileSteps(i0, i1, j0, j1, k0, min(k0+gonumBlock, p.k), beta)
			beta = 1
		}
		return
	}
	p.tileSteps(i0, i1, j0, j1, 0, p.k, p.beta)
}

// tileSteps computes rows [i0, i1) and columns [j0, j1) of c over inner
// steps [k0, k1) with the given beta.
func (p *product) tileSteps(i0, i1, j0, j1, k0, k1 int, beta float32) {
	ta, lda, aOff := blas.NoTrans, p.k, i0*p.k+k0
	if p.transA {
		ta, lda, aOff = blas.Trans, p.m, k0*p.m+i0
	}
	tb, ldb, bOff := blas.NoTrans, p.n, k0*p.n+j0
	if p.transB {
		tb, ldb, bOff = blas.Trans, p.k, j0*p.k+k0
	}
	p.impl.Sgemm(ta, tb, i1-i0, j1-j0, k1-k0, p.alpha, p.a[aOff:], lda, p.b[bOff:], ldb, beta, p.c[i0*p.n+j0:], p.n)
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
