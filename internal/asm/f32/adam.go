package f32

import (
	"math"

	"github.com/goapprox/goapprox/internal/asm"
)

// AdamStep holds the constants of one Adam update: the learning rate, the
// bias corrections 1-beta1^t and 1-beta2^t, epsilon, and beta1, 1-beta1,
// beta2, 1-beta2 in float32 as the moments use them.
type AdamStep struct {
	LR, BC1, BC2, Eps float64
	B1, C1, B2, C2    float32
}

// adamArgs are adamAVX's constants, laid out as adam_amd64.s reads them,
// and its per-lane result.
type adamArgs struct {
	AdamStep
	check [4]float32
}

// Adam runs the Adam update on every element: the moments m and v in
// float32, the step lr·mHat/(sqrt(vHat)+eps) in float64, w -= step. It
// returns Σ(w-w) over the updated weights, which is 0 exactly when every
// one of them is finite, so a caller can refuse a step that made one NaN
// or infinite without a second pass. The vector form (AVX) gives the same
// bits as the Go loop.
func Adam(s AdamStep, w, g, m, v []float32) (check float32) {
	n := len(g)
	w, m, v = w[:n], m[:n], v[:n]
	k := 0
	if asm.AVX() && n >= 4 {
		k = n &^ 3
		a := adamArgs{AdamStep: s}
		adamAVX(&w[0], &g[0], &m[0], &v[0], k, &a)
		check = (a.check[0] + a.check[1]) + (a.check[2] + a.check[3])
	}
	return check + adamGo(s, w[k:], g[k:], m[k:], v[k:])
}

// adamGo is Adam's pure-Go twin.
func adamGo(s AdamStep, w, g, m, v []float32) (check float32) {
	for i, gi := range g {
		m[i] = float32(s.B1*m[i]) + float32(s.C1*gi)
		v[i] = float32(s.B2*v[i]) + float32(s.C2*gi*gi)
		mHat := float64(m[i]) / s.BC1
		vHat := float64(v[i]) / s.BC2
		w[i] -= float32(s.LR * mHat / (math.Sqrt(vHat) + s.Eps))
		check += w[i] - w[i]
	}
	return check
}
