package engine

import (
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
)

// minPerPart is the fewest elements a worker adds: below it, handing out
// a part costs more than the adds.
const minPerPart = 1 << 15

// Engine is tensor.StdEng with Add of two dense float32 or float64 tensors
// of one shape and layout done in parallel vector loops. Any other Add
// (scalars, broadcasting views, masks, other types, WithIncr) and every
// other operation go to the embedded standard engine.
type Engine struct {
	tensor.StdEng
	// Threads caps the goroutines one Add uses; <= 0 means one per core.
	Threads int
}

// New returns an Engine that uses every core.
func New() Engine { return Engine{} }

// Add returns a + b (a tensor.Adder method). With tensor.UseUnsafe the sum
// overwrites a; with tensor.WithReuse it goes to the reused tensor, which
// must have a's type and shape; otherwise to a new tensor on this engine.
func (e Engine) Add(a, b tensor.Tensor, opts ...tensor.FuncOpt) (tensor.Tensor, error) {
	ad, bd, ok := plainPair(a, b)
	if !ok {
		return e.StdEng.Add(a, b, opts...)
	}
	fo := tensor.ParseFuncOpts(opts...)
	if fo.Incr() != nil || fo.Same() || fo.As() != (tensor.Dtype{}) {
		return e.StdEng.Add(a, b, opts...)
	}
	var out *tensor.Dense
	switch reuse := fo.Reuse(); {
	case reuse != nil:
		rd, ok := reuse.(*tensor.Dense)
		if !ok || !plain(rd) || rd.Dtype() != ad.Dtype() || !rd.Shape().Eq(ad.Shape()) || rd.DataOrder() != ad.DataOrder() {
			return e.StdEng.Add(a, b, opts...)
		}
		out = rd
	case !fo.Safe():
		out = ad
	default:
		out = tensor.New(tensor.Of(ad.Dtype()), tensor.WithShape(ad.Shape().Clone()...), tensor.WithEngine(e))
	}
	switch ad.Dtype() {
	case tensor.Float32:
		add(e.Threads, out.Float32s(), ad.Float32s(), bd.Float32s(), add32)
	default:
		add(e.Threads, out.Float64s(), ad.Float64s(), bd.Float64s(), add64)
	}
	return out, nil
}

// plainPair returns a and b as dense tensors if Add may take them on its
// own loops: see plain, with one type (float32 or float64), shape and
// layout.
func plainPair(a, b tensor.Tensor) (ad, bd *tensor.Dense, ok bool) {
	ad, ok1 := a.(*tensor.Dense)
	bd, ok2 := b.(*tensor.Dense)
	if !ok1 || !ok2 || !plain(ad) || !plain(bd) {
		return nil, nil, false
	}
	if dt := ad.Dtype(); dt != bd.Dtype() || dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, nil, false
	}
	if ad.Shape().IsScalar() || !ad.Shape().Eq(bd.Shape()) || ad.DataOrder() != bd.DataOrder() {
		return nil, nil, false
	}
	return ad, bd, true
}

// plain reports whether t's elements are its backing slice in order:
// not a strided view, not masked, in memory Go can read.
func plain(t *tensor.Dense) bool {
	return !t.RequiresIterator() && !t.IsMasked() && t.IsNativelyAccessible()
}

// add sets y = a + b elementwise with sum on parts of at least minPerPart
// elements.
func add[T float32 | float64](threads int, y, a, b []T, sum func(y, a, b []T)) {
	parallel.Run(len(a), threads, minPerPart, parallel.Func(func(_, lo, hi int) {
		sum(y[lo:hi], a[lo:hi], b[lo:hi])
	}))
}

// add32 is f32.AddAct without an activation: the AVX2 kernel where the
// CPU has it, adding as Go's float32 + does.
func add32(y, a, b []float32) { f32.AddAct(y, a, b, 0) }

func add64(y, a, b []float64) {
	y, b = y[:len(a)], b[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}
