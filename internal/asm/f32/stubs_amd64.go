//go:build amd64 && !purego

package f32

// The assembly routines. Each has a declaration here, a stub in
// stubs_noasm.go, a pure-Go twin, an exported function that picks one of
// the two by the internal/asm feature it needs, and a case in f32_test.go
// comparing them; a new routine (an optimizer's update step, say) follows
// the same pattern.
//
// Element-wise kernels take n, a multiple of 8, the lane sums a multiple
// of Lanes, elements from each pointer, except the unit-stride ones
// (axpyUnit, dotUnit, addRowsUnit, nonFiniteUnit), which take any n and
// finish with scalar steps.

// axpyUnit and dotUnit use FMA (axpy_amd64.s).
//
//go:noescape
func axpyUnit(a float32, x, y *float32, n int)

//go:noescape
func dotUnit(x, y *float32, n int) float32

//go:noescape
func addRowsUnit(dst, src *float32, rows, cols, dstStride, srcStride int)

//go:noescape
func nonFiniteUnit(x *float32, n int) bool

// finiteRangeAVX2 is FiniteRange's vector part (finite_amd64.s), n a
// positive multiple of 8.
//
//go:noescape
func finiteRangeAVX2(x *float32, n int, r *rangeAcc)

//go:noescape
func quantize8(src *float32, n int, inv, scale, lo, hi float32, zp int32, bytes *byte, fq *float32, mask *bool) (finite bool)

//go:noescape
func rescale8(acc *int32, y *float32, n int, corr, scale float64)

// adamAVX is Adam's vector form (adam_amd64.s) on n elements, a multiple
// of 4, leaving Σ(w-w) per lane in a.check.
//
//go:noescape
func adamAVX(w, grad, m, v *float32, n int, a *adamArgs)

// The activation and batch norm kernels (act_amd64.s): AVX and AVX2
// instructions only, no FMA, so that they give their twins' bits.

//go:noescape
func reluAVX2(y, x *float32, n int)

//go:noescape
func reluGradAVX2(dx, x, dy *float32, n int)

//go:noescape
func relu6AVX2(y, x *float32, n int)

//go:noescape
func relu6GradAVX2(dx, x, dy *float32, n int)

//go:noescape
func addActAVX2(y, a, b *float32, n int, hi float32)

//go:noescape
func scaleShiftAVX2(y, x *float32, n int, k, b float32)

//go:noescape
func bnGradXAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX float32)

//go:noescape
func sumLanesAVX2(v *float32, n int, p *[Lanes]float64)

//go:noescape
func sqDevLanesAVX2(v *float32, n int, mean float64, p *[Lanes]float64)

//go:noescape
func dyXhatLanesAVX2(x, dy *float32, n int, mean, inv float32, pa, pb *[Lanes]float64)
