package floatkernel

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/ops/geom"
)

func skipWithoutWinograd(t *testing.T) {
	t.Helper()
	if winoInput == nil || offsKernel == nil || !asm.AVX2FMA() {
		t.Skip("no Winograd kernels in this build or on this CPU")
	}
}

// randomWinogradShape is a 3×3 stride-1 convolution of random size:
// rows and columns of any parity, padding 0 to 2, channels and outputs
// not multiples of the tiles.
func randomWinogradShape(r *rand.Rand) geom.Conv {
	for {
		g := geom.Conv{N: 1 + r.Intn(5), C: 1 + r.Intn(40), H: 1 + r.Intn(21), W: 1 + r.Intn(40), O: 1 + r.Intn(40),
			KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: r.Intn(3), PadW: r.Intn(3), DilH: 1, DilW: 1, Groups: 1}
		if g.Validate() == nil {
			return g
		}
	}
}

// kernelSums replaces every tap of w by the sum of the magnitudes of its
// kernel's taps.
func kernelSums(w []float32) []float32 {
	s := make([]float32, len(w))
	for k := 0; k < len(w); k += 9 {
		var sum float32
		for _, v := range w[k : k+9] {
			sum += float32(math.Abs(float64(v)))
		}
		for t := range 9 {
			s[k+t] = sum
		}
	}
	return s
}

func absSlice(s []float32) []float32 {
	a := make([]float32, len(s))
	for i, v := range s {
		a[i] = float32(math.Abs(float64(v)))
	}
	return a
}

// assertWithin checks got against the float64 definition want, each
// element within a few float32 roundings of mag, the sum over channels of
// the magnitudes of its window's inputs times those of its kernel's
// weights: the transforms add and subtract inputs and weights of a window
// before multiplying, so their rounding errors scale with these sums
// rather than with the sum of the magnitudes of the products, which the
// additions cancel (a corner output of padding 2 is one product, computed
// from sums of several).
func assertWithin(t *testing.T, what string, got []float32, want, mag []float64) {
	t.Helper()
	assertWithinRel(t, what, got, want, mag, 0x1p-24*8)
}

// patchMags is the magnitude F(4×4, 3×3)'s rounding errors scale with:
// its transforms mix the whole 6×6 patch of an output's tile, and multiply
// by up to 8 where F(2×2, 3×3)'s only add, so each output of n images of
// ins channels of h×w, zero-padded by padH and padW, into outs channels of
// oh×ow, gets the sum over channels c of the magnitudes of its tile's
// patch of channel c times kSum(o, c), the sum of the magnitudes of the
// taps of the kernel from c to output o.
func patchMags(in []float32, n, ins, h, w, padH, padW, outs, oh, ow int, kSum func(o, c int) float64) []float64 {
	mag := make([]float64, n*outs*oh*ow)
	patch := make([]float64, ins)
	for i := 0; i < n; i++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				y0, x0 := oy/4*4-padH, ox/4*4-padW
				for c := range patch {
					patch[c] = 0
					for y := max(y0, 0); y < min(y0+6, h); y++ {
						for x := max(x0, 0); x < min(x0+6, w); x++ {
							patch[c] += math.Abs(float64(in[((i*ins+c)*h+y)*w+x]))
						}
					}
				}
				for o := 0; o < outs; o++ {
					var sum float64
					for c, p := range patch {
						sum += p * kSum(o, c)
					}
					mag[((i*outs+o)*oh+oy)*ow+ox] = sum
				}
			}
		}
	}
	return mag
}

