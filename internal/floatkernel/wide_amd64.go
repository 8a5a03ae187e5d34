//go:build amd64 && !purego

package floatkernel

import "golang.org/x/sys/cpu"

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

// nonFiniteUnit is the AVX2 test of allFinite (see wide_amd64.s).
//
//go:noescape
func nonFiniteUnit(x *float32, n int) bool

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		dotPtrsKernel = sdot3x4Ptrs
		tapKernel = sgemm6x16Taps
		offsKernel = sgemm6x16Offs
		widenRows = func(dst, src []float32, rows, cols, pad int) {
			if rows <= 0 || cols <= 0 {
				return
			}
			// The last row's ends bound every access.
			_ = dst[rows*(cols+pad)-1]
			_ = src[rows*cols-1]
			widenRowsUnit(&dst[0], &src[0], rows, cols, pad)
		}
		allFinite = func(x []float32) bool { return len(x) == 0 || !nonFiniteUnit(&x[0], len(x)) }
	}
}
