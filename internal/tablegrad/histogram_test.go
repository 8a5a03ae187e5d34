package tablegrad

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHistAdd: the histogram adds of every width from 1 to 40 and 64, on
// grids of codes of one to six rows, steps of one to three codes and rows
// that overlap, touch or leave gaps, with repeated codes (runs of two and
// longer, two codes taking turns), against a plain loop over the
// positions, bit for bit (the vector form, where the CPU has it,
// included).
func TestHistAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, width := range append([]int{64}, func() []int {
		ws := make([]int, 40)
		for i := range ws {
			ws[i] = i + 1
		}
		return ws
	}()...) {
		gr := grid{rows: 1 + rng.IntN(6), cols: 1 + rng.IntN(60), step: 1 + rng.IntN(3)}
		gr.rowStride = rng.IntN(gr.cols*gr.step + 6)
		n := gr.rows * gr.cols
		c := codes(rng, gr.last()+1)
		for i := 1; i < len(c); i += 7 {
			c[i] = c[i-1] // the same row twice in a row
		}
		// Longer runs of one code, and two codes taking turns.
		for i := len(c) / 3; i < len(c)/2; i++ {
			c[i] = c[len(c)/3]
		}
		for i := len(c) / 2; i+2 < len(c)*2/3; i++ {
			c[i+2] = c[i]
		}
		d := floats(rng, n*width)
		h0 := floats(rng, 256*width)
		want := append([]float32(nil), h0...)
		q := 0
		for r := 0; r < gr.rows; r++ {
			for col := 0; col < gr.cols; col++ {
				a := int(c[r*gr.rowStride+col*gr.step])
				for o := 0; o < width; o++ {
					want[a*width+o] += d[q*width+o]
				}
				q++
			}
		}
		for _, vector := range []bool{true, false} {
			got := append([]float32(nil), h0...)
			if vector {
				histAdd(got, c, gr, d, width)
			} else {
				withoutVector(func() { histAdd(got, c, gr, d, width) })
			}
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("width %d, grid %+v, vector %v: h[%d] = %v, want %v", width, gr, vector && useVector(), i, got[i], want[i])
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
