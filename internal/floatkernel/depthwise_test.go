package floatkernel

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/ops/geom"
)

// TestDepthwiseRandomShapes checks the phase-plane depthwise loops against
// the textbook loops on random shapes: odd sizes, strides 1 to 3 (also
// unequal), padding up to the kernel's reach, dilation, channel
// multipliers, and that every result is bit-identical on 1, 2 and 3
// threads.
func TestDepthwiseRandomShapes(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	ws := new(Workspace)
	for i, g := range randomDepthwise(r, 80) {
		x, w, dy := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
		wantDX, wantDW := naiveGrads(x, w, dy, g)
		wantY := naiveConv(x, w, g)
		var first [3][]float32
		for _, threads := range []int{1, 2, 3} {
			name := fmt.Sprintf("%d/%+v/threads%d", i, g, threads)
			y, dx, dw := randSlice(r, g.YLen()), randSlice(r, g.XLen()), randSlice(r, g.WLen())
			impl := gonum.Implementation{}
			if err := Conv2d(impl, y, x, w, g, threads, ws); err != nil {
				t.Fatal(name, err)
			}
			if err := Conv2dBackwardData(impl, dx, dy, w, g, threads, ws); err != nil {
				t.Fatal(name, err)
			}
			if err := Conv2dBackwardWeight(impl, dw, dy, x, g, threads, ws); err != nil {
				t.Fatal(name, err)
			}
			assertClose(t, name+" y", y, wantY)
			assertClose(t, name+" dx", dx, wantDX)
			assertClose(t, name+" dw", dw, wantDW)
			for k, got := range [3][]float32{y, dx, dw} {
				if first[k] == nil {
					first[k] = got
					continue
				}
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(first[k][j]) {
						t.Fatalf("%s: result %d differs at %d from 1 thread: %g vs %g", name, k, j, got[j], first[k][j])
					}
				}
			}
		}
	}
}

// randomDepthwise returns the valid depthwise geometries among tries
// random ones: odd sizes, strides 1 to 3 (also unequal), padding up to the
// kernel's reach, dilation, channel multipliers, batches 1 to 3.
func randomDepthwise(r *rand.Rand, tries int) []geom.Conv {
	var gs []geom.Conv
	for range tries {
		c, mult := 1+r.Intn(5), 1+r.Intn(3)
		g := geom.Conv{N: 1 + r.Intn(3), C: c, H: 1 + r.Intn(13), W: 1 + r.Intn(13), O: c * mult,
			KH: 1 + r.Intn(4), KW: 1 + r.Intn(4), StrideH: 1 + r.Intn(3), StrideW: 1 + r.Intn(3),
			DilH: 1 + r.Intn(2), DilW: 1 + r.Intn(2), Groups: c}
		g.PadH, g.PadW = r.Intn(g.KH*g.DilH), r.Intn(g.KW*g.DilW)
		if g.Validate() == nil && isDepthwise(g) {
			gs = append(gs, g)
		}
	}
	if len(gs) < tries/2 {
		panic(fmt.Sprintf("only %d of %d random shapes were valid depthwise shapes", len(gs), tries))
	}
	return gs
}

