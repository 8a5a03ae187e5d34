//go:build !amd64 || purego

package nn

// Never called without amd64 assembly (useAVX2 reports false): entry points
// for bnact.go to compile.

func scaleShiftActAVX2(y, x *float32, n int, k, b, hi float32) { panic("nn: no AVX2 kernels") }
func bnGradXActAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX, kf, bf, hi float32, passAll uint32) {
	panic("nn: no AVX2 kernels")
}
func dyXhatActLanesAVX2(x, dy *float32, n int, mean, inv, kf, bf, hi float32, passAll uint32, pa, pb *[lanes]float64) {
	panic("nn: no AVX2 kernels")
}
