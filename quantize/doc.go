// Package quantize maps real values to the 8-bit integer codes that an
// approximate multiplier consumes, and back.
//
// A Scheme says how codes are formed (bit width, signed or unsigned codes,
// affine or symmetric, per tensor or per channel, optionally a narrower code
// range); Params are the concrete scales and zero points of one tensor; an
// Observer watches a tensor during training and proposes Params for it.
// Quantization rounds half to even and clamps to [QMin, QMax], as PyTorch's
// fake-quantization does:
//
//	q = clamp(roundHalfEven(v * (1/scale)) + zeroPoint, QMin, QMax)
//	v' = (q - zeroPoint) * scale
//
// Scales and zero points follow PyTorch's observers exactly
// (Scheme.ParamsFromMinMax), so parameters agree bit for bit with
// TorchApprox for the same observed range.
//
// # Presets
//
// PresetByName returns a documented pairing of activation and weight schemes:
// "signed" (int8 activations affine per tensor, int8 weights symmetric per
// output channel), "unsigned" (uint8 activations and weights, affine, per
// tensor: for unsigned tables such as EvoApprox mul8u) and "torchapprox"
// (activation codes 0..127 affine, int8 weights symmetric per tensor: the
// reference library's default). A lookup table indexes a code by its low
// byte, so a scheme must fit the signedness of the table operand it feeds;
// Preset.Check and Scheme.FitsTable turn a mismatch into an error.
//
// # Observers
//
// NewObserver builds an observer of kind "minmax" (running min/max),
// "moving_average" (PyTorch's moving-average min/max, constant 0.01) or
// "histogram" (clipping range minimising the L2 quantization error); the
// scheme decides per tensor or per channel. Observers skip and count NaN
// and Inf values, keep their parameters while frozen, and serialise their
// state as JSON (State, SetState, ObserverFromState) so that a checkpoint
// restores bit-identical parameters.
package quantize
