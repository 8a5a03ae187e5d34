package floatkernel

import (
	"fmt"

	"gonum.org/v1/gonum/blas"

	"github.com/goapprox/goapprox/ops/geom"
)

// The gradients of a quantized layer differ from a float layer's in two
// places: the straight-through estimator zeroes the input gradient where
// the input was clamped to the code range (a mask), and the weight
// gradient reads the fake-quantized input, which the forward run has as
// codes anyway. The entry points below take both in those forms, so that
// the ops package makes no extra pass over an input-sized tensor: for a
// depthwise layer, whose kernels are bound by memory traffic, each such
// pass costs about as much as the kernel itself.

// maskChunk is the number of elements a worker masks at a time.
const maskChunk = 1 << 15

// Conv2dBackwardDataMasked is Conv2dBackwardData followed by dx[i] = +0
// wherever mask[i] is false (mask nil: no mask), bit for bit: a masked
// element is +0 even where the gradient was NaN or infinite, as when its
// bits are ANDed with zero. Depthwise layers, the direct layout and the
// stride phases apply the mask as they write dx; the others in one vector pass after it.
func Conv2dBackwardDataMasked(impl blas.Float32, dx, dy, w []float32, mask []bool, g geom.Conv, threads int, ws *Workspace) error {
	if err := check(g, dx, w, dy); err != nil {
		return err
	}
	if mask != nil && len(mask) != len(dx) {
		return fmt.Errorf("floatkernel: mask has %d elements, want one per input element (%d) or nil for none", len(mask), len(dx))
	}
	if ws == nil {
		ws = new(Workspace)
	}
	if isDepthwise(g) {
		depthwiseBackwardData(dx, dy, w, mask, g, threads, ws)
		return nil
	}
	switch p := dataPath(impl, g, w); p {
	case pathWinograd, pathWinograd4:
		if backwardDataWinograd(p, dx, dy, w, mask, g, threads, ws) {
			return nil
		}
		fallthrough // an operand out of its range
	case pathDirect:
		d, _ := newDirectGeom(g)
		backwardDataDirect(dx, dy, w, mask, g, d, threads, ws)
		return nil
	case pathPhases:
		backwardDataPhases(dx, dy, w, mask, g, threads, ws)
		return nil
	}
	if err := Conv2dBackwardData(impl, dx, dy, w, g, threads, ws); err != nil {
		return err
	}
	if mask != nil {
		parallelFor(ceilDiv(len(dx), maskChunk), threads, func(i int) {
			lo, hi := i*maskChunk, min((i+1)*maskChunk, len(dx))
			copyRows(dx[lo:hi], dx[lo:hi], mask[lo:hi], 1, hi-lo, 0, 0)
		})
	}
	return nil
}

// Conv2dBackwardWeightCodes is Conv2dBackwardWeight on an input given as
// the table-index bytes of its quantization codes: element i of x is
// float32(code - zp)·scale, with code int8(x[i]) if signed and x[i]
// otherwise, exactly as the ops package computes fake-quantized values, and
// the result is bit for bit Conv2dBackwardWeight's on those values. A
// depthwise layer reads the bytes in its kernel, a quarter of the memory
// traffic of floats; the Winograd and tap-major paths dequantize as they
// lay out the input; the others dequantize into ws first.
func Conv2dBackwardWeightCodes(impl blas.Float32, dw, dy []float32, x []byte, signed bool, zp int32, scale float32, g geom.Conv, threads int, ws *Workspace) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if len(x) != g.XLen() || len(dw) != g.WLen() || len(dy) != g.YLen() {
		return fmt.Errorf("floatkernel: buffer lengths x=%d dw=%d dy=%d do not match the geometry (want %d, %d, %d)",
			len(x), len(dw), len(dy), g.XLen(), g.WLen(), g.YLen())
	}
	if ws == nil {
		ws = new(Workspace)
	}
	q := newCodeScale(signed, zp, scale)
	if isDepthwise(g) {
		depthwiseBackwardWeight(dw, dy, inputPlanes{bytes: x, q: q}, g, threads, ws)
		return nil
	}
	// The Winograd and tap-major paths dequantize as they lay out the
	// input; a Winograd result that is not finite is computed again on
	// the path Conv2dBackwardWeight would fall back to.
	p := weightPath(impl, g, nil)
	if p == pathWinograd || p == pathWinograd4 {
		if backwardWeightWinograd(p, dw, dy, inputPlanes{bytes: x, q: q}, g, threads, ws) {
			return nil
		}
		p = otherWeightPath(g, nil)
	}
	if p == pathTaps {
		backwardWeightTaps(dw, dy, inputPlanes{bytes: x, q: q}, g, threads, ws)
		return nil
	}
	ws.dequantized = growFloats(ws.dequantized, len(x))
	xf := ws.dequantized
	parallelFor(ceilDiv(len(x), maskChunk), threads, func(i int) {
		lo, hi := i*maskChunk, min((i+1)*maskChunk, len(x))
		dequantRows(xf[lo:hi], x[lo:hi], q, 1, hi-lo, 0, 0)
	})
	return Conv2dBackwardWeight(impl, dw, dy, xf, g, threads, ws)
}
