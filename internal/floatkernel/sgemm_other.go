//go:build !amd64 || purego

package floatkernel

// No micro-kernel: products go to the caller's BLAS.

func widenRows(dst, src []float32, rows, cols, pad int) { widenRowsGo(dst, src, rows, cols, pad) }
