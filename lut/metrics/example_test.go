package metrics_test

import (
	"fmt"

	"github.com/goapprox/goapprox/lut/metrics"
	"github.com/goapprox/goapprox/lut/multiplier"
)

func ExampleCompute() {
	t, _ := multiplier.Parse("trunc:t=4")
	m := metrics.Compute(t)
	fmt.Printf("%s: MAE %g, WCE %g, EP %g, bias %g\n", m.Name, m.MAE, m.WCE, m.EP, m.Bias)
	// Output: trunc:t=4: MAE 12.25, WCE 49, EP 0.8125, bias -12.25
}

func ExampleErrorMoments() {
	t, _ := multiplier.Parse("trunc:t=4")
	// Activations always 15, weights 15 or 1 equally often (by code low byte).
	px := metrics.Histogram([]int32{15})
	pw := metrics.Histogram([]int32{15, 1})
	mean, variance, _ := metrics.ErrorMoments(t, px, pw)
	// trunc:t=4 gives 15*15 = 176 (error -49) and 15*1 = 0 (error -15).
	fmt.Println(mean, variance)
	// Output: -32 289
}
