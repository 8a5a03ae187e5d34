package tablegrad

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goapprox/goapprox/lut"
)

// edgeCodes are the byte indices where signed and unsigned readings part
// (127/128) and the ends of both axes.
var edgeCodes = []byte{0, 1, 127, 128, 129, 255}

// codes returns n random codes, about one in four an edge code.
func codes(rng *rand.Rand, n int) []byte {
	c := make([]byte, n)
	for i := range c {
		if rng.IntN(4) == 0 {
			c[i] = edgeCodes[rng.IntN(len(edgeCodes))]
		} else {
			c[i] = byte(rng.IntN(256))
		}
	}
	return c
}

func floats(rng *rand.Rand, n int) []float32 {
	f := make([]float32, n)
	for i := range f {
		f[i] = float32(rng.NormFloat64())
	}
	return f
}

func mustGradient(t testing.TB, tab *lut.Table, h lut.Window) *lut.Gradients {
	t.Helper()
	g, err := lut.Gradient(tab, h)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// randomGradients are slopes with no structure at all, so that any
// confusion of operands, orientation or index shows.
func randomGradients(rng *rand.Rand) *lut.Gradients {
	g := new(lut.Gradients)
	for i := range g.X {
		g.X[i] = float32(rng.NormFloat64() * 100)
		g.W[i] = float32(rng.NormFloat64() * 100)
	}
	return g
}

// nonLinearTable is a made-up non-commutative multiplier: the product with
// the activation's low three bits dropped, plus a term in the weight alone.
func nonLinearTable(t testing.TB, s lut.Signs) *lut.Table {
	tab, err := lut.Tabulate("nonlinear", s, func(x, w int) int { return (x>>3<<3)*w + w*w/16 })
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// randomQuant has per-output scales and zero points when perOutput is set.
func randomQuant(rng *rand.Rand, out int, perOutput bool) *Quant {
	n := 1
	if perOutput {
		n = out
	}
	q := &Quant{XScale: float32(0.01 + rng.Float64()), XZero: int32(rng.IntN(256) - 128), WScale: make([]float32, n), WZero: make([]int32, n)}
	for i := range q.WScale {
		q.WScale[i] = float32(0.01 + rng.Float64())
		q.WZero[i] = int32(rng.IntN(256))
	}
	return q
}

// closeTo reports whether got and want agree within tol relative to
// scale, the sum of the magnitudes of the terms of want's sum (the float32
// rounding of such a sum is bounded by a multiple of it).
func closeTo(got, want, scale, tol float64) bool {
	return math.Abs(got-want) <= tol*scale+1e-30
}

// withoutVector runs f with the pure-Go loops.
func withoutVector(f func()) {
	saved := vectorOff
	vectorOff = true
	defer func() { vectorOff = saved }()
	f()
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestGEMMByHand: one input, two outputs, slopes set by hand.
//
//	dx = 2·0.5·(1.5−1) + 3·2·(−4−(−2)) = 0.5 − 12 = −11.5
//	dw = 0.1·2·(10−3) = 1.4,   0.1·3·(0.25−3) = −0.825
func TestGEMMByHand(t *testing.T) {
	g := new(lut.Gradients)
	g.X[5<<8|7], g.X[5<<8|200] = 1.5, -4
	g.W[5<<8|7], g.W[5<<8|200] = 10, 0.25
	tab := Prepare(g)
	x, w, dy := []byte{5}, []byte{7, 200}, []float32{2, 3}
	q := &Quant{XScale: 0.1, XZero: 3, WScale: []float32{0.5, 2}, WZero: []int32{1, -2}}
	for _, ref := range []bool{false, true} {
		dx, dw := make([]float32, 1), make([]float32, 2)
		var err1, err2 error
		if ref {
			err1 = GEMMDataRef(dx, dy, x, w, 1, 2, 1, g, q)
			err2 = GEMMWeightRef(dw, dy, x, w, 1, 2, 1, false, g, q)
		} else {
			err1 = GEMMData(dx, dy, x, w, 1, 2, 1, tab, q, 1, nil)
			err2 = GEMMWeight(dw, dy, x, w, 1, 2, 1, false, tab, q, 1, nil)
		}
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !closeTo(float64(dx[0]), -11.5, 1, 1e-6) || !closeTo(float64(dw[0]), 1.4, 1, 1e-6) || !closeTo(float64(dw[1]), -0.825, 1, 1e-6) {
			t.Errorf("reference=%v: dx=%v dw=%v, want [-11.5] [1.4 -0.825]", ref, dx, dw)
		}
	}
}

// stQuantized returns the straight-through GEMM gradients, from the
// operand values the codes stand for (exact products, float64):
// dx = dy·diag(sw)·(W−zw), dw = sx·dyᵀ·(X−zx), with the sums of the
// magnitudes of their terms.
func stGEMM(dy []float32, x, w []byte, m, n, k int, s lut.Signs, q *Quant) (dx, dw, dxMag, dwMag []float64) {
	dx, dw = make([]float64, m*k), make([]float64, n*k)
	dxMag, dwMag = make([]float64, m*k), make([]float64, n*k)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			o := min(j, len(q.WScale)-1)
			d := float64(dy[i*n+j])
			for l := 0; l < k; l++ {
				xv := float64(s.X.Value(int(x[i*k+l])))
				wv := float64(s.W.Value(int(w[j*k+l])))
				zw, sw := float64(q.WZero[o]), float64(q.WScale[o])
				dx[i*k+l] += d * sw * (wv - zw)
				dxMag[i*k+l] += math.Abs(d*sw) * (math.Abs(wv) + math.Abs(zw))
				dw[j*k+l] += float64(q.XScale) * d * (xv - float64(q.XZero))
				dwMag[j*k+l] += math.Abs(float64(q.XScale)*d) * (math.Abs(xv) + math.Abs(float64(q.XZero)))
			}
		}
	}
	return dx, dw, dxMag, dwMag
}

var allSigns = []lut.Signs{
	{X: lut.Unsigned, W: lut.Unsigned}, {X: lut.Unsigned, W: lut.Signed},
	{X: lut.Signed, W: lut.Unsigned}, {X: lut.Signed, W: lut.Signed},
}

// TestGEMMExactTableIsStraightThrough: the exact multiplier's slopes,
// through the same kernels as any table, give the straight-through
// gradients of the operand values, for every signedness (windows 0 and 4:
// the window reproduces a linear table).
func TestGEMMExactTableIsStraightThrough(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range allSigns {
		for _, h := range []lut.Window{0, 4} {
			tab, err := FromTable(lut.ExactTable(s), h)
			if err != nil {
				t.Fatal(err)
			}
			for _, sz := range [][3]int{{7, 13, 29}, {64, 120, 40}, {3, 1, 9}} {
				m, n, k := sz[0], sz[1], sz[2]
				x, w, dy := codes(rng, m*k), codes(rng, n*k), floats(rng, m*n)
				q := randomQuant(rng, n, n > 1)
				if s.X == lut.Signed {
					q.XZero = int32(rng.IntN(256) - 128)
				} else {
					q.XZero = int32(rng.IntN(256))
				}
				dx, dw := make([]float32, m*k), make([]float32, n*k)
				if err := GEMMData(dx, dy, x, w, m, n, k, tab, q, 0, nil); err != nil {
					t.Fatal(err)
				}
				if err := GEMMWeight(dw, dy, x, w, m, n, k, false, tab, q, 0, nil); err != nil {
					t.Fatal(err)
				}
				wantX, wantW, magX, magW := stGEMM(dy, x, w, m, n, k, s, q)
				check(t, fmt.Sprintf("%v H=%d %v", s, h, sz), dx, dw, wantX, wantW, magX, magW)
				if err := GEMMBoth(dx, dw, dy, x, w, m, n, k, false, tab, q, 0, nil); err != nil {
					t.Fatal(err)
				}
				check(t, fmt.Sprintf("%v H=%d %v fused", s, h, sz), dx, dw, wantX, wantW, magX, magW)
			}
		}
	}
}

// check compares gradients with the straight-through ones within 1e-6 of
// the magnitudes of their terms.
func check(t *testing.T, name string, dx, dw []float32, wantX, wantW, magX, magW []float64) {
	t.Helper()
	for i := range dx {
		if !closeTo(float64(dx[i]), wantX[i], magX[i], 1e-6) {
			t.Fatalf("%s: dx[%d] = %v, straight-through %v", name, i, dx[i], wantX[i])
		}
	}
	for i := range dw {
		if !closeTo(float64(dw[i]), wantW[i], magW[i], 1e-6) {
			t.Fatalf("%s: dw[%d] = %v, straight-through %v", name, i, dw[i], wantW[i])
		}
	}
}

// gemmMagnitudes returns, per element, the sum of the magnitudes of the
// terms of the reference's sums, for the tolerance.
func gemmMagnitudes(g *lut.Gradients, dy []float32, x, w []byte, m, n, k int, q *Quant) (mx, mw []float64) {
	p, _ := resolve(q, n, nil, nil)
	mx, mw = make([]float64, m*k), make([]float64, n*k)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			d := math.Abs(float64(dy[i*n+j]))
			for l := 0; l < k; l++ {
				at := int(x[i*k+l])<<8 | int(w[j*k+l])
				mx[i*k+l] += d * p.scale(j) * (math.Abs(float64(g.X[at])) + math.Abs(p.zero(j)))
				mw[j*k+l] += p.sx * d * (math.Abs(float64(g.W[at])) + math.Abs(p.zx))
			}
		}
	}
	return mx, mw
}

