// Package floatkernel holds the float32 kernels behind GoApprox's float and
// quantized layers and behind every layer's gradients: matrix products and
// grouped 2-D convolution (forward, backward with respect to the input,
// backward with respect to the weights). Gorgonia has no grouped or
// depthwise convolution; these kernels provide one for the ops package.
//
// Products go through a gonum blas.Float32 implementation chosen by the
// caller (the ops package passes gorgonia.WhichBLAS()). When that is
// gonum's own implementation and the CPU has AVX2 and FMA, they run on this
// package's packed kernels instead: a 6×16 register-blocked micro-kernel
// over operands packed into panels (256 inner steps per block), and a 3×4
// dot-product kernel for weight gradients, whose two operands (output
// gradient and unfolded input) both run along the output positions. Any
// other BLAS (gorgonia.Use(netlib...)) is called as before; MatMulBLAS
// keeps gonum's exact results where bit-for-bit agreement with gorgonia.Mul
// matters. The purego build tag turns the assembly off.
//
// Stride-1 convolutions mostly skip the column matrix in their gradients:
// the weight gradient of a layer with many outputs broadcasts kernel taps
// straight from the input planes onto the 6×16 register block (taps.go),
// and the forward pass and the data gradient read every tap of the
// zero-padded input or output gradient in place from one offset
// (direct.go). Each is chosen by counting multiply-adds against the other
// paths.
//
// Convolutions unfold (im2col) one image at a time into a worker's buffer,
// with the weights packed once per call. The weight gradient of a stride-1
// convolution skips the unfolding: with the output gradient laid out with
// the zero-padded input's row length, every kernel tap reads the padded
// input plane in place from one offset, and a dot kernel taking its rows by
// pointer gathers taps across kernel rows and channels (see wide.go).
// Depthwise layers (one input channel and fewer than six outputs per
// group) use direct loops instead: one vector axpy or dot per kernel tap
// over a zero-padded plane's phase planes (see phased); vector row movers
// split images into phase planes and merge them back, a plane per call.
// With one output per channel, the common case, two fused paths skip most
// of that: the data gradient computes each row class of dx straight from
// the output gradient and stores it masked, stride 2 interleaving even and
// odd columns in registers (depthwise_fused_amd64.s); the weight gradient
// builds each plane's phase layout in the first-level cache and runs its
// nine dot products in one assembly call per worker and image
// (depthwise_wgrad_amd64.s). Both give the phase-plane path's bits, which
// stays for channel multipliers, narrow rows and the purego build.
//
// A quantized layer's gradients have entry points of their own, so that
// the ops package makes no pass over an input-sized tensor beyond the
// kernel's: Conv2dBackwardDataMasked applies the straight-through mask
// (in the depthwise kernel as it writes dx), and Conv2dBackwardWeightCodes
// reads the input as quantization codes, a byte each, with results bit
// for bit those of the float kernels on the dequantized values.
//
// Work is spread over a given number of threads (<= 0: one per core), on
// the module's long-lived workers (internal/parallel), so a call starts no
// goroutines. Results do not depend on the thread count: elementwise
// work is split, and every float sum (each element of a product, each weight of a weight gradient, whose
// images are cut into blocks fixed by the geometry) keeps one order. A
// Workspace keeps scratch memory between calls, so steady-state calls
// allocate (almost) nothing.
//
// Geometry and layout follow geom.Conv: NCHW input, weights
// O×(C/Groups)×KH×KW, output N×O×OutH×OutW, all C-order and contiguous.
package floatkernel
