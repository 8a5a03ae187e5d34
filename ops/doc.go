// Package ops holds GoApprox's Gorgonia operations: fake quantization and
// the approximate matrix product and 2-D convolution, in which every product
// of an activation code and a weight code is looked up in a multiplier's
// 256x256 table, plus a plain float grouped/depthwise convolution that
// Gorgonia lacks.
//
// An approximate layer's run-time state (mode, table, quantization
// parameters, observers, noise) lives in a LayerState shared by the layer
// and its ops and read on every run, so switching mode or table never needs
// a new graph or machine. Whoever creates a LayerState and hands it to the
// ops owns it and may change its fields between runs (Validate checks them
// at every run); the layers of package approxlayer own theirs and are
// changed only through their setters, which check each change, and show
// their state as a copy. In every mode the forward result is:
//
//   - Float: the float product.
//   - Quantized: the float product of the fake-quantized input and weights.
//   - Noise: Quantized plus, in training only, N(0,1)·std(y)·NoiseSigma +
//     NoiseMu (std unbiased; the gradient flows through std(y)).
//   - Approximate: integer codes, acc = Σ lut[x_code][w_code] (activation =
//     row, weight = column, index = code & 0xFF, everywhere), the exact
//     zero-point correction T = acc − zx·Σw_q − zw[o]·Σx_q + K·zx·zw[o]
//     (convolution padding carries the code zx), and one rescale
//     y = T·sx·sw[o], computed in float64 and stored as float32.
//   - Surrogate: Approximate with acc replaced by the float32 sums of the
//     table's error surrogate (package surrogate: the exact product plus
//     r rank-1 error terms, as float GEMMs; padding carries the code zx).
//     LayerState.Surrogate sets r, or a fidelity target choosing it, and
//     the code weighting of the fit; the fit (about 43 ms) is cached per
//     table and settings. At full rank it equals Approximate up to float32
//     rounding of the sums. The surrogate's GEMMs run on gonum's float32
//     BLAS with its own workers, not LayerState.Threads.
//   - Observe: the float product, as Float; in training runs the
//     observers watch the inputs and weights, so that a following
//     Quantized run starts from ranges that saw the data (PyTorch's
//     disable_fake_quant with the observers enabled).
//
// Gradients are straight-through by default, in every mode: those of the
// exact product of the fake-quantized float tensors, passed only where a
// value fell inside [qmin, qmax]; scales and zero points get none. In
// Approximate mode a layer may instead differentiate its multiplier
// (LayerState.Gradient = TableGradient, with a smoothing window): the
// table's slopes along each operand (lut.Gradient, computed by
// internal/tablegrad from the forward run's codes) replace the operands'
// values, and masks, scales and zero points act as before. With the exact
// multiplier both give the same gradients. The slopes are prepared once per
// table and window and cached in the LayerState; a training step in another
// mode with table gradients is an error. Gradient ops are added by symbolic differentiation (SDOp), so
// the ops run under gorgonia's TapeMachine; the LispMachine (ADOp.DoDiff)
// is not supported.
//
// The ops take float32 or float64 tensors (both inputs of one dtype). A
// float64 value is quantized as its float32 rounding is, so codes and
// integer sums equal the float32 op's; the result is kept in float64 (the
// rescale is not rounded to float32). A linear op's weight may be a vector:
// one output. Activations are quantized per tensor; weights per tensor or
// per output channel.
//
// Performance: an op node keeps its output tensor and scratch memory from
// run to run (a result is valid until the node runs again, as for any
// Gorgonia value). The forward run of a node with gradient ops keeps the
// fake-quantized inputs and masks, which its gradient ops reuse when handed
// the very same data. A gradient that no node uses (a first layer's
// gradient with respect to the data batch, which Gorgonia adds and runs
// anyway) is not computed. Quantization and the final rescale have AVX2
// loops; all work is spread over LayerState.Threads workers with results
// independent of the count. The float64 ops, and vector weights, run on
// generic code (quantg.go, linearg.go, convg.go): plain loops, gorgonia's
// BLAS, and a convolution computed as gorgonia.Conv2d computes it.
package ops
