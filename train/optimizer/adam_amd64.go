//go:build amd64 && !purego

package optimizer

import "golang.org/x/sys/cpu"

// useAVX selects adamAVX (adam_amd64.s) for the Adam update.
var useAVX = cpu.X86.HasAVX

// adamArgs are adamAVX's constants (laid out as adam_amd64.s reads them)
// and its result.
type adamArgs struct {
	lr, bc1, bc2, eps float64
	b1, c1, b2, c2    float32 // beta1, 1-beta1, beta2, 1-beta2
	check             [4]float32
}

// adamAVX runs the Adam update of paramUpdate.adam on n elements (a
// multiple of 4) with the constants in a, leaving Σ(w-w) per lane in
// a.check.
//
//go:noescape
func adamAVX(w, grad, m, v *float32, n int, a *adamArgs)

// adamVector updates the first multiple of 4 elements with adamAVX when
// the CPU has AVX, adds their Σ(w-w) to check and returns how many it
// updated.
func adamVector(u *paramUpdate, w, g, m, v []float32, check *float32) int {
	if !useAVX || len(g) < 4 {
		return 0
	}
	k := len(g) &^ 3
	a := adamArgs{lr: u.lr, bc1: u.bc1, bc2: u.bc2, eps: u.eps, b1: u.b1, c1: u.c1, b2: u.b2, c2: u.c2}
	adamAVX(&w[0], &g[0], &m[0], &v[0], k, &a)
	*check = (a.check[0] + a.check[1]) + (a.check[2] + a.check[3])
	return k
}
