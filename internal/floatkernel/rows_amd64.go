//go:build amd64 && !purego

package floatkernel

import "github.com/goapprox/goapprox/internal/asm"

// The AVX2 row movers (rows_amd64.s); rows.go says what each does. The
// masked forms are separate functions, which keeps the branch out of the
// vector loops. Strides are in elements.
//
//go:noescape
func copyRowsUnit(dst, src *float32, rows, w, ds, ss int)

//go:noescape
func maskRowsUnit(dst, src *float32, mask *bool, rows, w, ds, ss int)

//go:noescape
func splitPairsUnit(even, odd, src *float32, rows, w, ds, ss int)

//go:noescape
func mergePairsUnit(dst, even, odd *float32, rows, w, ds, ss int)

//go:noescape
func mergePairsMaskUnit(dst, even, odd *float32, mask *bool, rows, w, ds, ss int)

//go:noescape
func dequantRowsUnit(dst *float32, src *byte, q *codeScale, rows, w, ds, ss int)

//go:noescape
func splitCodePairsUnit(even, odd *float32, src *byte, q *codeScale, rows, w, ds, ss int)

//go:noescape
func splitQuadsUnit(p0, p1, p2, p3, src *float32, rows, w, ds, ss int)

//go:noescape
func transposePanelUnit(dst, src *float32, outs, spatial int)

// The vector movers run only where asm.AVX2 allows.
func init() {
	transposePanel = func(dst, src []float32, outs, spatial int) {
		if !asm.AVX2() || outs%8 != 0 || spatial%8 != 0 || outs == 0 || spatial == 0 {
			transposePanelGo(dst, src, outs, spatial)
			return
		}
		dst, src = dst[:spatial*nr], src[:outs*spatial]
		transposePanelUnit(&dst[0], &src[0], outs, spatial)
		if outs < nr {
			for p := 0; p < spatial; p++ {
				clear(dst[p*nr+outs:][:nr-outs])
			}
		}
	}
	copyRows = func(dst, src []float32, mask []bool, rows, w, ds, ss int) {
		if !asm.AVX2() {
			copyRowsGo(dst, src, mask, rows, w, ds, ss)
			return
		}
		n := rowsEnd(rows, w, ds)
		if n == 0 {
			return
		}
		_, _ = dst[n-1], src[rowsEnd(rows, w, ss)-1]
		if mask == nil {
			copyRowsUnit(&dst[0], &src[0], rows, w, ds, ss)
			return
		}
		_ = mask[n-1]
		maskRowsUnit(&dst[0], &src[0], &mask[0], rows, w, ds, ss)
	}
	splitPairs = func(even, odd, src []float32, rows, w, ds, ss int) {
		if !asm.AVX2() {
			splitPairsGo(even, odd, src, rows, w, ds, ss)
			return
		}
		if rowsEnd(rows, w, ds) == 0 {
			return
		}
		_, _ = even[rowsEnd(rows, (w+1)/2, ds)-1], src[rowsEnd(rows, w, ss)-1]
		splitPairsUnit(&even[0], oddPtr(odd, rows, w, ds), &src[0], rows, w, ds, ss)
	}
	splitQuads = func(dst []float32, at [4]int, src []float32, rows, w, ds, ss int) {
		blocks := w &^ 15
		if !asm.AVX2() || blocks == 0 || rows <= 0 {
			splitQuadsGo(dst, at, src, rows, w, ds, ss)
			return
		}
		_ = src[rowsEnd(rows, w, ss)-1]
		var p [4]*float32
		for k := range p {
			_ = dst[at[k]+rowsEnd(rows, (w-k+3)/4, ds)-1]
			p[k] = &dst[at[k]]
		}
		splitQuadsUnit(p[0], p[1], p[2], p[3], &src[0], rows, blocks, ds, ss)
		if blocks < w {
			splitQuadsTail(dst, at, src, rows, blocks, w, ds, ss)
		}
	}
	mergePairs = func(dst, even, odd []float32, mask []bool, rows, w, ds, ss int) {
		if !asm.AVX2() {
			mergePairsGo(dst, even, odd, mask, rows, w, ds, ss)
			return
		}
		n := rowsEnd(rows, w, ds)
		if n == 0 {
			return
		}
		_, _ = dst[n-1], even[rowsEnd(rows, (w+1)/2, ss)-1]
		if mask == nil {
			mergePairsUnit(&dst[0], &even[0], oddPtr(odd, rows, w, ss), rows, w, ds, ss)
			return
		}
		_ = mask[n-1]
		mergePairsMaskUnit(&dst[0], &even[0], oddPtr(odd, rows, w, ss), &mask[0], rows, w, ds, ss)
	}
	dequantRows = func(dst []float32, src []byte, q codeScale, rows, w, ds, ss int) {
		if !asm.AVX2() {
			dequantRowsGo(dst, src, q, rows, w, ds, ss)
			return
		}
		n := rowsEnd(rows, w, ds)
		if n == 0 {
			return
		}
		_, _ = dst[n-1], src[rowsEnd(rows, w, ss)-1]
		dequantRowsUnit(&dst[0], &src[0], &q, rows, w, ds, ss)
	}
	splitCodePairs = func(even, odd []float32, src []byte, q codeScale, rows, w, ds, ss int) {
		if !asm.AVX2() {
			splitCodePairsGo(even, odd, src, q, rows, w, ds, ss)
			return
		}
		if rowsEnd(rows, w, ds) == 0 {
			return
		}
		_, _ = even[rowsEnd(rows, (w+1)/2, ds)-1], src[rowsEnd(rows, w, ss)-1]
		splitCodePairsUnit(&even[0], oddPtr(odd, rows, w, ds), &src[0], &q, rows, w, ds, ss)
	}
}

// oddPtr is the first element of the odd rows after checking their reach;
// with w = 1 there are none and nothing is read or written through it.
func oddPtr(odd []float32, rows, w, stride int) *float32 {
	if w < 2 {
		return nil
	}
	_ = odd[rowsEnd(rows, w/2, stride)-1]
	return &odd[0]
}
