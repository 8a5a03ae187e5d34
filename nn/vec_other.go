//go:build !amd64 || purego

package nn

// Without amd64 assembly every kernel is the plain Go one; the AVX2 entry
// points exist only so that vec.go compiles and are never called.
const useAVX2 = false

func reluAVX2(y, x *float32, n int)                     { panic("nn: no AVX2 kernels") }
func reluGradAVX2(dx, x, dy *float32, n int)            { panic("nn: no AVX2 kernels") }
func relu6AVX2(y, x *float32, n int)                    { panic("nn: no AVX2 kernels") }
func relu6GradAVX2(dx, x, dy *float32, n int)           { panic("nn: no AVX2 kernels") }
func scaleShiftAVX2(y, x *float32, n int, k, b float32) { panic("nn: no AVX2 kernels") }
func sumLanesAVX2(v *float32, n int, p *[lanes]float64) { panic("nn: no AVX2 kernels") }
func sqDevLanesAVX2(v *float32, n int, mean float64, p *[lanes]float64) {
	panic("nn: no AVX2 kernels")
}
func dyXhatLanesAVX2(x, dy *float32, n int, mean, inv float32, pa, pb *[lanes]float64) {
	panic("nn: no AVX2 kernels")
}
func bnGradXAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX float32) {
	panic("nn: no AVX2 kernels")
}
