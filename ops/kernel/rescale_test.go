package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goapprox/goapprox/ops/geom"
)

// rescaleWant is the definition of Rescale for one sum.
func rescaleWant(s int32, corr int64, scale float64) float32 {
	return float32(float64(int64(s)+corr) * scale)
}

// randomRescale draws a correction and scale per channel: zero, small and
// extreme corrections (up to the largest the float64 stores take, and
// one beyond it when wide is set), scales of either sign and many
// magnitudes, so that roundings to float32 and its overflow occur.
func randomRescale(rng *rand.Rand, o int, wide bool) Rescale {
	r := Rescale{Corr: make([]int64, o), Scale: make([]float64, o)}
	for i := range o {
		switch rng.IntN(4) {
		case 0:
			r.Corr[i] = 0
		case 1:
			r.Corr[i] = rng.Int64N(1<<20) - 1<<19
		case 2:
			r.Corr[i] = rng.Int64N(2*rescaleExactLimit-1) - (rescaleExactLimit - 1)
		default:
			r.Corr[i] = int64(rng.IntN(2))*2*(rescaleExactLimit-1) - (rescaleExactLimit - 1)
		}
		r.Scale[i] = (rng.Float64() - 0.3) * math.Pow(2, float64(rng.IntN(60)-40))
	}
	if wide && o > 0 {
		r.Corr[rng.IntN(o)] = rescaleExactLimit + rng.Int64N(1<<62)
	}
	return r
}

// TestConv2dRescaled checks Conv2dRescaled against Conv2dRef and the
// definition of Rescale, bit for bit, on every implementation and conv
// mode (the pre-gathered path writes floats itself, the others rescale a
// buffer), and that it writes nothing past y.
func TestConv2dRescaled(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	shapes := convShapes(rng, true)
	shapes = append(shapes,
		convGeom(3, 5, 9, 11, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1), // 20 channels: a block of eight lanes half past the last
		convGeom(2, 16, 8, 8, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1), // two chunks, strided
	)
	tabs := testTables()
	modes := []convMode{convAuto, convPregather, convIm2col, convDirect}
	for si, g := range shapes {
		tb := tabs[si%len(tabs)]
		p := Prepare(tb.t)
		pad := byte(si * 37)
		x, w := codes(rng, g.XLen(), pad), codes(rng, g.WLen(), pad)
		sums := make([]int32, g.YLen())
		Conv2dRef(sums, x, w, pad, g, tb.t)
		r := randomRescale(rng, g.O, si%5 == 4)
		opos := g.OutH() * g.OutW()
		for _, im := range impls {
			for _, mode := range modes {
				y := make([]float32, g.YLen()+1)
				y[g.YLen()] = 42
				if err := convRescaledWith(im, mode, y, x, w, pad, g, p, 1+si%3, r); err != nil {
					t.Fatal(err)
				}
				for i, s := range sums {
					o := i / opos % g.O
					want := rescaleWant(s, r.Corr[o], r.Scale[o])
					if math.Float32bits(y[i]) != math.Float32bits(want) {
						t.Fatalf("%s mode %d %s %+v: y[%d] (channel %d) = %g, want %g (sum %d, corr %d, scale %g)", im.name, mode, tb.name, g, i, o, y[i], want, s, r.Corr[o], r.Scale[o])
					}
				}
				if y[g.YLen()] != 42 {
					t.Fatalf("%s mode %d %+v: wrote past y", im.name, mode, g)
				}
			}
		}
	}
}

// TestPregatherScaledStores checks every implementation's store of
// rescaled sums against the definition, as TestPregatherStores does for
// the integer store.
func TestPregatherScaledStores(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for _, im := range impls {
		st := im.pgScaledStorer()
		for width := pgUnit; width <= pgMaxWidth; width += pgUnit {
			for _, nl := range []int{1, 7, 8, 9, width - 1, width} {
				for groups := 1; groups <= 3; groups++ {
					rows := 8 * groups
					opos := rows + rng.IntN(5)
					acc := make([]uint32, rows*width)
					for i := range acc {
						acc[i] = rng.Uint32()
					}
					r := randomRescale(rng, width, false)
					corr := make([]float64, width)
					for q, c := range r.Corr {
						corr[q] = float64(c)
					}
					out := make([]float32, width*opos+3)
					for i := range out {
						out[i] = -7
					}
					st(out, opos, acc, width, nl, groups, corr, r.Scale)
					for i, v := range out {
						q, row := i/opos, i%opos
						want := float32(-7)
						if q < nl && row < rows {
							want = rescaleWant(int32(acc[row*width+q]), r.Corr[q], r.Scale[q])
						}
						if math.Float32bits(v) != math.Float32bits(want) {
							t.Fatalf("%s width %d nl %d groups %d: out[%d] (lane %d, row %d) = %g, want %g", im.name, width, nl, groups, i, q, row, v, want)
						}
					}
				}
			}
		}
	}
}

// TestConv2dRescaledBadArguments checks the errors for an output or a
// rescale too short.
func TestConv2dRescaledBadArguments(t *testing.T) {
	g := geom.Conv{N: 1, C: 1, H: 4, W: 4, O: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	p := Prepare(new([65536]int32))
	x, w := make([]byte, g.XLen()), make([]byte, g.WLen())
	ok := Rescale{Corr: make([]int64, 3), Scale: make([]float64, 3)}
	if err := Conv2dRescaled(make([]float32, g.YLen()-1), x, w, 0, g, p, 1, ok); err == nil {
		t.Error("short output: no error")
	}
	if err := Conv2dRescaled(make([]float32, g.YLen()), x, w, 0, g, p, 1, Rescale{Corr: make([]int64, 2), Scale: make([]float64, 3)}); err == nil {
		t.Error("two corrections for three channels: no error")
	}
	if err := Conv2dRescaled(make([]float32, g.YLen()), x, w, 0, g, p, 1, ok); err != nil {
		t.Errorf("valid call: %v", err)
	}
}

// TestConv2dRescaledLargeCorrections checks corrections far beyond what
// float64 adds to a sum exactly: the definition adds in int64 first, and a
// float64 sum would round on the other side of a float32 boundary
// (2^60+2^36-50 + 150 rounds to 2^60+2^36 in int64-then-float64, but to
// 2^60+2^36+256 in float64, and float32 then rounds the two apart). Every
// path must take the exact route.
func TestConv2dRescaledLargeCorrections(t *testing.T) {
	tab := new([65536]int32)
	for i := range tab {
		tab[i] = 150 // every sum of a 1×1, one-channel convolution is 150
	}
	p := Prepare(tab)
	g := convGeom(2, 1, 32, 32, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1)
	r := Rescale{Corr: make([]int64, g.O), Scale: make([]float64, g.O)}
	for o := range g.O {
		r.Corr[o], r.Scale[o] = 1<<60+1<<36-50, 1
	}
	want := rescaleWant(150, r.Corr[0], 1)
	if want == float32(float64(r.Corr[0])+150) {
		t.Fatal("the case no longer separates adding in int64 from adding in float64")
	}
	x, w := make([]byte, g.XLen()), make([]byte, g.WLen())
	for _, im := range impls {
		for _, mode := range []convMode{convAuto, convPregather} {
			y := make([]float32, g.YLen())
			if err := convRescaledWith(im, mode, y, x, w, 0, g, p, 2, r); err != nil {
				t.Fatal(err)
			}
			for i, v := range y {
				if v != want {
					t.Fatalf("%s mode %d: y[%d] = %g, want %g", im.name, mode, i, v, want)
				}
			}
		}
	}
}