// TestGEMMMatchesReference: random and made-up non-linear slopes on odd
// shapes, with and without quantization parameters, both weight layouts;
// the fast kernels agree with the references within float32 rounding and
// give the same bits on 1, 2 and 3 threads.
func TestGEMMMatchesReference(t *testing.T) {
	// One workspace serves every call on two threads, whatever its shape.
	shared := new(Workspace)
	rng := rand.New(rand.NewPCG(3, 4))
	grads := []*lut.Gradients{
		randomGradients(rng),
		mustGradient(t, nonLinearTable(t, allSigns[1]), 0),
		mustGradient(t, nonLinearTable(t, allSigns[3]), 8),
	}
	sizes := [][3]int{{1, 1, 1}, {1, 8, 1}, {2, 9, 3}, {5, 7, 16}, {17, 3, 31}, {64, 120, 40}, {33, 17, 65}, {8, 1, 70}}
	for gi, g := range grads {
		tab := Prepare(g)
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			x, w, dy := codes(rng, m*k), codes(rng, n*k), floats(rng, m*n)
			for _, q := range []*Quant{nil, randomQuant(rng, n, false), randomQuant(rng, n, true)} {
				name := fmt.Sprintf("grads%d/%v/quant=%v", gi, sz, q != nil)
				wantX, wantW := make([]float32, m*k), make([]float32, n*k)
				wantWT := make([]float32, n*k)
				if err := GEMMDataRef(wantX, dy, x, w, m, n, k, g, q); err != nil {
					t.Fatal(err)
				}
				if err := GEMMWeightRef(wantW, dy, x, w, m, n, k, false, g, q); err != nil {
					t.Fatal(err)
				}
				if err := GEMMWeightRef(wantWT, dy, x, w, m, n, k, true, g, q); err != nil {
					t.Fatal(err)
				}
				magX, magW := gemmMagnitudes(g, dy, x, w, m, n, k, q)
				first := map[bool][3][]float32{}
				run := func(label string, threads int, fused bool) {
					var ws *Workspace
					if threads == 2 {
						ws = shared
					}
					dx, dw, dwT := make([]float32, m*k), make([]float32, n*k), make([]float32, n*k)
					if fused {
						label += "/fused"
						if err := GEMMBoth(dx, dw, dy, x, w, m, n, k, false, tab, q, threads, ws); err != nil {
							t.Fatal(err)
						}
						if err := GEMMBoth(make([]float32, m*k), dwT, dy, x, w, m, n, k, true, tab, q, threads, ws); err != nil {
							t.Fatal(err)
						}
					} else {
						if err := GEMMData(dx, dy, x, w, m, n, k, tab, q, threads, ws); err != nil {
							t.Fatal(err)
						}
						if err := GEMMWeight(dw, dy, x, w, m, n, k, false, tab, q, threads, ws); err != nil {
							t.Fatal(err)
						}
						if err := GEMMWeight(dwT, dy, x, w, m, n, k, true, tab, q, threads, ws); err != nil {
							t.Fatal(err)
						}
					}
					for i := range dx {
						if !closeTo(float64(dx[i]), float64(wantX[i]), magX[i], 1e-5) {
							t.Fatalf("%s %s: dx[%d] = %v, reference %v", name, label, i, dx[i], wantX[i])
						}
					}
					for j := 0; j < n; j++ {
						for l := 0; l < k; l++ {
							if !closeTo(float64(dw[j*k+l]), float64(wantW[j*k+l]), magW[j*k+l], 1e-5) {
								t.Fatalf("%s %s: dw[%d] = %v, reference %v", name, label, j*k+l, dw[j*k+l], wantW[j*k+l])
							}
							if dwT[l*n+j] != dw[j*k+l] || wantWT[l*n+j] != wantW[j*k+l] {
								t.Fatalf("%s %s: in×out dw[%d][%d] = %v (reference %v), out×in %v", name, label, l, j, dwT[l*n+j], wantWT[l*n+j], dw[j*k+l])
							}
						}
					}
					f, ok := first[fused]
					if !ok {
						first[fused] = [3][]float32{dx, dw, dwT}
						return
					}
					firstX, firstW, firstWT := f[0], f[1], f[2]
					if i := sameBits(dx, firstX); i >= 0 {
						t.Fatalf("%s %s: dx[%d] = %v, but %v on one thread", name, label, i, dx[i], firstX[i])
					}
					if i := sameBits(dw, firstW); i >= 0 {
						t.Fatalf("%s %s: dw[%d] = %v, but %v on one thread", name, label, i, dw[i], firstW[i])
					}
					if i := sameBits(dwT, firstWT); i >= 0 {
						t.Fatalf("%s %s: in×out dw[%d] = %v, but %v on one thread", name, label, i, dwT[i], firstWT[i])
					}
				}
				for _, fused := range []bool{false, true} {
					for _, threads := range []int{1, 2, 3} {
						run(fmt.Sprintf("threads=%d", threads), threads, fused)
					}
				}
			}
		}
	}
}

