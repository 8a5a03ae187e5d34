package surrogate_test

import (
	"fmt"
	"math"

	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/surrogate"
)

// Fit a few low-rank surrogates of Mitchell's logarithmic multiplier and
// measure, over all 65,536 operand pairs, how much of the multiplier's
// error map table - x·w each leaves unexplained: the relative error
// ‖surrogate - table‖ / ‖table - exact‖ (1 for the exact product alone).
// The surrogate's own Fidelity, the share of the error it reproduces, is
// 1 - (relative error)² under the uniform weighting Fit uses.
func ExampleFit() {
	table, err := multiplier.Parse("mitchell")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range []int{0, 1, 2, 4, 8} {
		s, err := surrogate.Fit(table, r)
		if err != nil {
			fmt.Println(err)
			return
		}
		var miss, errMap float64
		for x := 0; x < 256; x++ {
			for w := 0; w < 256; w++ {
				entry := float64(table.At(int32(x), int32(w)))
				exact := float64(table.Signs().X.Value(x) * table.Signs().W.Value(w))
				d := s.At(byte(x), byte(w)) - entry
				miss += d * d
				errMap += (entry - exact) * (entry - exact)
			}
		}
		fmt.Printf("rank %d: relative error %.2f, fidelity %.3f\n", s.Rank(), math.Sqrt(miss/errMap), s.Fidelity())
	}
	// Output:
	// rank 0: relative error 1.00, fidelity 0.000
	// rank 1: relative error 0.28, fidelity 0.924
	// rank 2: relative error 0.14, fidelity 0.982
	// rank 4: relative error 0.06, fidelity 0.997
	// rank 8: relative error 0.02, fidelity 0.999
}
