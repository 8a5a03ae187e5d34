//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels of vec_amd64.s (AVX and AVX2
// instructions only, no FMA: see vec.go).
var useAVX2 = cpu.X86.HasAVX2

// The kernels take n, a multiple of 8 (element-wise) or of lanes (sums),
// elements from each pointer.

//go:noescape
func reluAVX2(y, x *float32, n int)

//go:noescape
func reluGradAVX2(dx, x, dy *float32, n int)

//go:noescape
func relu6AVX2(y, x *float32, n int)

//go:noescape
func relu6GradAVX2(dx, x, dy *float32, n int)

//go:noescape
func scaleShiftAVX2(y, x *float32, n int, k, b float32)

//go:noescape
func bnGradXAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX float32)

//go:noescape
func sumLanesAVX2(v *float32, n int, p *[lanes]float64)

//go:noescape
func sqDevLanesAVX2(v *float32, n int, mean float64, p *[lanes]float64)

//go:noescape
func dyXhatLanesAVX2(x, dy *float32, n int, mean, inv float32, pa, pb *[lanes]float64)
