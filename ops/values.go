package ops

import (
	"encoding/binary"
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/values"
	"github.com/goapprox/goapprox/quantize"
)

// floats returns the float32 elements of a tensor value in C order, with
// its shape. Views and non-contiguous tensors are materialised (copied).
func floats(v gorgonia.Value, what string) ([]float32, tensor.Shape, error) {
	data, shape, err := values.Read[float32](v, what)
	if err != nil {
		return nil, nil, fmt.Errorf("ops: %w", err)
	}
	return data, shape.Clone(), nil
}

// output returns a float32 tensor of the given shape to write a result
// into (values.Output: prealloc, else the op's buffer *cache, else new).
func output(prealloc gorgonia.Value, cache **tensor.Dense, shape tensor.Shape, inputs ...[]float32) (*tensor.Dense, []float32) {
	return values.Output(prealloc, cache, shape, inputs...)
}

// gradNeeded reports whether anything uses the gradient computed by node n
// (nil: unknown, so yes): another node takes it as an input, or it is the
// derivative of a node, which x.Grad() and BindDualValues read. Gorgonia's
// symbolic differentiation adds a gradient node for every input of an op
// and its TapeMachine runs every node, so without this check a first layer
// would compute, for nobody, the gradient with respect to the data batch.
// Such a gradient op writes zeros instead.
func gradNeeded(n *gorgonia.Node) bool {
	if n == nil || len(n.DerivOf()) > 0 {
		return true
	}
	g := n.Graph()
	if g == nil {
		return true
	}
	users := g.To(n.ID())
	return users == nil || users.Len() > 0
}

// checkFloats rejects, at graph-build time, nodes other than float32 or
// float64 and nodes of two dtypes.
func checkFloats(op string, nodes ...*gorgonia.Node) error {
	for _, n := range nodes {
		if n == nil {
			return fmt.Errorf("ops: %s: nil node", op)
		}
		if n.Dtype() != tensor.Float32 && n.Dtype() != tensor.Float64 {
			return fmt.Errorf("ops: %s: node %s has dtype %v; the approximate ops take float32 or float64 (build the graph with tensor.Float32 or tensor.Float64)", op, n.Name(), n.Dtype())
		}
		if n.Dtype() != nodes[0].Dtype() {
			return fmt.Errorf("ops: %s: node %s is %v but node %s is %v; give both one dtype", op, n.Name(), n.Dtype(), nodes[0].Name(), nodes[0].Dtype())
		}
	}
	return nil
}

// shapeOf converts an InferShape argument to a shape of the given rank.
func shapeOf(ds gorgonia.DimSizer, rank int, what string) (tensor.Shape, error) {
	s, err := values.Shape(ds, rank, what)
	if err != nil {
		return nil, fmt.Errorf("ops: %w", err)
	}
	return s, nil
}

// hashOf returns the 32-bit FNV-1a hash of what write writes.
func hashOf(write func(hash.Hash)) uint32 { return values.Hash(write) }

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
	if s.FloatLikeGorgonia {
		h.Write([]byte("gorgonia-float "))
	}
	if s.Table != nil {
		fmt.Fprintf(h, "lut=%s signed=%t,%t ", s.Table.Fingerprint(), s.Table.SignedX(), s.Table.SignedW())
	}
	s.Surrogate.writeHash(h)
	if s.Gradient != (Gradient{}) {
		// Straight-through layers hash as they did before the option.
		fmt.Fprintf(h, "grad{kind=%d window=%d} ", s.Gradient.Kind, s.Gradient.Window)
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