// TestRowMovers checks the row movers (vector versions where the CPU has
// them) bit for bit against their definitions, on row widths around the
// vector length, several rows with strides larger than a row, values that
// include NaN and ±Inf, and that nothing outside the rows is written.
func TestRowMovers(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	special := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), float32(math.Copysign(0, -1))}
	values := func(n int) []float32 {
		s := randSlice(r, n)
		for i := range s {
			if r.Intn(5) == 0 {
				s[i] = special[r.Intn(len(special))]
			}
		}
		return s
	}
	for w := 0; w <= 37; w++ {
		rows := 1 + w%3
		ds, ss := w+3, 2*w+5 // dst (or halves) rows, src rows
		src, codes := values(rows*ss), make([]byte, rows*ss)
		r.Read(codes)
		mask := make([]bool, rows*ds)
		for i := range mask {
			mask[i] = r.Intn(2) == 0
		}
		sentinel := values(rows*ds + 8)
		fresh := func() []float32 { return slices.Clone(sentinel) }
		name := fmt.Sprintf("w=%d", w)

		// copyRows, with and without a mask, and in place.
		got, want := fresh(), fresh()
		copyRows(got, src, mask, rows, w, ds, ss)
		for y := 0; y < rows; y++ {
			for i := 0; i < w; i++ {
				want[y*ds+i] = masked(src[y*ss+i], mask[y*ds+i])
			}
		}
		assertBits(t, name+" copyRows masked", got, want)
		got = fresh()
		copyRows(got, src, nil, rows, w, ds, ss)
		for y := 0; y < rows; y++ {
			copy(want[y*ds:][:w], src[y*ss:][:w])
		}
		assertBits(t, name+" copyRows", got, want)
		got, want = fresh(), fresh()
		copyRows(got, got, mask, 1, len(mask), 0, 0)
		for i, m := range mask {
			want[i] = masked(want[i], m)
		}
		assertBits(t, name+" copyRows in place", got, want)

		// splitPairs and mergePairs: even and odd halves in one buffer,
		// ds apart, as phase planes are.
		even, wantEven := fresh(), fresh()
		odd, wantOdd := fresh(), fresh()
		splitPairs(even, odd, src, rows, w, ds, ss)
		for y := 0; y < rows; y++ {
			for i := 0; i < w; i++ {
				if i%2 == 0 {
					wantEven[y*ds+i/2] = src[y*ss+i]
				} else {
					wantOdd[y*ds+i/2] = src[y*ss+i]
				}
			}
		}
		assertBits(t, name+" splitPairs even", even, wantEven)
		assertBits(t, name+" splitPairs odd", odd, wantOdd)
		for _, m := range [][]bool{nil, mask} {
			got := values(rows*ds + 8)
			want := slices.Clone(got)
			mergePairs(got, even, odd, m, rows, w, ds, ds)
			for y := 0; y < rows; y++ {
				for i := 0; i < w; i++ {
					v := even[y*ds+i/2]
					if i%2 == 1 {
						v = odd[y*ds+i/2]
					}
					if m != nil {
						v = masked(v, m[y*ds+i])
					}
					want[y*ds+i] = v
				}
			}
			assertBits(t, fmt.Sprintf("%s mergePairs mask=%v", name, m != nil), got, want)
		}

		// dequantRows and splitCodePairs against ops' formula.
		for _, q := range []struct {
			signed bool
			zp     int32
		}{{false, 0}, {false, 131}, {true, 0}, {true, -7}} {
			scale := float32(r.ExpFloat64() / 50)
			cs := newCodeScale(q.signed, q.zp, scale)
			value := func(b byte) float32 {
				code := int32(b)
				if q.signed {
					code = int32(int8(b))
				}
				return float32(code-q.zp) * scale
			}
			qname := fmt.Sprintf("%s signed=%v zp=%d", name, q.signed, q.zp)
			got, want := fresh(), fresh()
			dequantRows(got, codes, cs, rows, w, ds, ss)
			for y := 0; y < rows; y++ {
				for i := 0; i < w; i++ {
					want[y*ds+i] = value(codes[y*ss+i])
				}
			}
			assertBits(t, qname+" dequantRows", got, want)
			even, wantEven := fresh(), fresh()
			odd, wantOdd := fresh(), fresh()
			splitCodePairs(even, odd, codes, cs, rows, w, ds, ss)
			for y := 0; y < rows; y++ {
				for i := 0; i < w; i++ {
					if i%2 == 0 {
						wantEven[y*ds+i/2] = value(codes[y*ss+i])
					} else {
						wantOdd[y*ds+i/2] = value(codes[y*ss+i])
					}
				}
			}
			assertBits(t, qname+" splitCodePairs even", even, wantEven)
			assertBits(t, qname+" splitCodePairs odd", odd, wantOdd)
		}
	}
}

