package f32

import (
	"math"

	"github.com/goapprox/goapprox/internal/asm"
)

// Quantize quantizes every element v of src with one channel's
// parameters: f = roundHalfEven(v·inv) in float64 (of the float32
// product), in = lo <= f <= hi (false for NaN), c = clamp(f, lo, hi) with
// NaN as 0; then bytes[i] = byte(c + zp), fq[i] = float32(c)·scale and
// mask[i] = in. lo and hi are integers (code bounds minus zp); a nil
// output is skipped, the others hold len(src) elements. The assembly gives
// the twin's bits. finite reports whether every element of src is: a
// caller that must reject NaN and ±Inf need not read src again.
func Quantize(src []float32, inv, scale, lo, hi float32, zp int32, bytes []byte, fq []float32, mask []bool) (finite bool) {
	n, finite := 0, true
	if asm.AVX2() {
		n = len(src) &^ 7
	}
	if n > 0 {
		var pb *byte
		var pf *float32
		var pm *bool
		if bytes != nil {
			pb = &bytes[:n][0]
		}
		if fq != nil {
			pf = &fq[:n][0]
		}
		if mask != nil {
			pm = &mask[:n][0]
		}
		finite = quantize8(&src[0], n, inv, scale, lo, hi, zp, pb, pf, pm)
	}
	rest := quantizeGo(src[n:], inv, scale, lo, hi, zp, part(bytes, n, len(src)), part(fq, n, len(src)), part(mask, n, len(src)))
	return finite && rest
}

func quantizeGo(src []float32, inv, scale, lo, hi float32, zp int32, bytes []byte, fq []float32, mask []bool) (finite bool) {
	finite = true
	for i, v := range src {
		finite = finite && v-v == 0
		f := math.RoundToEven(float64(v * inv))
		// Branch-free clamp: clamped values are common (ReLU outputs
		// below an unsigned range), so a branch on them would be
		// mispredicted often.
		c := min(max(f, float64(lo)), float64(hi))
		in := c == f
		if c != c { // NaN
			c = 0
		}
		code := int32(c)
		if bytes != nil {
			bytes[i] = byte(code + zp)
		}
		if fq != nil {
			fq[i] = float32(code) * scale
		}
		if mask != nil {
			mask[i] = in
		}
	}
	return finite
}

// part is s[lo:hi], or nil for a nil s (an output not asked for).
func part[T any](s []T, lo, hi int) []T {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}
