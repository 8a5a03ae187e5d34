//go:build !amd64 || purego

package f32

// Without assembly internal/asm reports every feature absent, so these
// entry points exist only for f32.go to compile and are never called.

func axpyUnit(a float32, x, y *float32, n int)                            { panic(noAsm) }
func dotUnit(x, y *float32, n int) float32                                { panic(noAsm) }
func addRowsUnit(dst, src *float32, rows, cols, dstStride, srcStride int) { panic(noAsm) }
func nonFiniteUnit(x *float32, n int) bool                                { panic(noAsm) }
func quantize8(src *float32, n int, inv, scale, lo, hi float32, zp int32, bytes *byte, fq *float32, mask *bool) bool {
	panic(noAsm)
}
func finiteRangeAVX2(x *float32, n int, r *rangeAcc)                    { panic(noAsm) }
func rescale8(acc *int32, y *float32, n int, corr, scale float64)       { panic(noAsm) }
func adamAVX(w, grad, m, v *float32, n int, a *adamArgs)                { panic(noAsm) }
func reluAVX2(y, x *float32, n int)                                     { panic(noAsm) }
func reluGradAVX2(dx, x, dy *float32, n int)                            { panic(noAsm) }
func relu6AVX2(y, x *float32, n int)                                    { panic(noAsm) }
func relu6GradAVX2(dx, x, dy *float32, n int)                           { panic(noAsm) }
func addActAVX2(y, a, b *float32, n int, hi float32)                    { panic(noAsm) }
func scaleShiftAVX2(y, x *float32, n int, k, b float32)                 { panic(noAsm) }
func sumLanesAVX2(v *float32, n int, p *[Lanes]float64)                 { panic(noAsm) }
func sqDevLanesAVX2(v *float32, n int, mean float64, p *[Lanes]float64) { panic(noAsm) }
func dyXhatLanesAVX2(x, dy *float32, n int, mean, inv float32, pa, pb *[Lanes]float64) {
	panic(noAsm)
}
func bnGradXAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX float32) {
	panic(noAsm)
}

const noAsm = "f32: no assembly in this build"
