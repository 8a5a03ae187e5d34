package nn

import (
	"github.com/goapprox/goapprox/internal/asm"
	asmf32 "github.com/goapprox/goapprox/internal/asm/f32"
)

// The element-wise and reduction loops of batch norm and ReLU/ReLU6 are
// internal/asm/f32's (AVX2 where allowed, pure-Go twins otherwise, the
// same bits either way); these names keep the ops' call sites short.

// lanes is the number of float64 partial sums of a lane sum (see
// asmf32.FoldLanes).
const lanes = asmf32.Lanes

func foldLanes(p *[lanes]float64) float64 { return asmf32.FoldLanes(p) }

// useAVX2 reports whether nn's own AVX2 kernels (fused batch norm and
// activation, 2×2 max pool) may run.
func useAVX2() bool { return asm.AVX2() }

// vecPrefix is the length of the part of n elements the AVX2 kernels take,
// in steps of width; 0 where they may not run.
func vecPrefix(n, width int) int { return asmf32.VecPrefix(n, width) }

func relu(y, x []float32)           { asmf32.ReLU(y, x) }
func reluGrad(dx, x, dy []float32)  { asmf32.ReLUGrad(dx, x, dy) }
func relu6(y, x []float32)          { asmf32.ReLU6(y, x) }
func relu6Grad(dx, x, dy []float32) { asmf32.ReLU6Grad(dx, x, dy) }

func scaleShift(y, x []float32, s, b float32) { asmf32.ScaleShift(y, x, s, b) }

func bnGradX(dx, x, dy []float32, mean, inv, s, meanDy, meanDyX float32) {
	asmf32.BNGradX(dx, x, dy, mean, inv, s, meanDy, meanDyX)
}

func sumLanes(v []float32, p *[lanes]float64) (tail []float32) { return asmf32.SumLanes(v, p) }

func sqDevLanes(v []float32, mean float64, p *[lanes]float64) (tail []float32) {
	return asmf32.SqDevLanes(v, mean, p)
}

func dyXhatLanes(x, dy []float32, mean, inv float32, pa, pb *[lanes]float64) (k int) {
	return asmf32.DyXhatLanes(x, dy, mean, inv, pa, pb)
}
