package ops

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/quantize"
)

// floats returns the float32 elements of a tensor value in C order, with
// its shape. Views and non-contiguous tensors are materialised (copied).
func floats(v gorgonia.Value, what string) ([]float32, tensor.Shape, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, nil, fmt.Errorf("ops: %s is a %T, want a float32 tensor", what, v)
	}
	if t.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("ops: %s has dtype %v; the approximate ops take float32 only", what, t.Dtype())
	}
	if d, ok := t.(*tensor.Dense); ok && (d.IsMaterializable() || d.RequiresIterator()) {
		t = d.Materialize()
	}
	if !t.DataOrder().IsRowMajor() || !t.DataOrder().IsContiguous() {
		return nil, nil, fmt.Errorf("ops: %s is not a contiguous row-major tensor (%v)", what, t.DataOrder())
	}
	data, ok := t.Data().([]float32)
	if !ok {
		return nil, nil, fmt.Errorf("ops: %s holds %T, want []float32", what, t.Data())
	}
	return data[:t.Shape().TotalSize()], t.Shape().Clone(), nil
}

// output returns a float32 tensor of the given shape to write a result
// into: prealloc when it is a contiguous, non-view float32 tensor of exactly
// that shape, else a new tensor. (A TapeMachine may hand an op a buffer of
// another node's shape.)
func output(prealloc gorgonia.Value, shape tensor.Shape) (*tensor.Dense, []float32) {
	if d, ok := prealloc.(*tensor.Dense); ok && d.Dtype() == tensor.Float32 && d.Shape().Eq(shape) &&
		!d.IsView() && !d.RequiresIterator() && d.DataOrder().IsRowMajor() {
		if data, ok := d.Data().([]float32); ok && len(data) == shape.TotalSize() {
			return d, data
		}
	}
	d := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	return d, d.Data().([]float32)
}

// checkFloat32 rejects nodes of other dtypes at graph-build time.
func checkFloat32(op string, nodes ...*gorgonia.Node) error {
	for _, n := range nodes {
		if n == nil {
			return fmt.Errorf("ops: %s: nil node", op)
		}
		if n.Dtype() != tensor.Float32 {
			return fmt.Errorf("ops: %s: node %s has dtype %v; the approximate ops take float32 only (build the graph with tensor.Float32)", op, n.Name(), n.Dtype())
		}
	}
	return nil
}

// shapeOf converts an InferShape argument to a shape of the given rank.
func shapeOf(ds gorgonia.DimSizer, rank int, what string) (tensor.Shape, error) {
	s, ok := ds.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("ops: %s shape is a %T, want tensor.Shape", what, ds)
	}
	if s.Dims() != rank {
		return nil, fmt.Errorf("ops: %s has shape %v (rank %d), want rank %d", what, s, s.Dims(), rank)
	}
	return s, nil
}

// hashOf returns the 32-bit FNV-1a hash of what write writes.
func hashOf(write func(hash.Hash)) uint32 {
	h := fnv.New32a()
	write(h)
	return h.Sum32()
}

// writeParams hashes every field of quantization parameters exactly (scale
// bits, not a printed approximation).
func writeParams(h hash.Hash, p quantize.Params) {
	fmt.Fprintf(h, "[q %d %d axis=%d n=%d", p.QMin, p.QMax, p.Axis, len(p.Scale))
	var b [4]byte
	for _, s := range p.Scale {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(s))
		h.Write(b[:])
	}
	for _, z := range p.ZeroPoint {
		binary.LittleEndian.PutUint32(b[:], uint32(z))
		h.Write(b[:])
	}
	h.Write([]byte("]"))
}

// writeState hashes the layer identity and everything in the state that
// changes the result of its ops.
func writeState(h hash.Hash, s *LayerState) {
	if s == nil {
		h.Write([]byte("state=nil"))
		return
	}
	fmt.Fprintf(h, "state{id=%q mode=%d train=%t sigma=%x mu=%x ", s.ID, s.Mode, s.Training,
		math.Float64bits(s.NoiseSigma), math.Float64bits(s.NoiseMu))
	if s.Table != nil {
		fmt.Fprintf(h, "lut=%s ", s.Table.Fingerprint())
	}
	writeParams(h, s.XParams)
	writeParams(h, s.WParams)
	h.Write([]byte("}"))
}

// tensorType is the type of a float tensor of the given rank, as gorgonia's
// own ops write it.
func tensorType(dims int) gorgonia.TensorType {
	return gorgonia.TensorType{Dims: dims, Of: hmVar}
}

var hmVar = hm.TypeVariable('a')

// fnType is the type of an op taking n tensors of the given rank and
// returning one.
func fnType(n, dims int) hm.Type {
	ts := make([]hm.Type, n+1)
	for i := range ts {
		ts[i] = tensorType(dims)
	}
	return hm.NewFnType(ts...)
}
