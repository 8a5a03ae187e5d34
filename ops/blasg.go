package ops

import (
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/internal/values"
)

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gemm computes c = op(a)·op(b) (row-major, leading dimensions given)
// through the BLAS gorgonia uses, Sgemm or Dgemm by T: the call gorgonia's
// own matrix product makes, so that Float mode gives gorgonia's bits.
func gemm[T values.Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	impl := gorgonia.WhichBLAS()
	switch a := any(a).(type) {
	case []float64:
		impl.Dgemm(trans(transA), trans(transB), m, n, k, 1, a, lda, any(b).([]float64), ldb, 0, any(c).([]float64), ldc)
	case []float32:
		impl.Sgemm(trans(transA), trans(transB), m, n, k, 1, a, lda, any(b).([]float32), ldb, 0, any(c).([]float32), ldc)
	}
}

// gemv computes y = a·x for a row-major m×n matrix a, as gorgonia's
// matrix-vector product does.
func gemv[T values.Float](m, n int, a, x, y []T) {
	if m == 0 {
		return
	}
	impl := gorgonia.WhichBLAS()
	switch a := any(a).(type) {
	case []float64:
		impl.Dgemv(blas.NoTrans, m, n, 1, a, max(n, 1), any(x).([]float64), 1, 0, any(y).([]float64), 1)
	case []float32:
		impl.Sgemv(blas.NoTrans, m, n, 1, a, max(n, 1), any(x).([]float32), 1, 0, any(y).([]float32), 1)
	}
}
