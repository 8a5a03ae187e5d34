package kernel_test

import (
	"fmt"

	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/ops/kernel"
)

// A 2×3 block of activation codes times two weight rows, on a multiplier
// that drops the low four bits of every product. GEMM sums the table's
// entries; the exact sums are printed beside them for comparison.
func ExampleGEMM() {
	// table[x<<8|w] is the approximate product of the unsigned codes x and w.
	var table [65536]int32
	for x := 0; x < 256; x++ {
		for w := 0; w < 256; w++ {
			table[x<<8|w] = int32(x * w &^ 15)
		}
	}
	p := kernel.Prepare(&table) // once per table; shared by all calls

	const m, n, k = 2, 2, 3
	x := []byte{3, 5, 7, 10, 20, 30} // m×k activations, row-major
	w := []byte{2, 4, 6, 1, 1, 1}    // n×k weights, one row per output
	acc := make([]int32, m*n)
	if err := kernel.GEMM(acc, x, w, m, n, k, p, 1); err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			exact := 0
			for l := 0; l < k; l++ {
				exact += int(x[i*k+l]) * int(w[j*k+l])
			}
			fmt.Printf("acc[%d][%d] = %3d (exact %3d)\n", i, j, acc[i*n+j], exact)
		}
	}
	// Output:
	// acc[0][0] =  48 (exact  68)
	// acc[0][1] =   0 (exact  15)
	// acc[1][0] = 272 (exact 280)
	// acc[1][1] =  32 (exact  60)
}

// A 1×1 convolution of a 2×2 map of activation codes into two output
// channels, written as floats: the activations' zero point is 2 and scale
// 0.5, the weights' scales 0.25 and 0.125, so each output is
// (Σ table[x][w] − 2·Σw)·0.5·s_w, the quantized layer's output with the
// approximate products: the dropped bits show even where x is 0
// (channel 1: table[2][3] = 4, not 6).
func ExampleConv2dRescaled() {
	var table [65536]int32
	for x := 0; x < 256; x++ {
		for w := 0; w < 256; w++ {
			table[x<<8|w] = int32(x * w &^ 3) // drops the low two bits
		}
	}
	p := kernel.Prepare(&table)
	g := geom.Conv{N: 1, C: 1, H: 2, W: 2, O: 2, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}
	x := []byte{2, 3, 5, 9} // codes; 2 is the real value 0
	w := []byte{6, 3}       // one weight per output channel
	r := kernel.Rescale{
		Corr:  []int64{-2 * 6, -2 * 3}, // −zero point · Σ of the channel's weight codes
		Scale: []float64{0.5 * 0.25, 0.5 * 0.125},
	}
	y := make([]float32, g.YLen())
	if err := kernel.Conv2dRescaled(y, x, w, 2, g, p, 1, r); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y[:4], y[4:])
	// Output:
	// [0 0.5 2 5] [-0.125 0.125 0.375 1.125]
}
