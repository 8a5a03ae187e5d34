package tablegrad

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHistAdd: the histogram adds of every width from 1 to 40 and 64,
// with repeated codes (runs of two and longer, two codes taking turns),
// against a plain loop, bit for bit (the
// vector form, where the CPU has it, included).
func TestHistAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, width := range append([]int{64}, func() []int {
		ws := make([]int, 40)
		for i := range ws {
			ws[i] = i + 1
		}
		return ws
	}()...) {
		n := 1 + rng.IntN(300)
		c := codes(rng, n)
		for i := 1; i < n; i += 7 {
			c[i] = c[i-1] // the same row twice in a row
		}
		// Longer runs of one code, and two codes taking turns.
		for i := n / 3; i < n/2; i++ {
			c[i] = c[n/3]
		}
		for i := n / 2; i+2 < n*2/3; i++ {
			c[i+2] = c[i]
		}
		d := floats(rng, n*width)
		h0 := floats(rng, 256*width)
		want := append([]float32(nil), h0...)
		for q, a := range c {
			for o := 0; o < width; o++ {
				want[int(a)*width+o] += d[q*width+o]
			}
		}
		for _, vector := range []bool{true, false} {
			got := append([]float32(nil), h0...)
			if vector {
				histAdd(got, c, d, width)
			} else {
				withoutVector(func() { histAdd(got, c, d, width) })
			}
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("width %d, vector %v: h[%d] = %v, want %v", width, vector && useVector(), i, got[i], want[i])
			}
		}
	}
}

// TestSpanDots: spans of 1 to 9 positions (pairs and a last single one in
// the vector form) against denseSegs per position, bit for bit, with and
// without the vector form.
func TestSpanDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, runWidth := range []int{8, 16, 24, 48, 5} {
		rowWidth := 3 * runWidth
		m := floats(rng, 256*rowWidth)
		for n := 1; n <= 9; n++ {
			step := 8 + rng.IntN(8)
			d := floats(rng, n*step+4*runWidth)
			segs := []seg{{0, 0}, {int32(2 * runWidth), int32(runWidth)}, {int32(runWidth), int32(3 * runWidth)}}
			cs := codes(rng, n)
			want := make([]float32, n)
			for p, a := range cs {
				withoutVector(func() { want[p] = denseSegs(m[int(a)*rowWidth:][:rowWidth], d[p*step:], segs, runWidth) })
			}
			for _, vector := range []bool{true, false} {
				got := make([]float32, n)
				if vector {
					spanDots(m, rowWidth, cs, d, step, segs, runWidth, got)
				} else {
					withoutVector(func() { spanDots(m, rowWidth, cs, d, step, segs, runWidth, got) })
				}
				if i := sameBits(got, want); i >= 0 {
					t.Fatalf("width %d, %d positions, vector %v: position %d = %v, want %v", runWidth, n, vector && useVector(), i, got[i], want[i])
				}
			}
		}
	}
}

// TestSlopesContract: a tap's slopes row by row and their contraction with
// a histogram, for column counts of one to five vector blocks and a few
// that are not whole blocks, rows wider than the columns included, against
// the definitions (GW[a][w], the rows' products summed in float64 in
// order), bit for bit, with and without the vector forms.
func TestSlopesContract(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	gr := randomGradients(rng)
	tab := Prepare(gr)
	for _, cols := range []int{8, 16, 24, 32, 40, 64, 3, 12} {
		for _, stride := range []int{cols, cols + 8} {
			wl := codes(rng, cols)
			h := floats(rng, 256*stride)
			wantP := make([]float32, 256*stride)
			want := make([]float64, cols)
			for a := range 256 {
				for j, b := range wl {
					wantP[a*stride+j] = gr.W[a<<8|int(b)]
					want[j] += float64(wantP[a*stride+j]) * float64(h[a*stride+j])
				}
			}
			for _, vector := range []bool{true, false} {
				p := make([]float32, 256*stride)
				sums := make([]float64, cols)
				for i := range sums {
					sums[i] = rng.NormFloat64() // overwritten, not added to
				}
				f := func() {
					slopes(p, wl, stride, &tab.gw, &tab.gwT)
					contract(sums, p, h, stride)
				}
				if vector {
					f()
				} else {
					withoutVector(f)
				}
				for a := range 256 {
					for j := range wl {
						if p[a*stride+j] != wantP[a*stride+j] {
							t.Fatalf("%d columns, stride %d, vector %v: slope of code %d, column %d = %v, want %v",
								cols, stride, vector && useVector(), a, j, p[a*stride+j], wantP[a*stride+j])
						}
					}
				}
				for j := range want {
					if math.Float64bits(sums[j]) != math.Float64bits(want[j]) {
						t.Fatalf("%d columns, stride %d, vector %v: sum %d = %v, want %v", cols, stride, vector && useVector(), j, sums[j], want[j])
					}
				}
			}
		}
	}
}
