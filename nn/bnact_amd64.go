//go:build amd64 && !purego

package nn

// The fused batch norm and activation kernels of bnact_amd64.s; n is a
// multiple of 8 (element-wise) or of lanes (sums), as vecPrefix (vec.go) gives.

//go:noescape
func scaleShiftActAVX2(y, x *float32, n int, k, b, hi float32)

//go:noescape
func bnGradXActAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX, kf, bf, hi float32, passAll uint32)

//go:noescape
func dyXhatActLanesAVX2(x, dy *float32, n int, mean, inv, kf, bf, hi float32, passAll uint32, pa, pb *[lanes]float64)
