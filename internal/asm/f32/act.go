package f32

import (
	"math"

	"github.com/goapprox/goapprox/internal/asm"
)

// Element-wise and reduction loops of batch norm and ReLU/ReLU6. Each has a
// pure-Go twin here (the reference, and the kernel on machines without
// AVX2, with the purego build tag or with assembly switched off) and an
// AVX2 version in act_amd64.s that gives the same bits: the same float32 and float64 operations in the same
// order, no fused multiply-adds (the Go versions convert products
// explicitly, which keeps the compiler from fusing them under GOAMD64=v3).
//
// The float64 sums keep Lanes partial sums, element i of a run going to
// lane i mod Lanes (four AVX registers of four doubles); FoldLanes adds
// them in a fixed tree. Elements past the last full group of lanes go to a
// separate scalar sum in order. So a sum depends only on the data and its
// layout, never on the CPU or the number of threads.
const Lanes = 16

// FoldLanes adds the lanes as the AVX code's registers would be folded:
// register by register ((r0+r1)+(r2+r3)) lane-wise, then the four lanes
// of the result as (l0+l1)+(l2+l3).
func FoldLanes(p *[Lanes]float64) float64 {
	var q [4]float64
	for l := range q {
		q[l] = (p[l] + p[4+l]) + (p[8+l] + p[12+l])
	}
	return (q[0] + q[1]) + (q[2] + q[3])
}

// The twins. The lane twins take len(v) a multiple of Lanes.

func reluGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		// Go's max is branch-free and has ReLU's semantics: NaN stays
		// NaN, max(-0, 0) = +0.
		y[i] = max(v, 0)
	}
}

func reluGradGo(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		// A mask on the bits rather than a branch on the sign, which
		// random data would mispredict half the time; the compiler turns
		// the integer choice into a conditional move.
		keep := uint32(0xffffffff)
		if v <= 0 {
			keep = 0
		}
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & keep)
	}
}

func relu6Go(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = min(max(v, 0), 6)
	}
}

// addActGo sets y[i] to a[i]+b[i] (the float32 sum) passed through the
// activation: unchanged (hi 0 means none), max(·, 0) (hi +Inf) or
// min(max(·, 0), 6) (hi 6), as ReLU and ReLU6 do.
func addActGo(y, a, b []float32, hi float32) {
	y, b = y[:len(a)], b[:len(a)]
	for i, v := range a {
		t := v + b[i]
		// Comparisons rather than Go's max and min, which return a
		// canonical NaN: a NaN sum keeps its bits, as in the AVX2 kernel.
		if hi != 0 {
			if t <= 0 {
				t = 0
			}
			if t > hi {
				t = hi
			}
		}
		y[i] = t
	}
}

func relu6GradGo(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		// Conditional moves as in reluGradGo; NaN passes neither
		// test and gets 0.
		above0 := uint32(0)
		if v > 0 {
			above0 = 0xffffffff
		}
		below6 := uint32(0)
		if v < 6 {
			below6 = 0xffffffff
		}
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & above0 & below6)
	}
}

// scaleShiftGo sets y = x*k + b.
func scaleShiftGo(y, x []float32, k, b float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = float32(v*k) + b
	}
}

// bnGradXGo sets dx = k*((dy - meanDy) - x̂*meanDyX), x̂ = (x-mean)*inv.
func bnGradXGo(dx, x, dy []float32, mean, inv, k, meanDy, meanDyX float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		xhat := (v - mean) * inv
		dx[i] = k * ((dy[i] - meanDy) - float32(xhat*meanDyX))
	}
}

func sumLanesGo(v []float32, p *[Lanes]float64) {
	for i := 0; i+Lanes <= len(v); i += Lanes {
		for j := range Lanes {
			p[j] += float64(v[i+j])
		}
	}
}

func sqDevLanesGo(v []float32, mean float64, p *[Lanes]float64) {
	for i := 0; i+Lanes <= len(v); i += Lanes {
		for j := range Lanes {
			d := float64(v[i+j]) - mean
			p[j] += float64(d * d)
		}
	}
}

// dyXhatLanesGo adds dy to pa and dy·x̂ to pb, x̂ = (x-mean)*inv in
// float32 as the forward pass computes it.
func dyXhatLanesGo(x, dy []float32, mean, inv float32, pa, pb *[Lanes]float64) {
	dy = dy[:len(x)]
	for i := 0; i+Lanes <= len(x); i += Lanes {
		for j := range Lanes {
			g := float64(dy[i+j])
			pa[j] += g
			pb[j] += float64(g * float64((x[i+j]-mean)*inv))
		}
	}
}

// The routines: the AVX2 kernels where asm.AVX2 allows, the twins
// otherwise; element-wise tails shorter than a vector go through the twins.

