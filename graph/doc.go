// Package graph rewrites an ordinary Gorgonia graph into one whose layers
// are quantizable, approximate layers (package approxlayer): the
// counterpart of TorchApprox's wrap_quantizable and prepare_qat.
//
// # What is converted
//
//   - x·W: gorgonia.Mul(x, W) with x (batch, in) and a learnable weight
//     leaf W (in, out), the usual Gorgonia dense layer. W stays (in, out).
//   - W·x: gorgonia.Mul(W, x) with W (out, in) and x a vector (in), or a
//     matrix (in, batch) whose columns are the samples; the layer computes
//     on xᵀ and transposes the result back, so the output keeps its shape
//     (this costs two transposes).
//   - X·theta, theta·X, x·W and theta·x: gorgonia.Mul with a weight vector
//     (a linear layer with one output, as in linear and logistic
//     regression) or with one sample as a vector.
//   - gorgonia.Conv2d(x, W, ...), which gorgonia lowers to five nodes
//     (im2col, reshape, A×Bᵀ, reshape, transpose) plus a reshape of W; the
//     whole pattern becomes one approximate convolution with the same
//     padding, stride and dilation.
//   - ops.GroupedConv2d (grouped and depthwise convolution).
//
// A weight is a float32 or float64 leaf (an input node, as created by
// NewMatrix, NewVector or NewTensor) of rank 1 or 2 (linear) or 4
// (convolution). When both operands of a Mul are leaves, the weight is the
// right one of two matrices (the x·W idiom), the vector of a matrix and a
// vector, the left one of two vectors; list the weights in Options.Weights
// to say otherwise. Biases are not part of a layer here: the addition that
// follows the product is copied unchanged, which computes the same thing
// (TorchApprox, too, adds the bias in float after the approximate
// product).
//
// A layer is named after its weight node. Options choose which layers to
// convert (glob patterns, skipping the first or last layer), the
// quantization preset, the observer kind and the seed of the layers' noise.
//
// # How
//
// Gorgonia cannot edit a graph: a node's op and inputs are unexported and
// fixed, and RemoveNode leaves its parents pointing at nothing. Rewrite
// therefore copies the graph node by node into a new one, applying every
// op to the copies of its inputs (gorgonia.ApplyOp) and building the
// approximate layers where the patterns above were. Leaves keep their
// names, types and (copied) values, so learnable weights stay learnable:
// call gorgonia.Grad on the new cost with the new weight nodes, which
// Result.Node and Result.Layers give.
//
// The original graph is left as it was. Some gorgonia ops carry run-time
// state in a pointer (max-pooling keeps its argmax mask), and the copy
// shares the op value with the original, so do not run the two graphs at
// the same time.
//
// # What is refused
//
// Rewrite runs before gorgonia.Grad: a graph that already holds gradient
// nodes is refused, as are random nodes (GaussianRandomNode and the like:
// gorgonia draws them from its own clock-seeded generator and merges equal
// ones by hash, so a copy cannot reproduce them) and statement nodes
// (gorgonia.Read, Set), whose copies would write into the original's
// variables. Add those to the rewritten graph instead. gorgonia.Dropout,
// which gorgonia seeds from the clock, becomes nn.Dropout with the same
// probability and a generator seeded from Options.Seed, so that runs of the
// rewritten graph repeat.
//
// In Float mode the rewritten layers compute what the original computed,
// bit for bit: a product makes gorgonia's own BLAS call, a convolution
// that replaces gorgonia.Conv2d computes as it does
// (approxlayer.WithGorgoniaFloat; Options.FastFloat trades that for the
// faster float kernels).
package graph
