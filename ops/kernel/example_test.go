package kernel_test

import (
	"fmt"

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
