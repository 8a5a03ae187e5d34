// Package tablegrad computes the backward products of GoApprox's
// approximate layers with a multiplier's own slopes: the multiplier-aware
// alternative to the straight-through estimator.
//
// In the forward pass an approximate layer sums table entries
// T[x][w] over activation codes x and weight codes w. The straight-through
// backward differentiates the exact product instead: the activation's
// gradient gathers weight values, the weight's gradient activation values.
// The multiplier-aware backward uses the table's slopes in their place,
// GX[x][w] along the activation and GW[x][w] along the weight (lut.Gradient,
// smoothed with a window), and leaves the rest of the chain (scales, zero
// points, clipping masks, bias) as it is.
//
// FromTable (or Prepare, given the slopes) arranges a table's slopes once
// per table and window; the Tables it returns are immutable and shared.
// Then, for a layer's forward codes and output gradient:
//
//   - GEMMData and GEMMWeight: a linear layer (activation codes m×k,
//     weight codes n×k as kernel.GEMM takes them; the weight gradient in
//     either weight layout);
//   - Conv2dData and Conv2dWeight: a grouped NCHW convolution of any
//     stride, padding, dilation and group count (depthwise included), with
//     the geometry and code layouts of kernel.Conv2d; padded positions read
//     the activation zero point's code, as in the forward pass;
//   - GEMMBoth: a linear layer's two gradients in one pass over the
//     products, for a training step that needs both (cheaper than the two
//     separate calls).
//
// A Quant gives the scales and zero points, so the results are the
// gradients with respect to the real activations and weights, ready for the
// straight-through masks. Each fast function has a reference (GEMMDataRef
// and so on) that looks up every slope of the definition in the lut's own
// index convention and sums in float64; the fast functions agree with it
// within float32 rounding and return the same bits for every thread count.
// They run on the module's shared workers (internal/parallel) and keep
// their working memory in a Workspace (one per layer) or, given none, in
// pools, so calls in steady state allocate nothing.
//
// With the exact multiplier's slopes the results are the straight-through
// gradients, through the same code as any other table.
package tablegrad
