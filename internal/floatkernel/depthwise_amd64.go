//go:build amd64 && !purego

package floatkernel

import "github.com/goapprox/goapprox/internal/asm"

// tapsAxpyUnit is the AVX2/FMA version of tapsAxpy (depthwise_amd64.s).
//
//go:noescape
func tapsAxpyUnit(out, in *float32, offs *int, w *float32, ntaps, n int, add bool)

// dot9Unit is the AVX2/FMA version of tapsDot for nine taps.
//
//go:noescape
func dot9Unit(dy, in *float32, offs *int, n int, sums *float32)

// tapsAxpy is tapsAxpyGo, with tapsAxpyUnit where asm.AVX2FMA allows.
func tapsAxpy(out, in []float32, base int, offs []int, w []float32, n int, add bool) {
	if !asm.AVX2FMA() {
		tapsAxpyGo(out, in, base, offs, w, n, add)
		return
	}
	if n > 0 && len(offs) > 0 {
		checkTaps(out, in, base, offs, w, n)
		tapsAxpyUnit(&out[0], &in[base], &offs[0], &w[0], len(offs), n, add)
	}
}

// tapsDot is tapsDotGo, with dot9Unit for nine taps where asm.AVX2FMA
// allows.
func tapsDot(sums, dy, in []float32, offs []int, n int) {
	if len(offs) != 9 || n <= 0 || !asm.AVX2FMA() {
		tapsDotGo(sums, dy, in, offs, n)
		return
	}
	checkTaps(dy, in, 0, offs, sums, n)
	dot9Unit(&dy[0], &in[0], &offs[0], n, &sums[0])
}

// weightDots is the fused weight-gradient kernel (planeDots says what it
// does), for AVX2 and FMA; haveWeightDots reports whether it may be
// called.
//
//go:noescape
func weightDots(a *planeDots)

func haveWeightDots() bool { return asm.AVX2FMA() }

// The fused data-gradient kernels (depthwise_amd64.s), by column stride
// and block width.
//
//go:noescape
func tapRows1x8Unit(a *rowTaps)

//go:noescape
func tapRows1x8r2Unit(a *rowTaps)

//go:noescape
func tapRows1x4r2Unit(a *rowTaps)

//go:noescape
func tapRows2x8Unit(a *rowTaps)

//go:noescape
func tapRows2x4Unit(a *rowTaps)

// haveTapRows reports whether tapRows may be called.
func haveTapRows() bool { return asm.AVX2FMA() }

// tapRows computes one row class of a depthwise data gradient (see
// rowTaps) with the kernel for its column stride and row length. A direct
// call, not a function variable, so that a stays on the caller's stack.
func tapRows(a *rowTaps, sw int) {
	switch {
	case sw == 1 && a.n > 16:
		tapRows1x8Unit(a)
	case sw == 1 && a.n >= 8:
		tapRows1x8r2Unit(a)
	case sw == 1:
		tapRows1x4r2Unit(a)
	case a.n >= 8:
		tapRows2x8Unit(a)
	default:
		tapRows2x4Unit(a)
	}
}

// spreadRows copies rows rows of w elements from src (row stride w) to dst
// (row stride ds), the spread of the fused data gradient, calling the
// AVX2 row mover directly: the fused path runs only where it exists, and
// a plane of the zoo's small layers is copied so quickly that an indirect
// call and its slice checks would weigh on it.
func spreadRows(dst, src []float32, rows, w, ds int) {
	if rows <= 0 || w <= 0 {
		return
	}
	_, _ = dst[(rows-1)*ds+w-1], src[rows*w-1]
	copyRowsUnit(&dst[0], &src[0], rows, w, ds, w)
}
