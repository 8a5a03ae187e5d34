// Package quantize maps real values to the 8-bit integer codes that an
// approximate multiplier consumes, and back.
//
// A Scheme says how codes are formed (bit width, signed or unsigned codes,
// affine or symmetric, per tensor or per channel); Params are the concrete
// scales and zero points of one tensor; an Observer watches a tensor during
// training and proposes Params for it. Quantization rounds half to even and
// clamps to [QMin, QMax], as PyTorch's fake-quantization does:
//
//	q = clamp(roundHalfEven(v/scale) + zeroPoint, QMin, QMax)
//	v' = (q - zeroPoint) * scale
package quantize
