//go:build amd64 && !purego

package ops

import "golang.org/x/sys/cpu"

// rescale8 is the AVX2 rescale loop (see rescale_amd64.s).
//
//go:noescape
func rescale8(acc *int32, y *float32, n int, corr, scale float64)

func init() {
	if cpu.X86.HasAVX2 {
		rescaleVector = func(y []float32, acc []int32, corr int64, scale float64) int {
			n := len(y) &^ 7
			if n == 0 || corr >= 1<<52 || corr <= -(1<<52) {
				return 0
			}
			rescale8(&acc[:n][0], &y[0], n, float64(corr), scale)
			return n
		}
	}
}
