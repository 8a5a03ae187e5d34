package tablegrad

import (
	"math/rand/v2"
	"testing"
)

// TestTapSums: the tap sums' walk on one to three images' grids of codes
// of one to five rows, steps of one to three codes, rows that overlap,
// touch or leave gaps, the images' grids touching or not, taps
// at different offsets (two of them the same), output gradients of row
// strides from sixteen to forty floats and codes including 0 and 255,
// against a plain loop over positions and taps that rounds each product,
// bit for bit, with and without the vector form.
func TestTapSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for trial := 0; trial < 40; trial++ {
		gr := grid{rows: 1 + rng.IntN(5), cols: 1 + rng.IntN(40), step: 1 + rng.IntN(3)}
		gr.rowStride = rng.IntN(gr.cols*gr.step + 6)
		var offs [tapSumTaps]int
		for i := range offs {
			offs[i] = rng.IntN(50)
		}
		offs[3] = offs[1]
		dStride := tapSumCols + rng.IntN(25)
		imgs := 1 + rng.IntN(3)
		imgStride := gr.last() + 1 + rng.IntN(4)
		n := imgs * gr.rows * gr.cols
		c := codes(rng, (imgs-1)*imgStride+gr.last()+50)
		c[0], c[len(c)-1] = 0, 255
		for i := 5; i < len(c); i += 11 {
			c[i] = c[i-1]
		}
		q := floats(rng, 256*tapSumRow)
		d := floats(rng, (n-1)*dStride+tapSumCols)
		want := make([]float32, tapSumRow)
		p := 0
		for i := 0; i < imgs; i++ {
			for r := 0; r < gr.rows; r++ {
				for col := 0; col < gr.cols; col++ {
					for tp, off := range offs {
						a := int(c[off+i*imgStride+r*gr.rowStride+col*gr.step])
						for j := 0; j < tapSumCols; j++ {
							want[tp*tapSumCols+j] += float32(d[p*dStride+j] * q[a*tapSumRow+tp*tapSumCols+j])
						}
					}
					p++
				}
			}
		}
		for _, vector := range []bool{true, false} {
			got := floats(rng, tapSumRow) // overwritten, not added to
			if vector {
				tapSums(got, q, c, &offs, gr, imgs, imgStride, d, dStride)
			} else {
				withoutVector(func() { tapSums(got, q, c, &offs, gr, imgs, imgStride, d, dStride) })
			}
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("%d grids %+v %d apart, offsets %v, stride %d, vector %v: acc[%d] = %v, want %v", imgs, gr, imgStride, offs, dStride, vector && useVector(), i, got[i], want[i])
			}
		}
	}
}
