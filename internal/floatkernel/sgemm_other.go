//go:build !amd64 || purego

package floatkernel

// No micro-kernel: products go to the caller's BLAS.
