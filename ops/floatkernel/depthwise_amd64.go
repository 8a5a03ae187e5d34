//go:build amd64 && !purego

package floatkernel

import "golang.org/x/sys/cpu"

// tapsAxpyUnit is the AVX2/FMA version of tapsAxpy (depthwise_amd64.s).
//
//go:noescape
func tapsAxpyUnit(out, in *float32, offs *int, w *float32, ntaps, n int, add bool)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		tapsAxpy = func(out, in []float32, base int, offs []int, w []float32, n int, add bool) {
			if n > 0 && len(offs) > 0 {
				checkTaps(out, in, base, offs, w, n)
				tapsAxpyUnit(&out[0], &in[base], &offs[0], &w[0], len(offs), n, add)
			}
		}
	}
}
