package f32

import (
	"math"

	"github.com/goapprox/goapprox/internal/asm"
)

// Axpy adds a·x[i] to y[i] for i < len(y). The assembly fuses each
// multiply-add (one rounding), the twin rounds the product first, so the
// two agree to a rounding per element, not bit for bit.
func Axpy(a float32, x, y []float32) {
	if len(y) == 0 {
		return
	}
	if asm.AVX2FMA() {
		axpyUnit(a, &x[:len(y)][0], &y[0], len(y))
		return
	}
	axpyGo(a, x, y)
}

// Dot returns Σ x[i]·y[i] for i < len(x). The assembly keeps eight partial
// sums with fused multiply-adds, the twin one running sum: they agree to
// rounding, not bit for bit.
func Dot(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	if asm.AVX2FMA() {
		return dotUnit(&x[0], &y[:len(x)][0], len(x))
	}
	return dotGo(x, y)
}

// AddRows adds the rows×cols block of src, rows srcStride apart, to the
// block of dst, rows dstStride apart: dst[y*dstStride+x] +=
// src[y*srcStride+x]. One float add per element, so the assembly gives
// the twin's bits.
func AddRows(dst, src []float32, rows, cols, dstStride, srcStride int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if asm.AVX() {
		// The last row's end bounds every access.
		_ = dst[(rows-1)*dstStride+cols-1]
		_ = src[(rows-1)*srcStride+cols-1]
		addRowsUnit(&dst[0], &src[0], rows, cols, dstStride, srcStride)
		return
	}
	addRowsGo(dst, src, rows, cols, dstStride, srcStride)
}

// AllFinite reports whether no element of x is ±Inf or NaN.
func AllFinite(x []float32) bool {
	if len(x) == 0 {
		return true
	}
	if asm.AVX2() {
		return !nonFiniteUnit(&x[0], len(x))
	}
	return allFiniteGo(x)
}

func axpyGo(a float32, x, y []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func addRowsGo(dst, src []float32, rows, cols, dstStride, srcStride int) {
	for y := 0; y < rows; y++ {
		d, s := dst[y*dstStride:][:cols], src[y*srcStride:][:cols]
		for x, v := range s {
			d[x] += v
		}
	}
}

// allFiniteGo sums v·0, which is NaN exactly for ±Inf and NaN, in four
// independent sums.
func allFiniteGo(x []float32) bool {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * 0
		s1 += x[i+1] * 0
		s2 += x[i+2] * 0
		s3 += x[i+3] * 0
	}
	for ; i < len(x); i++ {
		s0 += x[i] * 0
	}
	return s0+s1+s2+s3 == 0
}

// FiniteRange returns the smallest and largest finite element of x (+Inf
// and -Inf when there is none) and the number of elements that are ±Inf or
// NaN. As with Go's min and max, -0 is below +0: the smallest element of
// [+0, -0] is -0.
func FiniteRange(x []float32) (lo, hi float32, nonFinite int) {
	r := rangeAcc{lo: float32(math.Inf(1)), hi: float32(math.Inf(-1))}
	k := vecPrefix(len(x), 8)
	if k > 0 {
		finiteRangeAVX2(&x[0], k, &r)
		// The vector minimum and maximum may carry either zero.
		if r.lo == 0 {
			r.lo = signedZero(r.negZero)
		}
		if r.hi == 0 {
			r.hi = signedZero(!r.posZero)
		}
	}
	lo, hi, bad := finiteRangeGo(x[k:], r.lo, r.hi)
	return lo, hi, r.nonFinite + bad
}

// rangeAcc is FiniteRange's state, shared with the vector kernel: keep the
// field order (the kernel's offsets are 0, 4, 8, 16 and 17).
type rangeAcc struct {
	lo, hi           float32
	nonFinite        int
	negZero, posZero bool
}

// signedZero is -0 if negative, +0 otherwise.
func signedZero(negative bool) float32 {
	if negative {
		return float32(math.Copysign(0, -1))
	}
	return 0
}

// finiteRangeGo folds the finite elements of x into [lo, hi] and counts
// the others.
func finiteRangeGo(x []float32, lo, hi float32) (float32, float32, int) {
	bad := 0
	for _, v := range x {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			bad++
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi, bad
}
