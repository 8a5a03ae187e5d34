// Package kernel holds the integer kernels behind GoApprox's approximate
// operations: matrix multiplication and 2-D convolution in which every
// product of an activation code and a weight code is looked up in a
// multiplier's 256x256 table and the looked-up products are summed in int32.
//
// Each kernel has a plain reference implementation (GEMMRef, Conv2dRef) that
// is obviously correct and is the specification; the fast implementations
// (GEMM, Conv2d) must return exactly the same integers for every input and
// for any number of threads. Codes are passed as bytes: the table index of
// an integer code is its low byte (see package lut).
//
// Use: p := Prepare(table) once per table (it is immutable and shared by
// all goroutines), then GEMM and Conv2d as often as needed. Conv2dRescaled
// is Conv2d with the sums turned into float32 per output channel as a
// quantized layer's output is (a correction added, a scale multiplied),
// bit for bit as rescaling Conv2d's sums would. All three run on all
// cores by default, on the module's shared workers (internal/parallel),
// validate their arguments and return an error for bad sizes, and take
// their working memory from a pool, so calls in steady state allocate
// nothing.
//
// Implementation names the kernel in use ("avx512vbmi", "avx2" or "go");
// SetAssembly turns the SIMD kernels off (the portable one computes the same integers), and the build
// tag purego leaves it out.
package kernel
