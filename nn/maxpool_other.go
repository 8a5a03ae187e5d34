//go:build !amd64 || purego

package nn

// Without amd64 assembly the max pool runs its Go loops; these entry points
// exist only so that maxpool.go compiles and are never called.

func maxPool2x2AVX2(x, y *float32, arg *int32, planes, h, w int, tail *[3][8]int32) bool {
	panic("nn: no AVX2 kernels")
}

func maxPool2x2GradAVX2(dx, dy *float32, arg *int32, planes, h, w int, tail *[3][8]int32) {
	panic("nn: no AVX2 kernels")
}
