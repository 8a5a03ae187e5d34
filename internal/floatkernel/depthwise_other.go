//go:build !amd64 || purego

package floatkernel

// Without the vector kernels the depthwise data gradient always goes
// through phase planes.
func haveTapRows() bool { return false }

func tapRows(*rowTaps, int) { panic("floatkernel: no fused depthwise kernel in this build") }

// Nor the weight gradient's fused kernel.
func haveWeightDots() bool { return false }

func weightDots(*planeDots) { panic("floatkernel: no fused depthwise kernel in this build") }

func spreadRows(dst, src []float32, rows, w, ds int) { copyRows(dst, src, nil, rows, w, ds, w) }

func tapsAxpy(out, in []float32, base int, offs []int, w []float32, n int, add bool) {
	tapsAxpyGo(out, in, base, offs, w, n, add)
}

func tapsDot(sums, dy, in []float32, offs []int, n int) { tapsDotGo(sums, dy, in, offs, n) }
