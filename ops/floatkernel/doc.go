// Package floatkernel holds the float32 kernels behind GoApprox's float and
// quantized convolutions: grouped 2-D convolution (forward, backward with
// respect to the input, backward with respect to the weights) by im2col per
// group and one matrix product per group, plus row-major matrix-product
// helpers. Gorgonia has no grouped or depthwise convolution; these kernels
// provide one for the ops package.
//
// Matrix products go through a gonum blas.Float32 implementation chosen by
// the caller (the ops package passes gorgonia.WhichBLAS(), so a user's
// gorgonia.Use(netlib.Implementation{}) speeds these kernels up too).
// Transposed operands are passed as BLAS transpose flags, never copied.
//
// Geometry and layout follow kernel.ConvGeom: NCHW input, weights
// O×(C/Groups)×KH×KW, output N×O×OutH×OutW, all C-order and contiguous.
package floatkernel
