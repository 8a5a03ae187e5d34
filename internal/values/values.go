// Package values reads the tensors GoApprox's Gorgonia ops are given and
// finds the tensors they write their results into, for float32 and float64
// alike: reading materialises views, checks dtype and layout; an output
// reuses the machine's preallocated value or the op's own buffer when it
// fits and shares no memory with the inputs. Package ops and package nn
// both use it, so that the two apply the same checks.
package values

import (
	"fmt"
	"hash"
	"hash/fnv"
	"unsafe"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Float is the element type of the tensors the ops compute on.
type Float interface{ float32 | float64 }

// Dtype returns the tensor dtype of T.
func Dtype[T Float]() tensor.Dtype {
	var z T
	if _, ok := any(z).(float64); ok {
		return tensor.Float64
	}
	return tensor.Float32
}

// Read returns the elements of a tensor value of element type T in C
// order, with its shape (the tensor's own: clone it to keep it). Views and
// non-contiguous tensors are materialised (copied). The error says what was
// given and names the value as what. Reading a contiguous *tensor.Dense
// allocates nothing.
func Read[T Float](v gorgonia.Value, what string) ([]T, tensor.Shape, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a %T, want a %v tensor", what, v, Dtype[T]())
	}
	if t.Dtype() != Dtype[T]() {
		return nil, nil, fmt.Errorf("%s has dtype %v, want %v", what, t.Dtype(), Dtype[T]())
	}
	if d, ok := t.(*tensor.Dense); ok && (d.IsMaterializable() || d.RequiresIterator()) {
		t = d.Materialize()
	}
	if !t.DataOrder().IsRowMajor() || !t.DataOrder().IsContiguous() {
		return nil, nil, fmt.Errorf("%s is not a contiguous row-major tensor (%v)", what, t.DataOrder())
	}
	var data []T
	if d, ok := t.(*tensor.Dense); ok {
		data = dense[T](d)
	} else if data, ok = t.Data().([]T); !ok {
		return nil, nil, fmt.Errorf("%s holds %T, want []%v", what, t.Data(), Dtype[T]())
	}
	return data[:t.Shape().TotalSize()], t.Shape(), nil
}

// dense returns the elements of a Dense of element type T through its
// typed accessor: Data() would box the slice in an interface (an
// allocation per call).
func dense[T Float](d *tensor.Dense) []T {
	var z T
	if _, ok := any(z).(float64); ok {
		f := d.Float64s()
		return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(f))), len(f))
	}
	f := d.Float32s()
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(f))), len(f))
}

// DtypeOf returns the dtype of a tensor value, or an error naming what.
func DtypeOf(v gorgonia.Value, what string) (tensor.Dtype, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return tensor.Dtype{}, fmt.Errorf("%s is a %T, want a float32 or float64 tensor", what, v)
	}
	return t.Dtype(), nil
}

// Output returns a tensor of the given shape and element type T to write a
// result into: prealloc when it fits, else the op's own buffer from its
// previous run (*cache, may be nil), else a new tensor that becomes the
// op's buffer. A buffer fits when it is a contiguous, non-view tensor of
// that dtype and exactly that shape sharing no memory with the inputs: a
// TapeMachine may hand an op a buffer of another node's shape, and drops
// its registers on Reset, so without the op's own buffer every run would
// allocate. Like any Gorgonia value, a result is valid until the node runs
// again.
func Output[T Float](prealloc gorgonia.Value, cache **tensor.Dense, shape tensor.Shape, inputs ...[]T) (*tensor.Dense, []T) {
	if d, data := Fits(prealloc, shape, inputs); d != nil {
		return d, data
	}
	if cache != nil && *cache != nil {
		if d, data := Fits(*cache, shape, inputs); d != nil {
			return d, data
		}
	}
	d := tensor.New(tensor.WithShape(shape.Clone()...), tensor.Of(Dtype[T]()))
	if cache != nil {
		*cache = d
	}
	return d, dense[T](d)
}

// Fits returns v and its data when v can hold a result of the given shape
// and element type T without touching the inputs; nil otherwise.
func Fits[T Float](v gorgonia.Value, shape tensor.Shape, inputs [][]T) (*tensor.Dense, []T) {
	d, ok := v.(*tensor.Dense)
	if !ok || d == nil || d.Dtype() != Dtype[T]() || !d.Shape().Eq(shape) ||
		d.IsView() || d.RequiresIterator() || !d.DataOrder().IsRowMajor() || !d.DataOrder().IsContiguous() {
		return nil, nil
	}
	data := dense[T](d)
	if len(data) != shape.TotalSize() || len(data) == 0 {
		return nil, nil
	}
	for _, in := range inputs {
		if Overlaps(data, in) {
			return nil, nil
		}
	}
	return d, data
}

// Overlaps reports whether two slices share memory.
func Overlaps[T Float](a, b []T) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	size := unsafe.Sizeof(a[0])
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+uintptr(len(b))*size && b0 < a0+uintptr(len(a))*size
}

// Shape converts an InferShape argument to a shape; rank < 0 accepts any
// rank.
func Shape(ds gorgonia.DimSizer, rank int, what string) (tensor.Shape, error) {
	s, ok := ds.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s shape is a %T, want tensor.Shape", what, ds)
	}
	if rank >= 0 && s.Dims() != rank {
		return nil, fmt.Errorf("%s has shape %v (rank %d), want rank %d", what, s, s.Dims(), rank)
	}
	return s, nil
}

// Hash returns the 32-bit FNV-1a hash of what write writes: an op's
// Hashcode from its WriteHash.
func Hash(write func(hash.Hash)) uint32 {
	h := fnv.New32a()
	write(h)
	return h.Sum32()
}
