// Package approxlayer holds quantizable, approximate layers for Gorgonia
// graphs: Linear and Conv2d (grouped and depthwise included), each owning
// its weight, an optional bias, and an ops.LayerState with its observers,
// quantization parameters, multiplier table and mode.
//
// A layer is built in one of two ways:
//
//   - NewLinear and NewConv2d create the weight (and bias) nodes with a
//     seeded initialisation, for people who build a model directly; the
//     layer is then applied once with Forward.
//   - WrapLinear and WrapConv2d take a weight node that already exists and
//     the input it multiplies; package graph uses them to rewrite ordinary
//     Gorgonia graphs.
//
// Layers work on float32 or float64 graphs (WithFloat64 makes NewLinear
// and NewConv2d create float64 parameters). A linear layer's weight may be
// a vector (in): a layer with one output, quantized per tensor, as
// gorgonia.Mul(X, theta) computes.
//
// Either way the mode (Float, Quantized, Noise, Approximate, Surrogate, Observe) and
// the table are read by the ops on every run, so they are switched per
// layer at run time without rebuilding the graph or the machine. A Registry
// keeps the layers of a model in order and applies a mode, a table,
// surrogate settings, noise, thread counts, training or a freeze to all of
// them or to those whose names match glob patterns: the get_approx_modules
// of TorchApprox.
//
// A layer's state changes one way: through the setters of the layer
// (SetMode, SetTable, SetQuantParams, SetNoise, SetGradient,
// SetSurrogateRank, SetThreads, Reseed, SetTraining, RecordHistograms,
// FreezeObservers, ...) or of the registry, each of which checks what it is
// given, or through construction options (WithPreset, WithObserver,
// WithSeed, WithGorgoniaFloat). State returns a copy for reading.
//
// # Error surrogate
//
// Surrogate mode computes a layer's sums with the table's low-rank error
// surrogate (package surrogate) instead of table lookups. SetSurrogateRank
// fixes its rank; SetSurrogateFidelity picks the smallest rank reproducing
// a share of the table's error. With weighted, the fit weights codes by the
// histograms the layer recorded (RecordHistograms), copied when the setter
// runs. The fit is cached per table and settings; FitSurrogates does it
// ahead of the first run.
//
// SetGradient (per layer, or by pattern on the registry) chooses the
// backward pass: straight-through (the default) or the multiplier's own
// slopes (ops.TableGradient), which need Approximate mode when the layer
// trains. Checkpoints record it.
//
// # Quantization
//
// A layer's quantization comes from a preset of package quantize (default
// "torchapprox": activations unsigned affine 0..127, weights int8 symmetric
// per tensor). Observers watch the activations and weights on training runs
// outside Float mode and refresh the scales and zero points; freezing them
// keeps the parameters fixed. Per-channel weight schemes are pointed at the
// layer's output-channel axis.
//
// Layers start in Float mode and in training (as PyTorch modules do); call
// SetTraining(false) to evaluate: observers stop and Noise mode adds no
// noise.
//
// # Checkpoints
//
// Save writes a model's state (weights, biases, extra parameters, observer
// and quantization state, modes, noise and surrogate settings, and each
// layer's table by name and fingerprint) to one file, atomically; Load restores it so that
// the outputs are bit-identical. float64 tensors are stored as float64. Tables are not stored: Load asks a
// resolver for each by name and checks its fingerprint.
package approxlayer