// ReLU sets y[i] = max(x[i], 0) for i < len(x): NaN stays NaN, -0 gives +0.
func ReLU(y, x []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		reluAVX2(&y[:len(x)][0], &x[0], k)
	}
	reluGo(y[k:], x[k:])
}

// ReLUGrad sets dx[i] = dy[i] where x[i] > 0 or is NaN, and +0 elsewhere.
func ReLUGrad(dx, x, dy []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		reluGradAVX2(&dx[:len(x)][0], &x[0], &dy[:len(x)][0], k)
	}
	reluGradGo(dx[k:], x[k:], dy[k:])
}

// ReLU6 sets y[i] = min(max(x[i], 0), 6).
func ReLU6(y, x []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		relu6AVX2(&y[:len(x)][0], &x[0], k)
	}
	relu6Go(y[k:], x[k:])
}

// ReLU6Grad sets dx[i] = dy[i] where 0 < x[i] < 6 and +0 elsewhere (NaN
// too).
func ReLU6Grad(dx, x, dy []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		relu6GradAVX2(&dx[:len(x)][0], &x[0], &dy[:len(x)][0], k)
	}
	relu6GradGo(dx[k:], x[k:], dy[k:])
}

// AddAct sets y[i] = act(a[i] + b[i]), the sum rounded to float32 first,
// for i < len(a): act is the identity for hi == 0, ReLU for hi == +Inf and
// ReLU6 for hi == 6, with ReLU's and ReLU6's handling of NaN and -0. Other
// values of hi are an error of the caller and panic.
func AddAct(y, a, b []float32, hi float32) {
	if hi != 0 && hi != 6 && !math.IsInf(float64(hi), 1) {
		panic("f32: AddAct takes hi 0, 6 or +Inf")
	}
	k := vecPrefix(len(a), 8)
	if k > 0 {
		addActAVX2(&y[:len(a)][0], &a[0], &b[:len(a)][0], k, hi)
	}
	addActGo(y[k:], a[k:], b[k:], hi)
}

// ScaleShift sets y[i] = x[i]*k + b, the product rounded before the sum.
func ScaleShift(y, x []float32, k, b float32) {
	n := vecPrefix(len(x), 8)
	if n > 0 {
		scaleShiftAVX2(&y[:len(x)][0], &x[0], n, k, b)
	}
	scaleShiftGo(y[n:], x[n:], k, b)
}

// BNGradX sets dx = k*((dy - meanDy) - x̂*meanDyX), x̂ = (x-mean)*inv: the
// input gradient of batch norm.
func BNGradX(dx, x, dy []float32, mean, inv, k, meanDy, meanDyX float32) {
	n := vecPrefix(len(x), 8)
	if n > 0 {
		bnGradXAVX2(&dx[:len(x)][0], &x[0], &dy[:len(x)][0], n, mean, inv, k, meanDy, meanDyX)
	}
	bnGradXGo(dx[n:], x[n:], dy[n:], mean, inv, k, meanDy, meanDyX)
}

// SumLanes adds v to the lanes, element i to lane i mod Lanes, and returns
// the elements past the last full group of lanes.
func SumLanes(v []float32, p *[Lanes]float64) (tail []float32) {
	k := len(v) &^ (Lanes - 1)
	if asm.AVX2() {
		if k > 0 {
			sumLanesAVX2(&v[0], k, p)
		}
	} else {
		sumLanesGo(v[:k], p)
	}
	return v[k:]
}

// SqDevLanes adds (v - mean)² to the lanes as SumLanes adds v.
func SqDevLanes(v []float32, mean float64, p *[Lanes]float64) (tail []float32) {
	k := len(v) &^ (Lanes - 1)
	if asm.AVX2() {
		if k > 0 {
			sqDevLanesAVX2(&v[0], k, mean, p)
		}
	} else {
		sqDevLanesGo(v[:k], mean, p)
	}
	return v[k:]
}

// DyXhatLanes adds dy to pa and dy·x̂ to pb, x̂ = (x-mean)*inv in float32,
// over the first k = len(x) rounded down to Lanes elements, and returns k.
func DyXhatLanes(x, dy []float32, mean, inv float32, pa, pb *[Lanes]float64) (k int) {
	k = len(x) &^ (Lanes - 1)
	if asm.AVX2() {
		if k > 0 {
			dyXhatLanesAVX2(&x[0], &dy[:len(x)][0], k, mean, inv, pa, pb)
		}
	} else {
		dyXhatLanesGo(x[:k], dy[:k], mean, inv, pa, pb)
	}
	return k
}

// VecPrefix is the length of the part of n elements that the AVX2
// element-wise kernels of a caller take, in steps of width (a power of
// two); 0 where asm.AVX2 does not allow them.
func VecPrefix(n, width int) int { return vecPrefix(n, width) }

func vecPrefix(n, width int) int {
	if !asm.AVX2() {
		return 0
	}
	return n &^ (width - 1)
}
