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
// A Preset is a documented pairing of activation and weight schemes with
// their observers: Signed (int8 activations affine per tensor, int8 weights
// symmetric per output channel), Unsigned (uint8 activations and weights,
// affine, per tensor: for unsigned tables such as EvoApprox mul8u) and
// TorchApprox (activation codes 0..127 affine, int8 weights symmetric per
// tensor: the reference library's default). Their names, "signed",
// "unsigned" and "torchapprox", are what flags take: PresetByName and
// PresetNames. A lookup table indexes a code by its low byte, so a scheme
// must fit the signedness of the table operand it feeds; Preset.Check and
// Scheme.FitsTable turn a mismatch into an error.
//
// # Observers
//
// NewObserver builds an observer of an ObserverKind: KindMinMax (running
// min/max), KindMovingAverage (PyTorch's moving-average min/max, constant
// 0.01) or KindHistogram (clipping range minimising the L2 quantization
// error); the scheme decides per tensor or per channel. A kind's name
// ("minmax", "moving_average", "histogram") is what flags and observer
// states hold: ParseObserverKind, ObserverNames, and *ObserverKind is a
// flag.Value. Observers skip and count NaN and Inf values, keep their
// parameters while frozen, and serialise their state as JSON (State,
// SetState, ObserverFromState) so that a checkpoint restores bit-identical
// parameters.
package quantize
