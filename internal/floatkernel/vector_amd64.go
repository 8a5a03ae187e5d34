//go:build amd64 && !purego

package floatkernel

import "golang.org/x/sys/cpu"

// axpyUnit and dotUnit are AVX2/FMA row operations (see vector_amd64.s).
//
//go:noescape
func axpyUnit(a float32, x, y *float32, n int)

//go:noescape
func dotUnit(x, y *float32, n int) float32

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		axpy = func(a float32, x, y []float32) {
			if len(y) > 0 {
				axpyUnit(a, &x[:len(y)][0], &y[0], len(y))
			}
		}
		dot = func(x, y []float32) float32 {
			if len(x) == 0 {
				return 0
			}
			return dotUnit(&x[0], &y[:len(x)][0], len(x))
		}
	}
}