// tileMagsDW is the magnitude F(4×4, 3×3)'s weight gradient's rounding
// errors scale with: every tap of the kernel from channel c to output o
// gets the sum over the images' tiles of the magnitudes of the tile's
// output gradient of o times those of its patch of channel c (see
// patchMags).
func tileMagsDW(x, dy []float32, g geom.Conv) []float64 {
	oh, ow := g.OutH(), g.OutW()
	tY, tX := (oh+3)/4, (ow+3)/4
	mag := make([]float64, g.WLen())
	dyTile, patch := make([]float64, g.O), make([]float64, g.C)
	for i := 0; i < g.N; i++ {
		for ty := 0; ty < tY; ty++ {
			for tx := 0; tx < tX; tx++ {
				for o := range dyTile {
					dyTile[o] = 0
					for y := 4 * ty; y < min(4*ty+4, oh); y++ {
						for x := 4 * tx; x < min(4*tx+4, ow); x++ {
							dyTile[o] += math.Abs(float64(dy[((i*g.O+o)*oh+y)*ow+x]))
						}
					}
				}
				y0, x0 := 4*ty-g.PadH, 4*tx-g.PadW
				for c := range patch {
					patch[c] = 0
					for y := max(y0, 0); y < min(y0+6, g.H); y++ {
						for col := max(x0, 0); col < min(x0+6, g.W); col++ {
							patch[c] += math.Abs(float64(x[((i*g.C+c)*g.H+y)*g.W+col]))
						}
					}
				}
				for o, d := range dyTile {
					for c, p := range patch {
						for k := range 9 {
							mag[(o*g.C+c)*9+k] += d * p
						}
					}
				}
			}
		}
	}
	return mag
}

// kernelSum is the sum of the magnitudes of the taps of w's kernel from
// channel c to output o (ins channels).
func kernelSum(w []float32, ins, o, c int) float64 {
	var sum float64
	for _, v := range w[(o*ins+c)*9:][:9] {
		sum += math.Abs(float64(v))
	}
	return sum
}

// winoMags are the magnitudes Winograd path p's forward pass and data
// gradient are checked against (see assertWithin and patchMags), with
// their bound relative to them: F(2×2, 3×3) within 8 roundings of the
// window's, F(4×4, 3×3) within 16 of its tile's patch's.
func winoMags(p path, x, w, dy []float32, g geom.Conv) (magY, magDX []float64, rel float64) {
	if p == pathWinograd {
		magY = naiveConv(absSlice(x), kernelSums(w), g)
		magDX, _ = naiveGrads(x, kernelSums(w), absSlice(dy), g)
		return magY, magDX, 0x1p-24 * 8
	}
	magY = patchMags(x, g.N, g.C, g.H, g.W, g.PadH, g.PadW, g.O, g.OutH(), g.OutW(),
		func(o, c int) float64 { return kernelSum(w, g.C, o, c) })
	// The data gradient is the convolution of dy with the flipped kernels,
	// channels swapped, padded by 2-Pad.
	magDX = patchMags(dy, g.N, g.O, g.OutH(), g.OutW(), 2-g.PadH, 2-g.PadW, g.C, g.H, g.W,
		func(c, o int) float64 { return kernelSum(w, g.C, o, c) })
	return magY, magDX, 0x1p-24 * 16
}

func assertWithinRel(t *testing.T, what string, got []float32, want, mag []float64, rel float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= rel*mag[i]+1e-30) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %g, sum of |terms| %g)", what, i, got[i], want[i], d, mag[i])
		}
	}
}

// kernelMags replaces every tap of the weight gradient's definition from
// magnitudes (dwAbs) by the sum over its kernel's taps: the Winograd
// transforms mix the taps of a kernel.
func kernelMags(dwAbs []float64) []float64 {
	s := make([]float64, len(dwAbs))
	for k := 0; k < len(dwAbs); k += 9 {
		var sum float64
		for _, v := range dwAbs[k : k+9] {
			sum += v
		}
		for t := range 9 {
			s[k+t] = sum
		}
	}
	return s
}

