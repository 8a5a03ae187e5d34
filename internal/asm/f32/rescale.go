package f32

import "github.com/goapprox/goapprox/internal/asm"

// Rescale sets y[i] = float32(float64(acc[i] + corr)·scale) for i <
// len(y), the sum exact in int64. The assembly adds in float64, which is
// exact for |corr| < 2^52, and gives the twin's bits there; larger
// corrections go through the twin.
func Rescale(y []float32, acc []int32, corr int64, scale float64) {
	n := 0
	if asm.AVX2() && corr < 1<<52 && corr > -(1<<52) {
		n = len(y) &^ 7
	}
	if n > 0 {
		rescale8(&acc[:n][0], &y[0], n, float64(corr), scale)
	}
	rescaleGo(y[n:], acc[n:len(y)], corr, scale)
}

func rescaleGo(y []float32, acc []int32, corr int64, scale float64) {
	for p, a := range acc[:len(y)] {
		y[p] = float32(float64(int64(a)+corr) * scale)
	}
}
