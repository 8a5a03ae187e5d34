package nn

import "math"

// Element-wise and reduction loops of batch norm and ReLU/ReLU6. Each has a
// plain Go version here (the reference, and the kernel on machines without
// AVX2 or with the purego build tag) and an AVX2 one in vec_amd64.s that
// gives the same bits: the same float32 and float64 operations in the same
// order, no fused multiply-adds (the Go versions convert products
// explicitly, which keeps the compiler from fusing them under GOAMD64=v3).
//
// The float64 sums keep lanes partial sums, element i of a run going to
// lane i mod lanes (four AVX registers of four doubles); foldLanes adds
// them in a fixed tree. Elements past the last full group of lanes go to a
// separate scalar sum in order. So a sum depends only on the data and its
// layout, never on the CPU or the number of threads.
const lanes = 16

// foldLanes adds the lanes as the AVX code's registers would be folded:
// register by register ((r0+r1)+(r2+r3)) lane-wise, then the four lanes
// of the result as (l0+l1)+(l2+l3).
func foldLanes(p *[lanes]float64) float64 {
	var q [4]float64
	for l := range q {
		q[l] = (p[l] + p[4+l]) + (p[8+l] + p[12+l])
	}
	return (q[0] + q[1]) + (q[2] + q[3])
}

// Plain Go kernels. The lane kernels take len(v) a multiple of lanes.

func reluGeneric(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		// Go's max is branch-free and has ReLU's semantics: NaN stays
		// NaN, max(-0, 0) = +0.
		y[i] = max(v, 0)
	}
}

func reluGradGeneric(dx, x, dy []float32) {
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

func relu6Generic(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = min(max(v, 0), 6)
	}
}

func relu6GradGeneric(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		// Conditional moves as in reluGradGeneric; NaN passes neither
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

// scaleShiftGeneric sets y = x*k + b.
func scaleShiftGeneric(y, x []float32, k, b float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = float32(v*k) + b
	}
}

// bnGradXGeneric sets dx = k*((dy - meanDy) - x̂*meanDyX), x̂ = (x-mean)*inv.
func bnGradXGeneric(dx, x, dy []float32, mean, inv, k, meanDy, meanDyX float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		xhat := (v - mean) * inv
		dx[i] = k * ((dy[i] - meanDy) - float32(xhat*meanDyX))
	}
}

func sumLanesGeneric(v []float32, p *[lanes]float64) {
	for i := 0; i+lanes <= len(v); i += lanes {
		for j := range lanes {
			p[j] += float64(v[i+j])
		}
	}
}

func sqDevLanesGeneric(v []float32, mean float64, p *[lanes]float64) {
	for i := 0; i+lanes <= len(v); i += lanes {
		for j := range lanes {
			d := float64(v[i+j]) - mean
			p[j] += float64(d * d)
		}
	}
}

// dyXhatLanesGeneric adds dy to pa and dy·x̂ to pb, x̂ = (x-mean)*inv in
// float32 as the forward pass computes it.
func dyXhatLanesGeneric(x, dy []float32, mean, inv float32, pa, pb *[lanes]float64) {
	dy = dy[:len(x)]
	for i := 0; i+lanes <= len(x); i += lanes {
		for j := range lanes {
			g := float64(dy[i+j])
			pa[j] += g
			pb[j] += float64(g * float64((x[i+j]-mean)*inv))
		}
	}
}

// The kernels the ops call: the AVX2 versions where the CPU has them
// (useAVX2, set in vec_amd64.go), the plain ones otherwise; tails shorter
// than a vector go through the plain loops.

func relu(y, x []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		reluAVX2(&y[:len(x)][0], &x[0], k)
	}
	reluGeneric(y[k:], x[k:])
}

func reluGrad(dx, x, dy []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		reluGradAVX2(&dx[:len(x)][0], &x[0], &dy[:len(x)][0], k)
	}
	reluGradGeneric(dx[k:], x[k:], dy[k:])
}

func relu6(y, x []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		relu6AVX2(&y[:len(x)][0], &x[0], k)
	}
	relu6Generic(y[k:], x[k:])
}

func relu6Grad(dx, x, dy []float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		relu6GradAVX2(&dx[:len(x)][0], &x[0], &dy[:len(x)][0], k)
	}
	relu6GradGeneric(dx[k:], x[k:], dy[k:])
}

func scaleShift(y, x []float32, s, b float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		scaleShiftAVX2(&y[:len(x)][0], &x[0], k, s, b)
	}
	scaleShiftGeneric(y[k:], x[k:], s, b)
}

func bnGradX(dx, x, dy []float32, mean, inv, s, meanDy, meanDyX float32) {
	k := vecPrefix(len(x), 8)
	if k > 0 {
		bnGradXAVX2(&dx[:len(x)][0], &x[0], &dy[:len(x)][0], k, mean, inv, s, meanDy, meanDyX)
	}
	bnGradXGeneric(dx[k:], x[k:], dy[k:], mean, inv, s, meanDy, meanDyX)
}

// sumLanes adds v to the lanes and returns the elements past the last full
// group of lanes.
func sumLanes(v []float32, p *[lanes]float64) (tail []float32) {
	k := len(v) &^ (lanes - 1)
	if useAVX2 {
		if k > 0 {
			sumLanesAVX2(&v[0], k, p)
		}
	} else {
		sumLanesGeneric(v[:k], p)
	}
	return v[k:]
}

func sqDevLanes(v []float32, mean float64, p *[lanes]float64) (tail []float32) {
	k := len(v) &^ (lanes - 1)
	if useAVX2 {
		if k > 0 {
			sqDevLanesAVX2(&v[0], k, mean, p)
		}
	} else {
		sqDevLanesGeneric(v[:k], mean, p)
	}
	return v[k:]
}

func dyXhatLanes(x, dy []float32, mean, inv float32, pa, pb *[lanes]float64) (k int) {
	k = len(x) &^ (lanes - 1)
	if useAVX2 {
		if k > 0 {
			dyXhatLanesAVX2(&x[0], &dy[:len(x)][0], k, mean, inv, pa, pb)
		}
	} else {
		dyXhatLanesGeneric(x[:k], dy[:k], mean, inv, pa, pb)
	}
	return k
}

// vecPrefix is the length of the part of n elements the AVX2 kernels
// take, in steps of width; 0 without AVX2.
func vecPrefix(n, width int) int {
	if !useAVX2 {
		return 0
	}
	return n &^ (width - 1)
}