// TestRowMoversMatchPortable runs the vector row movers (where the CPU
// has them) and the portable ones on the same random input: the vector
// code's own tails and steps must agree with the Go code, which the
// purego build uses.
func TestRowMoversMatchPortable(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	for w := 0; w <= 40; w++ {
		rows, ds, ss := 3, w+1, 2*w+3
		src, codes := randSlice(r, rows*ss), make([]byte, rows*ss)
		r.Read(codes)
		mask := make([]bool, rows*ds)
		for i := range mask {
			mask[i] = r.Intn(2) == 0
		}
		q := newCodeScale(w%2 == 0, int32(w)-20, 0.37)
		type mover func(a, b []float32)
		for _, c := range []struct {
			name       string
			vec, plain mover
		}{
			{"copyRows", func(a, b []float32) { copyRows(a, src, mask, rows, w, ds, ss) },
				func(a, b []float32) { copyRowsGo(a, src, mask, rows, w, ds, ss) }},
			{"splitPairs", func(a, b []float32) { splitPairs(a, b, src, rows, w, ds, ss) },
				func(a, b []float32) { splitPairsGo(a, b, src, rows, w, ds, ss) }},
			{"mergePairs", func(a, b []float32) { mergePairs(a, src, src[1:], mask, rows, w, ds, ss) },
				func(a, b []float32) { mergePairsGo(a, src, src[1:], mask, rows, w, ds, ss) }},
			{"dequantRows", func(a, b []float32) { dequantRows(a, codes, q, rows, w, ds, ss) },
				func(a, b []float32) { dequantRowsGo(a, codes, q, rows, w, ds, ss) }},
			{"splitCodePairs", func(a, b []float32) { splitCodePairs(a, b, codes, q, rows, w, ds, ss) },
				func(a, b []float32) { splitCodePairsGo(a, b, codes, q, rows, w, ds, ss) }},
		} {
			a1, b1 := make([]float32, rows*ds+4), make([]float32, rows*ds+4)
			a2, b2 := slices.Clone(a1), slices.Clone(b1)
			c.vec(a1, b1)
			c.plain(a2, b2)
			assertBits(t, fmt.Sprintf("w=%d %s", w, c.name), a1, a2)
			assertBits(t, fmt.Sprintf("w=%d %s (second output)", w, c.name), b1, b2)
		}
	}
}

