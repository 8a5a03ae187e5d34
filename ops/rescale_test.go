package ops

import (
	"math"
	"math/rand"
	"testing"
)

// TestRescaleMatchesScalar holds rescale (vector loop where the CPU has
// one) to the plain expression bit for bit, on lengths around the vector
// width and accumulators up to the int32 limits.
func TestRescaleMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 100} {
		acc := make([]int32, n)
		for i := range acc {
			switch i % 4 {
			case 0:
				acc[i] = r.Int31() - 1<<30
			case 1:
				acc[i] = math.MaxInt32
			case 2:
				acc[i] = math.MinInt32
			default:
				acc[i] = int32(r.Intn(1000) - 500)
			}
		}
		for _, corr := range []int64{0, -123456789, 1 << 40, -(1 << 33)} {
			scale := 0.02 * 0.0037
			y := make([]float32, n+1)
			y[n] = 42
			rescale(y[:n], acc, corr, scale)
			for i, a := range acc {
				want := float32(float64(int64(a)+corr) * scale)
				if math.Float32bits(y[i]) != math.Float32bits(want) {
					t.Fatalf("n=%d corr=%d: y[%d] = %g, want %g", n, corr, i, y[i], want)
				}
			}
			if y[n] != 42 {
				t.Fatalf("n=%d: rescale wrote past the end", n)
			}
		}
	}
}
