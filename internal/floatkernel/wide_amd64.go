//go:build amd64 && !purego

package floatkernel

import "github.com/goapprox/goapprox/internal/asm"

// sdot3x4Ptrs is the AVX2/FMA gathered dot kernel (see wide_amd64.s).
//
//go:noescape
func sdot3x4Ptrs(k int, rows *[dr + dc]*float32, c *float32)

// sgemm6x16Taps is the AVX2/FMA kernel of the tap-major weight gradient
// (see wide_amd64.s).
//
//go:noescape
func sgemm6x16Taps(a *[mr]*float32, b, c *float32, ldc, images, rows, cols, rowSkip, imgSkip int)

// sgemm6x16Offs is the AVX2/FMA kernel of the direct data gradient (see
// wide_amd64.s).
//
//go:noescape
func sgemm6x16Offs(k int, a, b *float32, offs *int, c *float32, ldc int)

// widenRowsUnit is the AVX version of widenRows (see wide_amd64.s).
//
//go:noescape
func widenRowsUnit(dst, src *float32, rows, cols, pad int)

// widenRows copies rows with their padding (see widenRowsGo), with
// widenRowsUnit where asm.AVX2FMA allows.
func widenRows(dst, src []float32, rows, cols, pad int) {
	if !asm.AVX2FMA() {
		widenRowsGo(dst, src, rows, cols, pad)
		return
	}
	if rows <= 0 || cols <= 0 {
		return
	}
	// The last row's ends bound every access.
	_ = dst[rows*(cols+pad)-1]
	_ = src[rows*cols-1]
	widenRowsUnit(&dst[0], &src[0], rows, cols, pad)
}

// The kernels run only where asm.AVX2FMA allows (see wideOK, tapsOK and
// directOK).
func init() {
	dotPtrsKernel = sdot3x4Ptrs
	tapKernel = sgemm6x16Taps
	offsKernel = sgemm6x16Offs
}
