//go:build amd64 && !purego

package tablegrad

import "golang.org/x/sys/cpu"

// histAddAVX2 is histAdd for widths that are a multiple of 8, eight
// floats per add (see hist_amd64.s).
//
//go:noescape
func histAddAVX2(h *float32, codes *byte, d *float32, n, width int)

func init() {
	if cpu.X86.HasAVX2 {
		histAdd = histAddVector
	}
}

// histAddVector runs histAdd's vector form on widths it serves, histAddGo
// on the others.
func histAddVector(h []float32, codes []byte, d []float32, width int) {
	if width%8 != 0 || len(codes) == 0 {
		histAddGo(h, codes, d, width)
		return
	}
	_ = h[256*width-1]
	_ = d[len(codes)*width-1]
	histAddAVX2(&h[0], &codes[0], &d[0], len(codes), width)
}
