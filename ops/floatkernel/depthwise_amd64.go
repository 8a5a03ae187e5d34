//go:build amd64 && !purego

package floatkernel

import "golang.org/x/sys/cpu"

// tapsAxpyUnit is the AVX2/FMA version of tapsAxpy (depthwise_amd64.s).
//
//go:noescape
func tapsAxpyUnit(out, in *float32, offs *int, w *float32, ntaps, n int, add bool)

// dot9Unit is the AVX2/FMA version of tapsDot for nine taps.
//
//go:noescape
func dot9Unit(dy, in *float32, offs *int, n int, sums *float32)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		tapsAxpy = func(out, in []float32, base int, offs []int, w []float32, n int, add bool) {
			if n > 0 && len(offs) > 0 {
				checkTaps(out, in, base, offs, w, n)
				tapsAxpyUnit(&out[0], &in[base], &offs[0], &w[0], len(offs), n, add)
			}
		}
		portableDot := tapsDot
		tapsDot = func(sums, dy, in []float32, offs []int, n int) {
			if len(offs) != 9 || n <= 0 {
				portableDot(sums, dy, in, offs, n)
				return
			}
			checkTaps(dy, in, 0, offs, sums, n)
			dot9Unit(&dy[0], &in[0], &offs[0], n, &sums[0])
		}
	}
}
