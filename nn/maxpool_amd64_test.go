//go:build amd64 && !purego

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goapprox/goapprox/internal/asm"
)

// poolData are the inputs the AVX2 max pool is checked on: plain random
// values; values from a few levels with ±0 and ±Inf among them, so windows
// hold ties (where -0 against +0 shows which input wins); the cases
// specialInput draws, NaN included (the kernel hands planes with a NaN to
// the Go loop); and random values with a single NaN.
var poolData = []struct {
	name string
	make func(r *rand.Rand, n int) []float32
}{
	{"random", func(r *rand.Rand, n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}},
	{"ties", func(r *rand.Rand, n int) []float32 {
		levels := []float32{-1, float32(math.Copysign(0, -1)), 0, 1, float32(math.Inf(1)), float32(math.Inf(-1))}
		v := make([]float32, n)
		for i := range v {
			v[i] = levels[r.IntN(len(levels))]
		}
		return v
	}},
	{"special", func(r *rand.Rand, n int) []float32 { return specialInput(r.Uint64(), n) }},
	{"one NaN", func(r *rand.Rand, n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		v[r.IntN(n)] = float32(math.NaN())
		return v
	}},
}

// TestMaxPool2x2AVX2MatchesGo checks that the AVX2 forward and gradient
// kernels give the Go loops' bits (maxima, argmax positions, input
// gradients) on planes of even and odd sides, with full groups of eight
// windows per row and partial ones, one plane or several, on every kind of
// poolData. dx starts as NaN, so a position the kernel leaves unwritten
// shows up.
func TestMaxPool2x2AVX2MatchesGo(t *testing.T) {
	if !asm.AVX2() {
		t.Skip("no AVX2")
	}
	g := poolGeom{kh: 2, kw: 2, sh: 2, sw: 2}
	type shape struct{ planes, h, w int }
	var shapes []shape
	for w := 2; w <= 41; w++ {
		shapes = append(shapes, shape{1, 2, w}, shape{3, 5, w})
	}
	shapes = append(shapes, shape{6, 28, 28}, shape{16, 10, 10}, shape{2, 33, 35}, shape{1, 3, 3})
	// run returns the forward and gradient results. Its buffers go on for
	// a guard of 16 values, which must be left as they were.
	const guard = 16
	run := func(x, dy []float32, s shape) (y []float32, arg []int32, dx []float32) {
		oh, ow := s.h/2, s.w/2
		y, arg, dx = make([]float32, s.planes*oh*ow+guard), make([]int32, s.planes*oh*ow+guard), make([]float32, len(x)+guard)
		for i := range dx {
			dx[i] = float32(math.NaN())
		}
		for i := range guard {
			y[len(y)-1-i], arg[len(arg)-1-i] = -7, -7
		}
		y, arg, dx = y[:len(y)-guard], arg[:len(arg)-guard], dx[:len(dx)-guard]
		g.forward(x, s.h, s.w, y, arg)
		l := poolLoop{g: g, grad: true, x: dx, y: dy, arg: arg, h: s.h, w: s.w, oh: oh, ow: ow}
		l.Run(0, 0, s.planes)
		for i := range guard {
			yg, ag, dg := y[:len(y)+guard][len(y)+i], arg[:len(arg)+guard][len(arg)+i], dx[:len(dx)+guard][len(dx)+i]
			if yg != -7 || ag != -7 || dg == dg {
				t.Fatalf("%d planes of %dx%d: a kernel wrote past the end of its output", s.planes, s.h, s.w)
			}
		}
		return y, arg, dx
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		for _, d := range poolData {
			x := d.make(r, s.planes*s.h*s.w)
			dy := specialInput(r.Uint64(), s.planes*(s.h/2)*(s.w/2))
			y, arg, dx := run(x, dy, s)
			var wantY, wantDx []float32
			var wantArg []int32
			withGeneric(func() { wantY, wantArg, wantDx = run(x, dy, s) })
			where := fmt.Sprintf("%d planes of %dx%d, %s", s.planes, s.h, s.w, d.name)
			if i := firstDiff(y, wantY); i >= 0 {
				t.Errorf("%s: output %d is %g (%#x), Go loop %g (%#x)", where, i, y[i], math.Float32bits(y[i]), wantY[i], math.Float32bits(wantY[i]))
			}
			for i := range arg {
				if arg[i] != wantArg[i] {
					t.Errorf("%s: argmax %d is %d, Go loop %d", where, i, arg[i], wantArg[i])
					break
				}
			}
			if i := firstDiff(dx, wantDx); i >= 0 {
				t.Errorf("%s: dx %d is %g (%#x), Go loop %g (%#x)", where, i, dx[i], math.Float32bits(dx[i]), wantDx[i], math.Float32bits(wantDx[i]))
			}
		}
	}
}

// firstDiff is the first index where a and b differ in bits, or -1.
func firstDiff(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}