// TestDenseSegs: several segments of every width from 1 to 40, at
// overlapping and scattered offsets, against a float64 sum, and bit for
// bit the same with and without the vector form.
func TestDenseSegs(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	a, b := floats(rng, 4000), floats(rng, 4000)
	for width := 1; width <= 40; width++ {
		segs := make([]seg, 1+rng.IntN(9))
		var want, mag float64
		for i := range segs {
			segs[i] = seg{a: int32(rng.IntN(4000 - width)), b: int32(rng.IntN(4000 - width))}
			for u := 0; u < width; u++ {
				p := float64(a[int(segs[i].a)+u]) * float64(b[int(segs[i].b)+u])
				want += p
				mag += math.Abs(p)
			}
		}
		got := denseSegs(a, b, segs, width)
		if !closeTo(float64(got), want, mag, 1e-6) {
			t.Fatalf("width %d: %v, want %v", width, got, want)
		}
		var pure float32
		withoutVector(func() { pure = denseSegs(a, b, segs, width) })
		if math.Float32bits(pure) != math.Float32bits(got) {
			t.Fatalf("width %d: %v, pure Go %v", width, got, pure)
		}
	}
}

// TestDot: the gather-dot of every length from 0 to 70 (whole blocks and
// tails) with edge codes, against a float64 sum; the dense dot product of
// the gathered slopes, with and without the vector form, bit for bit.
func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	row := new([256]float32)
	for i := range row {
		row[i] = float32(rng.NormFloat64())
	}
	for n := 0; n <= 70; n++ {
		d, idx := floats(rng, n), codes(rng, n)
		var want, mag float64
		for i := range d {
			want += float64(d[i]) * float64(row[idx[i]])
			mag += math.Abs(float64(d[i]) * float64(row[idx[i]]))
		}
		got := dot(d, idx, row)
		if !closeTo(float64(got), want, mag, 1e-6) {
			t.Fatalf("n=%d: dot = %v, want %v", n, got, want)
		}
		// The dense product of the gathered slopes as one segment,
		// vector and pure Go, gives the same bits.
		m := make([]float32, n)
		for i, a := range idx {
			m[i] = row[a]
		}
		one := []seg{{0, 0}}
		dense := denseSegs(m, d, one, n)
		var pure float32
		withoutVector(func() { pure = denseSegs(m, d, one, n) })
		if math.Float32bits(dense) != math.Float32bits(got) || math.Float32bits(pure) != math.Float32bits(got) {
			t.Fatalf("n=%d: denseSegs = %v (pure Go %v), dot %v", n, dense, pure, got)
		}
	}
}

// TestDotAxpy: the fused step of every length from 0 to 40 with edge
// codes: its sum and the accumulators it adds to, against float64.
func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	gx, gw := new([256]float32), new([256]float32)
	for i := range gx {
		gx[i], gw[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	for n := 0; n <= 40; n++ {
		d, idx, acc := floats(rng, n), codes(rng, n), floats(rng, n)
		got := append([]float32(nil), acc...)
		s := dotAxpy(d, idx, gx, gw, got)
		var want, mag float64
		for i := range d {
			p := float64(d[i]) * float64(gx[idx[i]])
			want += p
			mag += math.Abs(p)
			q := float64(d[i]) * float64(gw[idx[i]])
			if w := float64(acc[i]) + q; !closeTo(float64(got[i]), w, math.Abs(float64(acc[i]))+math.Abs(q), 1e-6) {
				t.Fatalf("n=%d: acc[%d] = %v, want %v", n, i, got[i], w)
			}
		}
		if !closeTo(float64(s), want, mag, 1e-6) {
			t.Fatalf("n=%d: sum = %v, want %v", n, s, want)
		}
	}
}
