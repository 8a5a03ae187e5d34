//go:build amd64 && !purego

package floatkernel

import "golang.org/x/sys/cpu"

// addRowsUnit is the AVX version of addRows (see addrows_amd64.s).
//
//go:noescape
func addRowsUnit(dst, src *float32, rows, cols, dstStride, srcStride int)

func init() {
	if cpu.X86.HasAVX {
		addRows = func(dst, src []float32, rows, cols, dstStride, srcStride int) {
			if rows <= 0 || cols <= 0 {
				return
			}
			// The last row's end bounds every access.
			_ = dst[(rows-1)*dstStride+cols-1]
			_ = src[(rows-1)*srcStride+cols-1]
			addRowsUnit(&dst[0], &src[0], rows, cols, dstStride, srcStride)
		}
	}
}
