//go:build !amd64 || purego

package floatkernel

// Without the vector kernels the depthwise data gradient always goes
// through phase planes.
const haveTapRows = false

func tapRows(*rowTaps, int) { panic("floatkernel: no fused depthwise kernel in this build") }

// Nor the weight gradient's fused kernel.
const haveWeightDots = false

func weightDots(*planeDots) { panic("floatkernel: no fused depthwise kernel in this build") }

func spreadRows(dst, src []float32, rows, w, ds int) { copyRows(dst, src, nil, rows, w, ds, w) }
