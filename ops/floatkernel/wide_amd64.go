//go:build amd64 && !purego

package floatkernel

import "golang.org/x/sys/cpu"

// sdot3x4Ptrs is the AVX2/FMA gathered dot kernel (see wide_amd64.s).
//
//go:noescape
func sdot3x4Ptrs(k int, rows *[dr + dc]*float32, c *float32)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		dotPtrsKernel = sdot3x4Ptrs
	}
}
