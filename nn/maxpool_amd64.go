//go:build amd64 && !purego

package nn

// The 2×2, stride-2 max pool kernels of maxpool_amd64.s, used where
// useAVX2 (vec.go) reports true. Both take planes of h×w inputs (h, w ≥ 2)
// and the masks of pool2x2TailMasks(w/2).

// maxPool2x2AVX2 is forward2x2 without its NaN handling: it writes y and
// arg as forward2x2 does when the input holds no NaN, and reports whether
// it held one (then y and arg are to be recomputed).
//
//go:noescape
func maxPool2x2AVX2(x, y *float32, arg *int32, planes, h, w int, tail *[3][8]int32) (nan bool)

// maxPool2x2GradAVX2 sets the inputs of every window to the window's dy
// (plus 0) at its argmax and +0 elsewhere. The last row or column of a
// plane of odd height or width, which no window covers, it leaves as it
// was or sets to +0.
//
//go:noescape
func maxPool2x2GradAVX2(dx, dy *float32, arg *int32, planes, h, w int, tail *[3][8]int32)
