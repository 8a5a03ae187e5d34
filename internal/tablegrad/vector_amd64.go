//go:build amd64 && !purego

package tablegrad

import "golang.org/x/sys/cpu"

// histAddAVX2 is histAdd for widths that are a multiple of 8, eight
// floats per add (see hist_amd64.s).
//
//go:noescape
func histAddAVX2(h *float32, codes *byte, d *float32, n, width int)

// dotDenseBlocks adds d[t]·m[t] of the first 8*blocks terms to the eight
// lanes of acc, lane t%8 (see vector_amd64.s).
//
//go:noescape
func dotDenseBlocks(d, m *float32, blocks int, acc *[8]float32)

// useVector selects the AVX2 forms of histAdd and dotDense; tests turn it
// off to compare them with the pure-Go loops.
var useVector = cpu.X86.HasAVX2

func init() {
	if useVector {
		histAdd = histAddVector
	}
}

// histAddVector runs histAdd's vector form on widths it serves, histAddGo
// on the others.
func histAddVector(h []float32, codes []byte, d []float32, width int) {
	if !useVector || width%8 != 0 || len(codes) == 0 {
		histAddGo(h, codes, d, width)
		return
	}
	_ = h[256*width-1]
	_ = d[len(codes)*width-1]
	histAddAVX2(&h[0], &codes[0], &d[0], len(codes), width)
}
