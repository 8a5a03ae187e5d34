//go:build amd64 && !purego

package tablegrad

import "github.com/goapprox/goapprox/internal/asm"

// histAddAVX2 is histAdd for widths that are a multiple of 8, eight
// floats per add (see hist_amd64.s).
//
//go:noescape
func histAddAVX2(h *float32, codes *byte, d *float32, rows, cols, rowStride, step, width int)

// denseSegsBlocks adds the whole blocks of every segment to the lanes of
// acc, as denseSegs describes (see vector_amd64.s). nseg and blocks are at
// least 1.
//
//go:noescape
func denseSegsBlocks(a, b *float32, segs *seg, nseg, blocks int, acc *[8]float32)

// spanDotsBlocks is spanDots's vector form (see vector_amd64.s): n
// positions, blocks blocks of eight per segment, nseg and blocks at least
// 1, every offset in bounds.
//
//go:noescape
func spanDotsBlocks(m *float32, rowWidth int, codes *byte, d *float32, step int, segs *seg, nseg, blocks, n int, out *float32)

// slopesAVX2 is slopes's vector form for blocks of eight columns (see
// vector_amd64.s); blocks is at least 1.
//
//go:noescape
func slopesAVX2(p *float32, wl *byte, gwT *float32, stride, blocks int)

// contractAVX2 is contract's vector form for blocks of eight columns;
// blocks is at least 1.
//
//go:noescape
func contractAVX2(out *float64, p, h *float32, stride, blocks int)

// tapSumsAVX2 is tapSums's vector form (see vector_amd64.s); imgs, rows
// and cols are at least 1.
//
//go:noescape
func tapSumsAVX2(acc, q *float32, codes *byte, offs *[tapSumTaps]int, d *float32, imgs, imgStride, rows, cols, rowStride, step, dStride int)

// useVector says whether the AVX2 forms of histAdd, tapSums, slopes,
// contract, denseSegs and spanDots run: the CPU has AVX2 and assembly is
// on (internal/asm), unless a test turned them off (vectorOff) to compare
// them with the pure-Go loops.
func useVector() bool { return !vectorOff && asm.AVX2() }

// vectorOff turns the vector forms off in tests.
var vectorOff bool

func init() {
	histAdd = histAddVector
	slopes = slopesVector
	contract = contractVector
	tapSums = tapSumsVector
}

// tapSumsVector runs tapSums's vector form unless the vector forms are off
// or the walk is one it does not serve (empty, or strides that go back).
func tapSumsVector(acc, q []float32, codes []byte, offs *[tapSumTaps]int, gr grid, imgs, imgStride int, d []float32, dStride int) {
	if !useVector() || imgs <= 0 || imgStride < 0 || gr.rows <= 0 || gr.cols <= 0 || gr.rowStride < 0 || gr.step < 0 || dStride < tapSumCols {
		tapSumsGo(acc, q, codes, offs, gr, imgs, imgStride, d, dStride)
		return
	}
	_ = acc[tapSumRow-1]
	_ = q[256*tapSumRow-1]
	last := (imgs-1)*imgStride + gr.last()
	for _, off := range offs {
		if off < 0 {
			panic("tablegrad: negative tap offset")
		}
		_ = codes[off+last]
	}
	_ = d[(imgs*gr.rows*gr.cols-1)*dStride+tapSumCols-1]
	tapSumsAVX2(&acc[0], &q[0], &codes[0], offs, &d[0], imgs, imgStride, gr.rows, gr.cols, gr.rowStride, gr.step, dStride)
}

// slopesVector and contractVector run the vector forms when the columns
// come in whole blocks of eight, the Go loops otherwise.
func slopesVector(p []float32, wl []byte, stride int, byAct, byWeight *[256][256]float32) {
	if !useVector() || len(wl)%8 != 0 || len(wl) == 0 || stride < len(wl) {
		slopesGo(p, wl, stride, byAct, byWeight)
		return
	}
	_ = p[255*stride+len(wl)-1]
	slopesAVX2(&p[0], &wl[0], &byWeight[0][0], stride, len(wl)/8)
}

func contractVector(out []float64, p, h []float32, stride int) {
	if !useVector() || len(out)%8 != 0 || len(out) == 0 || stride < len(out) {
		contractGo(out, p, h, stride)
		return
	}
	_ = p[255*stride+len(out)-1]
	_ = h[255*stride+len(out)-1]
	contractAVX2(&out[0], &p[0], &h[0], stride, len(out)/8)
}

// histAddVector runs histAdd's vector form on widths it serves, histAddGo
// on the others.
func histAddVector(h []float32, codes []byte, gr grid, d []float32, width int) {
	if !useVector() || width%8 != 0 || gr.rows <= 0 || gr.cols <= 0 || gr.rowStride < 0 || gr.step < 0 {
		histAddGo(h, codes, gr, d, width)
		return
	}
	_ = h[256*width-1]
	_ = codes[gr.last()]
	_ = d[gr.rows*gr.cols*width-1]
	histAddAVX2(&h[0], &codes[0], &d[0], gr.rows, gr.cols, gr.rowStride, gr.step, width)
}