// TestWinogradRandomShapes checks the forward pass and both gradients
// on both Winograd paths against the definition on random shapes, batches
// of 1 to 5 and 1 to 3 threads, with the same bits for every thread count;
// that the masked data gradient is the unmasked one, masked; and that no
// call writes past its output. Large images close the list: images cut
// into several blocks of tile rows (the random ones fit in one).
func TestWinogradRandomShapes(t *testing.T) {
	skipWithoutWinograd(t)
	r := rand.New(rand.NewSource(21))
	ws := new(Workspace) // shared: leftovers of larger shapes must not leak
	impl := gonum.Implementation{}
	shapes := 60
	if testing.Short() {
		shapes = 20 // CI's race-detector run
	}
	large := []geom.Conv{
		{N: 2, C: 5, H: 61, W: 33, O: 7, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 20, H: 130, W: 66, O: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 0, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	}
	// out is a fresh output of n random elements, its backing array
	// running on past them with a marker that checkTail finds unchanged
	// unless a call wrote past the output.
	const tail, marker = 64, 0x7fc0dead
	out := func(n int) []float32 {
		o := randSlice(r, n+tail)
		for j := n; j < len(o); j++ {
			o[j] = math.Float32frombits(marker)
		}
		return o[:n]
	}
	checkTail := func(name string, o []float32) {
		t.Helper()
		for j, v := range o[len(o):cap(o)] {
			if math.Float32bits(v) != marker {
				t.Fatalf("%s: wrote %g past the output's end, at %d", name, v, len(o)+j)
			}
		}
	}
	for i := range shapes + len(large) {
		var g geom.Conv
		if i < shapes {
			g = randomWinogradShape(r)
		} else {
			g = large[i-shapes]
		}
		if i < shapes && i%4 == 0 {
			// Outputs of whole tiles and vector groups, written in place
			// (the data gradient's: dx of 16 or 32 columns, even rows).
			g.W = 16*(1+r.Intn(2)) + 2 - 2*g.PadW
			g.H += g.H % 2
			if i%8 == 0 {
				g.W, g.H = 16*(1+r.Intn(2)), 4+2*r.Intn(7)
			}
			if g.Validate() != nil {
				g.H = 6
			}
		}
		x, w, dy := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
		wantY := naiveConv(x, w, g)
		wantDX, wantDW := naiveGrads(x, w, dy, g)
		_, dwAbs := naiveGrads(absSlice(x), w, absSlice(dy), g)
		magDW, magDW4 := kernelMags(dwAbs), tileMagsDW(x, dy, g)
		mask := make([]bool, g.XLen())
		for j := range mask {
			mask[j] = r.Intn(3) > 0
		}
		for _, p := range []path{pathWinograd, pathWinograd4} {
			var firstDW []float32
			for _, threads := range []int{1, 2, 3} {
				name := fmt.Sprintf("shape%d %+v F(%d×%[3]d) threads%d", i, g, winoTile(p), threads)
				dw := out(g.WLen())
				backwardWeightVia(p, impl, dw, dy, x, g, threads, ws)
				checkTail(name+" dw", dw)
				if p == pathWinograd {
					assertWithin(t, name+" dw", dw, wantDW, magDW)
				} else {
					assertWithinRel(t, name+" dw", dw, wantDW, magDW4, 0x1p-24*16)
				}
				if firstDW == nil {
					firstDW = dw
				} else if j := sameBitsAt(dw, firstDW); j >= 0 {
					t.Fatalf("%s dw[%d] = %g, with 1 thread %g", name, j, dw[j], firstDW[j])
				}
			}
		}
		for _, p := range []path{pathWinograd, pathWinograd4} {
			var firstY, firstDX []float32
			magY, magDX, rel := winoMags(p, x, w, dy, g)
			for _, threads := range []int{1, 2, 3} {
				name := fmt.Sprintf("shape%d %+v F(%d×%[3]d) threads%d", i, g, winoTile(p), threads)
				y := out(g.YLen())
				conv2dVia(p, impl, y, x, w, g, threads, ws)
				checkTail(name+" y", y)
				assertWithinRel(t, name+" y", y, wantY, magY, rel)
				dx := out(g.XLen())
				backwardDataVia(p, impl, dx, dy, w, g, threads, ws)
				checkTail(name+" dx", dx)
				assertWithinRel(t, name+" dx", dx, wantDX, magDX, rel)
				if firstY == nil {
					firstY, firstDX = y, dx
				} else {
					if j := sameBitsAt(y, firstY); j >= 0 {
						t.Fatalf("%s y[%d] = %g, with 1 thread %g", name, j, y[j], firstY[j])
					}
					if j := sameBitsAt(dx, firstDX); j >= 0 {
						t.Fatalf("%s dx[%d] = %g, with 1 thread %g", name, j, dx[j], firstDX[j])
					}
				}
				masked := out(g.XLen())
				if !backwardDataWinograd(p, masked, dy, w, mask, g, threads, ws) {
					t.Fatalf("%s: transformed weights not finite", name)
				}
				checkTail(name+" masked dx", masked)
				for j, m := range mask {
					want := dx[j]
					if !m {
						want = 0
					}
					if math.Float32bits(masked[j]) != math.Float32bits(want) {
						t.Fatalf("%s masked dx[%d] = %g, want %g", name, j, masked[j], want)
					}
				}
			}
		}
	}
}

// TestWinogradWindows checks that each output of the Winograd forward
// pass and data gradient, its input unchecked, depends on its own window
// only: a NaN input makes NaN exactly the outputs whose window holds it,
// as in the definition, whatever its place in its tile, next to the
// padding or to the extra row and column of odd output sizes.
func TestWinogradWindows(t *testing.T) {
	skipWithoutWinograd(t)
	r := rand.New(rand.NewSource(22))
	ws := new(Workspace)
	nan := float32(math.NaN())
	for i := range 40 {
		g := randomWinogradShape(r)
		x, w, dy := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
		for range 1 + r.Intn(3) {
			x[r.Intn(len(x))] = nan
			dy[r.Intn(len(dy))] = nan
		}
		name := fmt.Sprintf("shape%d %+v", i, g)
		fw, data, _ := winogradGeom(g, 2)
		y := randSlice(r, g.YLen())
		if !winogradConv(y, x, nil, w, false, fw, g.N, 2, false, ws) {
			t.Fatalf("%s: transformed weights not finite", name)
		}
		assertSameNaN(t, name+" y", y, naiveConv(x, w, g))
		dx := randSlice(r, g.XLen())
		if !winogradConv(dx, dy, nil, w, true, data, g.N, 2, false, ws) {
			t.Fatalf("%s: transformed weights not finite", name)
		}
		want, _ := naiveGrads(x, w, dy, g)
		assertSameNaN(t, name+" dx", dx, want)
	}
}

func assertSameNaN(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	for i := range want {
		if math.IsNaN(float64(got[i])) != math.IsNaN(want[i]) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestWinogradRules checks when the rules take the Winograd paths, and
// that an operand that is not finite moves the work to another path: the
// rules check the weights, and the workers the results, since the
// transforms make Inf - Inf of an infinite input where the definition has
// ±Inf (shown here with the check off) and can overflow where it does
// not; and finite weights whose transform overflows move it to the direct
// path.
func TestWinogradRules(t *testing.T) {
	skipWithoutWinograd(t)
	impl := gonum.Implementation{}
	g := geom.Conv{N: 16, C: 32, H: 16, W: 16, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	r := rand.New(rand.NewSource(23))
	x, w, dy := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
	if p := forwardPath(impl, g, w); p != pathWinograd {
		t.Fatalf("forward: path %d, want Winograd", p)
	}
	if p := dataPath(impl, g, w); p != pathWinograd {
		t.Fatalf("data: path %d, want Winograd", p)
	}
	if p := weightPath(impl, g, x); p != pathWinograd {
		t.Fatalf("weight: path %d, want Winograd", p)
	}
	inf := float32(math.Inf(1))
	for _, bad := range []float32{inf, float32(math.NaN())} {
		wBad := slices.Clone(w)
		wBad[3] = bad
		if p := forwardPath(impl, g, wBad); p == pathWinograd {
			t.Errorf("forward, weight %g: Winograd path", bad)
		}
		if p := dataPath(impl, g, wBad); p == pathWinograd {
			t.Errorf("data, weight %g: Winograd path", bad)
		}
	}

	// Why: an infinite input in the middle of a tile's patch (row 1,
	// column 1 of the first tile) with positive weights gives NaN.
	pos := absSlice(w)
	xInf := absSlice(x)
	xInf[1*g.W+1] = inf
	fw, _, _ := winogradGeom(g, 2)
	y := make([]float32, g.YLen())
	winogradConv(y, xInf, nil, pos, false, fw, g.N, 1, false, new(Workspace))
	if want := naiveConv(xInf, pos, g)[0]; !math.IsInf(want, 1) || !math.IsNaN(float64(y[0])) {
		t.Errorf("unchecked Winograd with an infinite input: y[0] = %g (definition %g); want NaN, or the check is not needed", y[0], want)
	}
	// Checked, as the rules run it, the call goes to another path; on
	// 1 and 3 threads, the bad input in the first or the last image.
	for _, threads := range []int{1, 3} {
		for _, at := range []int{1*g.W + 1, g.XLen() - 5} {
			xBad, dyBad := slices.Clone(x), slices.Clone(dy)
			xBad[at], dyBad[g.YLen()-at] = inf, -inf
			name := fmt.Sprintf("threads%d at%d", threads, at)
			y := make([]float32, g.YLen())
			conv2dVia(pathWinograd, impl, y, xBad, w, g, threads, nil)
			assertSameClass(t, name+" y", y, naiveConv(xBad, w, g))
			dx := make([]float32, g.XLen())
			backwardDataVia(pathWinograd, impl, dx, dyBad, w, g, threads, nil)
			wantDX, _ := naiveGrads(x, w, dyBad, g)
			assertSameClass(t, name+" dx", dx, wantDX)
			for _, c := range []struct {
				what  string
				dy, x []float32
			}{{"dw(x)", dy, xBad}, {"dw(dy)", dyBad, x}} {
				dw := make([]float32, g.WLen())
				backwardWeightVia(pathWinograd, impl, dw, c.dy, c.x, g, threads, nil)
				other := make([]float32, g.WLen())
				backwardWeightVia(otherWeightPath(g, c.x), impl, other, c.dy, c.x, g, threads, nil)
				if j := sameBitsAt(dw, other); j >= 0 {
					t.Fatalf("%s %s[%d] = %g, other path %g", name, c.what, j, dw[j], other[j])
				}
			}
		}
	}

	// Finite inputs and output gradients whose transforms overflow, two
	// columns apart in a row of a tile, where the definition's sums do
	// not: the other paths' bits, and finite.
	wSmall, dySmall := slices.Clone(w), slices.Clone(dy)
	for i := range wSmall {
		wSmall[i] *= 1e-3
	}
	for i := range dySmall {
		dySmall[i] *= 1e-3
	}
	xBig, dyBig := slices.Clone(x), slices.Clone(dySmall)
	xBig[2*g.W+4], xBig[2*g.W+6] = 3e38, -3e38
	dyBig[2*g.W+4], dyBig[2*g.W+6] = 3e38, -3e38
	for _, threads := range []int{1, 3} {
		got, other := make([]float32, g.YLen()), make([]float32, g.YLen())
		conv2dVia(pathWinograd, impl, got, xBig, wSmall, g, threads, nil)
		conv2dVia(pathDirect, impl, other, xBig, wSmall, g, threads, nil)
		if j := sameBitsAt(got, other); j >= 0 || !f32.AllFinite(got) {
			t.Fatalf("forward, overflowing input transform: y[%d] = %g, direct path %g", j, got[max(j, 0)], other[max(j, 0)])
		}
		got, other = make([]float32, g.XLen()), make([]float32, g.XLen())
		backwardDataVia(pathWinograd, impl, got, dyBig, wSmall, g, threads, nil)
		backwardDataVia(pathDirect, impl, other, dyBig, wSmall, g, threads, nil)
		if j := sameBitsAt(got, other); j >= 0 || !f32.AllFinite(got) {
			t.Fatalf("data, overflowing transform: dx[%d] = %g, direct path %g", j, got[max(j, 0)], other[max(j, 0)])
		}
		got, other = make([]float32, g.WLen()), make([]float32, g.WLen())
		backwardWeightVia(pathWinograd, impl, got, dySmall, xBig, g, threads, nil)
		backwardWeightVia(otherWeightPath(g, xBig), impl, other, dySmall, xBig, g, threads, nil)
		if j := sameBitsAt(got, other); j >= 0 || !f32.AllFinite(got) {
			t.Fatalf("weight, overflowing transform: dw[%d] = %g, other path %g", j, got[max(j, 0)], other[max(j, 0)])
		}
	}

	// Finite weights whose transform overflows: the direct path's bits.
	big := slices.Clone(w)
	for i := range 9 {
		big[i] = 3e38
	}
	small := make([]float32, len(x))
	for i, v := range x {
		small[i] = v * 1e-30
	}
	for _, threads := range []int{1, 3} {
		got, direct := make([]float32, g.YLen()), make([]float32, g.YLen())
		conv2dVia(pathWinograd, impl, got, small, big, g, threads, nil)
		conv2dVia(pathDirect, impl, direct, small, big, g, threads, nil)
		if j := sameBitsAt(got, direct); j >= 0 {
			t.Fatalf("forward, overflowing weight transform: y[%d] = %g, direct path %g", j, got[j], direct[j])
		}
		dyS := make([]float32, len(dy))
		for i, v := range dy {
			dyS[i] = v * 1e-30
		}
		got, direct = make([]float32, g.XLen()), make([]float32, g.XLen())
		backwardDataVia(pathWinograd, impl, got, dyS, big, g, threads, nil)
		backwardDataVia(pathDirect, impl, direct, dyS, big, g, threads, nil)
		if j := sameBitsAt(got, direct); j >= 0 {
			t.Fatalf("data, overflowing weight transform: dx[%d] = %g, direct path %g", j, got[j], direct[j])
		}
	}
}

// TestWinogradAllocs checks that steady-state calls on the Winograd path
// allocate nothing.
func TestWinogradAllocs(t *testing.T) {
	skipWithoutWinograd(t)
	impl := gonum.Implementation{}
	g := geom.Conv{N: 4, C: 16, H: 12, W: 12, O: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	r := rand.New(rand.NewSource(24))
	x, w, dy := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
	y, dx, dw := make([]float32, g.YLen()), make([]float32, g.XLen()), make([]float32, g.WLen())
	ws := new(Workspace)
	allocs := func(p path) float64 {
		return testing.AllocsPerRun(20, func() {
			conv2dVia(p, impl, y, x, w, g, 2, ws)
			backwardDataVia(p, impl, dx, dy, w, g, 2, ws)
			backwardWeightVia(p, impl, dw, dy, x, g, 2, ws)
		})
	}
	if a := allocs(pathWinograd); a != 0 {
		t.Errorf("Winograd path: %v allocations a call", a)
	}
}

// TestSplitQuads checks splitQuads (the vector mover where the CPU has it)
// on rows of every width up to 70, with the phases in every rotation a
// padding of 0 to 3 gives: element 4i+k of each row lands at phase k's
// i, and nothing else in the destination changes.
func TestSplitQuads(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	for w := 0; w <= 70; w++ {
		for pad := 0; pad < 4; pad++ {
			rows, ss := 3, w+5
			phase := (w+pad)/4 + 2
			ds := 4*phase + 1
			var at [4]int
			for k := range at {
				p := pad + k // padded column of element k
				at[k] = p%4*phase + p/4
			}
			src := randSlice(r, rows*ss)
			got := randSlice(r, rows*ds+8)
			want := slices.Clone(got)
			for y := 0; y < rows; y++ {
				for x := 0; x < w; x++ {
					want[at[x%4]+y*ds+x/4] = src[y*ss+x]
				}
			}
			splitQuads(got, at, src, rows, w, ds, ss)
			assertBits(t, fmt.Sprintf("w=%d pad=%d splitQuads", w, pad), got, want)
		}
	}
}
