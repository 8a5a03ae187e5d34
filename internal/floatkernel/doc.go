// Package floatkernel holds the float32 kernels behind GoApprox's float and
// quantized layers and behind every layer's gradients, for the ops package:
//
//   - MatMul and MatMulBLAS: matrix products through a gonum blas.Float32
//     implementation chosen by the caller (the ops package passes
//     gorgonia.WhichBLAS()). MatMulBLAS keeps that implementation's exact
//     results, where bit-for-bit agreement with gorgonia.Mul matters;
//     MatMul may use this package's own kernels when the implementation is
//     gonum's.
//   - Conv2d, Conv2dBackwardData and Conv2dBackwardWeight: grouped 2-D
//     convolution (depthwise included, which Gorgonia lacks) and its
//     gradients with respect to the input and the weights.
//   - Conv2dBackwardDataMasked and Conv2dBackwardWeightCodes: a quantized
//     layer's gradients, the straight-through mask applied as dx is
//     written and the input read as quantization codes, a byte each, with
//     results bit for bit those of the float kernels on the dequantized
//     values, so that ops makes no extra pass over input-sized tensors.
//   - Im2col and Col2im: the unfolding of an image into its column matrix
//     and its adjoint.
//
// Work is spread over a given number of threads (<= 0: one per core), on
// the module's long-lived workers (internal/parallel), so a call starts no
// goroutines. Results do not depend on the thread count: elementwise work
// is split, and every float sum (each element of a product, each weight of
// a weight gradient, whose images are cut into blocks fixed by the
// geometry) keeps one order. A Workspace keeps scratch memory between
// calls, so steady-state calls allocate (almost) nothing.
//
// Results depend on the build: with the assembly (amd64 with AVX2 and FMA,
// without the purego tag, and internal/asm's switch on) the kernels use
// fused multiply-adds and their own summation order; otherwise products go
// to the caller's BLAS. Either way they agree with the definition to float
// rounding and give NaN and ±Inf where it does.
//
// Geometry and layout follow geom.Conv: NCHW input, weights
// O×(C/Groups)×KH×KW, output N×O×OutH×OutW, all C-order and contiguous.
package floatkernel
