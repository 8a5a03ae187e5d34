package floatkernel

import (
	"gonum.org/v1/gonum/blas"
)

// MatMul computes c = alpha·op(a)·op(b) + beta·c for row-major matrices,
// where op(a) is m×k and op(b) is k×n. transA/transB say that a is stored
// k×m / b is stored n×k and is used transposed; the transposition is a BLAS
// flag, not a copy.
func MatMul(impl blas.Float32, transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	ta, lda := blas.NoTrans, k
	if transA {
		ta, lda = blas.Trans, m
	}
	tb, ldb := blas.NoTrans, n
	if transB {
		tb, ldb = blas.Trans, k
	}
	if k == 0 {
		// BLAS requires k >= 1 for the leading dimensions; the product is empty.
		for i := range c[:m*n] {
			if beta == 0 {
				c[i] = 0 // not 0·c: c may hold NaN from a reused buffer
			} else {
				c[i] *= beta
			}
		}
		return
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, max(lda, 1), b, max(ldb, 1), beta, c, max(n, 1))
}