// assertBits fails unless got and want are the same bits.
func assertBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %g (%#x), want %g (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestDepthwiseFusedDataMatchesPhased checks the fused data gradient (one
// output per channel, where the CPU has the kernels) bit for bit against
// the phase-plane path it replaces, with and without a mask, on random
// shapes (rows from 1 to 40 wide: both block widths, overlapping last
// blocks, the phase-plane fallback for narrow and odd rows) and the zoo's
// layers, on 1, 2 and 3 threads.
func TestDepthwiseFusedDataMatchesPhased(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	gs := depthwiseCases(r, 120, 2, func() geom.Conv {
		c := 1 + r.Intn(4)
		return geom.Conv{N: 1 + r.Intn(2), C: c, H: 1 + r.Intn(20), W: 1 + r.Intn(40), O: c,
			KH: 1 + r.Intn(4), KW: 1 + r.Intn(4), StrideH: 1 + r.Intn(3), StrideW: 1 + r.Intn(2),
			DilH: 1 + r.Intn(2), DilW: 1 + r.Intn(2), Groups: c}
	})
	ws, ref := new(Workspace), new(Workspace)
	fused := 0
	for i, g := range gs {
		if phasedGeom(g).fusedRows(g) {
			fused++
		}
		w, dy := randSlice(r, g.WLen()), randSlice(r, g.YLen())
		mask := make([]bool, g.XLen())
		for j := range mask {
			mask[j] = r.Intn(3) > 0
		}
		for _, m := range [][]bool{nil, mask} {
			want := randSlice(r, g.XLen())
			depthwiseBackwardDataPhased(want, dy, w, m, g, phasedGeom(g), 1, ref)
			for _, threads := range []int{1, 2, 3} {
				got := randSlice(r, g.XLen())
				depthwiseBackwardData(got, dy, w, m, g, threads, ws)
				assertBits(t, fmt.Sprintf("%d/%+v/mask=%v/threads%d", i, g, m != nil, threads), got, want)
			}
		}
	}
	if haveTapRows() && fused < len(gs)/3 {
		t.Fatalf("only %d of %d shapes took the fused path", fused, len(gs))
	}
}

// TestDepthwiseFusedWeightMatchesPhased checks the fused weight gradient
// (one output per channel, nine taps, where the CPU has the kernel) bit
// for bit against the phase-plane path it replaces, on floats and on codes
// (signed and unsigned, zero point 0 and not), on random shapes: rows 1 to
// 40 wide (both block widths, overlapping last blocks, odd rows with
// stride 2, the fallback for narrow rows), row strides 1 to 3, padding,
// dilation, 3x3, 1x9 and 9x1 kernels, batches 1, 3 and 5; and the zoo's
// layers; on 1, 2 and 3 threads.
func TestDepthwiseFusedWeightMatchesPhased(t *testing.T) {
	r := rand.New(rand.NewSource(23))
	gs := depthwiseCases(r, 150, 3, func() geom.Conv {
		c := 1 + r.Intn(12)
		kh, kw := 3, 3
		switch r.Intn(6) {
		case 0:
			kh, kw = 1, 9
		case 1:
			kh, kw = 9, 1
		}
		return geom.Conv{N: []int{1, 3, 5}[r.Intn(3)], C: c, H: 1 + r.Intn(40), W: 1 + r.Intn(40), O: c,
			KH: kh, KW: kw, StrideH: 1 + r.Intn(3), StrideW: 1 + r.Intn(2),
			DilH: 1 + r.Intn(2), DilW: 1 + r.Intn(2), Groups: c}
	})
	ws, ref := new(Workspace), new(Workspace)
	fused := 0
	for i, g := range gs {
		if phasedGeom(g).fusedDots(g) {
			fused++
		}
		dy := randSlice(r, g.YLen())
		codes := make([]byte, g.XLen())
		r.Read(codes)
		inputs := []inputPlanes{{floats: randSlice(r, g.XLen())}}
		for _, q := range []struct {
			signed bool
			zp     int32
		}{{false, 0}, {false, 131}, {true, 0}, {true, -7}} {
			inputs = append(inputs, inputPlanes{bytes: codes, q: newCodeScale(q.signed, q.zp, float32(0.01+r.Float64()/10))})
		}
		for k, x := range inputs {
			want := randSlice(r, g.WLen())
			depthwiseBackwardWeightPhased(want, dy, x, g, phasedGeom(g), 1, ref)
			for _, threads := range []int{1, 2, 3} {
				got := randSlice(r, g.WLen())
				depthwiseBackwardWeight(got, dy, x, g, threads, ws)
				assertBits(t, fmt.Sprintf("%d/%+v/input%d/threads%d", i, g, k, threads), got, want)
			}
		}
	}
	if haveWeightDots() && fused < len(gs)/3 {
		t.Fatalf("only %d of %d shapes took the fused path", fused, len(gs))
	}
	t.Logf("%d of %d shapes took the fused path", fused, len(gs))
}

// depthwiseCases returns n valid geometries drawn by draw, each given a
// random padding within its kernel's reach, then the zoo's depthwise
// layers with batch zooN.
func depthwiseCases(r *rand.Rand, n, zooN int, draw func() geom.Conv) []geom.Conv {
	var gs []geom.Conv
	for len(gs) < n {
		g := draw()
		g.PadH, g.PadW = r.Intn(g.KH*g.DilH), r.Intn(g.KW*g.DilW)
		if g.Validate() == nil {
			gs = append(gs, g)
		}
	}
	for _, z := range zooDepthwise {
		g := z.g
		g.N = zooN
		gs = append(gs, g)
	}
	return gs
}
