package search

import (
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/values"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Regulariser returns the node R = Σ_l (ops_l/Σops)·min(|σ_l|, sigmaMax)
// over the layers' sigma nodes (float32 or float64 scalars, one dtype),
// ops_l being layer l's multiplications per forward pass. R rewards noise
// in proportion to the multiplications it would make cheaper.
func Regulariser(sigmas gorgonia.Nodes, ops []int64, sigmaMax float64) (*gorgonia.Node, error) {
	op, err := NewRegulariserOp(ops, sigmaMax)
	if err != nil {
		return nil, err
	}
	if len(sigmas) != len(ops) {
		return nil, fmt.Errorf("search: %d sigma nodes for %d layer op counts", len(sigmas), len(ops))
	}
	for i, s := range sigmas {
		if s == nil {
			return nil, fmt.Errorf("search: sigma node %d is nil", i)
		}
		if !isScalarShape(s.Shape()) {
			return nil, fmt.Errorf("search: sigma node %s has shape %v; each layer's sigma is a scalar", s.Name(), s.Shape())
		}
		if s.Dtype() != sigmas[0].Dtype() || s.Dims() != sigmas[0].Dims() {
			return nil, fmt.Errorf("search: sigma nodes %s (%v, shape %v) and %s (%v, shape %v) differ in type", sigmas[0].Name(), sigmas[0].Dtype(), sigmas[0].Shape(), s.Name(), s.Dtype(), s.Shape())
		}
	}
	op.SigmaDims = sigmas[0].Dims()
	return gorgonia.ApplyOp(op, sigmas...)
}

// SearchLoss returns crossEntropy − lambda·R, R the Regulariser of the
// sigma nodes: the loss the search phase minimises, which pushes every
// layer's sigma up until the accuracy pushes back. lambda is a constant of
// the graph; a new lambda needs a new graph.
func SearchLoss(crossEntropy *gorgonia.Node, sigmas gorgonia.Nodes, ops []int64, lambda, sigmaMax float64) (*gorgonia.Node, error) {
	if err := CheckLambda(lambda); err != nil {
		return nil, err
	}
	if crossEntropy == nil || !crossEntropy.IsScalar() {
		return nil, errors.New("search: the cross-entropy must be a scalar node")
	}
	r, err := Regulariser(sigmas, ops, sigmaMax)
	if err != nil {
		return nil, err
	}
	if r.Dtype() != crossEntropy.Dtype() {
		return nil, fmt.Errorf("search: cross-entropy is %v but the sigma nodes are %v", crossEntropy.Dtype(), r.Dtype())
	}
	var l *gorgonia.Node
	if r.Dtype() == tensor.Float64 {
		l = gorgonia.NewConstant(lambda, gorgonia.WithName(fmt.Sprintf("search.lambda(%x)", bits(lambda))))
	} else {
		l = gorgonia.NewConstant(float32(lambda), gorgonia.WithName(fmt.Sprintf("search.lambda(%x)", bits(lambda))))
	}
	penalty, err := gorgonia.Mul(l, r)
	if err != nil {
		return nil, err
	}
	return gorgonia.Sub(crossEntropy, penalty)
}

// RegulariserOp is the op Regulariser builds. Weights[l] is ops_l/Σops;
// SigmaDims is the rank of the sigma nodes (0: scalars, 1: one-element
// vectors).
//
// Its gradient with respect to σ_l is Weights[l]·sign(σ_l) where
// |σ_l| < SigmaMax and 0 where |σ_l| >= SigmaMax. Two points need a choice:
// at σ_l = 0 the gradient is 0, the subgradient of |σ| that PyTorch's abs
// uses; at |σ_l| = SigmaMax it is 0, the derivative of the capped branch,
// so that the regulariser never pushes a sigma beyond its cap (PyTorch's
// minimum would split the gradient and give half).
type RegulariserOp struct {
	Weights   []float64
	SigmaMax  float64
	SigmaDims int
}

// NewRegulariserOp checks the op counts and sigmaMax and returns the op.
func NewRegulariserOp(ops []int64, sigmaMax float64) (*RegulariserOp, error) {
	if err := CheckSigmaMax(sigmaMax); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, errors.New("search: no layers: the regulariser needs at least one layer's sigma")
	}
	var total float64
	for i, n := range ops {
		if n <= 0 {
			return nil, fmt.Errorf("search: layer %d has %d multiplications per forward pass; every searched layer needs a positive op count", i, n)
		}
		total += float64(n)
	}
	w := make([]float64, len(ops))
	for i, n := range ops {
		w[i] = float64(n) / total
	}
	return &RegulariserOp{Weights: w, SigmaMax: sigmaMax}, nil
}

// Value returns R for the given sigmas (the op's forward, in float64).
func (op *RegulariserOp) Value(sigmas []float64) float64 {
	var r float64
	for l, s := range sigmas {
		r += op.Weights[l] * math.Min(math.Abs(s), op.SigmaMax)
	}
	return r
}

// Slope returns dR/dσ_l at sigma (see the type's documentation).
func (op *RegulariserOp) Slope(l int, sigma float64) float64 {
	if !(math.Abs(sigma) < op.SigmaMax) || sigma == 0 {
		return 0
	}
	if sigma < 0 {
		return -op.Weights[l]
	}
	return op.Weights[l]
}

func (op *RegulariserOp) Arity() int { return len(op.Weights) }
func (op *RegulariserOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, len(op.Weights)+1)
	for i := range ts {
		ts[i] = sigmaType(op.SigmaDims, a)
	}
	ts[len(op.Weights)] = a
	return hm.NewFnType(ts...)
}
func (op *RegulariserOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != len(op.Weights) {
		return nil, fmt.Errorf("search regulariser: %d inputs for %d layers", len(in), len(op.Weights))
	}
	for i, d := range in {
		s, err := values.Shape(d, -1, "search regulariser sigma")
		if err != nil {
			return nil, err
		}
		if !isScalarShape(s) {
			return nil, fmt.Errorf("search regulariser: sigma %d has shape %v; expected a scalar", i, s)
		}
	}
	return tensor.ScalarShape(), nil
}
func (op *RegulariserOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != len(op.Weights) {
		return nil, fmt.Errorf("search regulariser: %d inputs for %d layers", len(in), len(op.Weights))
	}
	sig := make([]float64, len(in))
	var dt tensor.Dtype
	for i, v := range in {
		s, t, err := scalarValue(v, "search regulariser sigma")
		if err != nil {
			return nil, err
		}
		if i > 0 && t != dt {
			return nil, fmt.Errorf("search regulariser: sigma %d is %v, sigma 0 is %v", i, t, dt)
		}
		sig[i], dt = s, t
	}
	return newScalar(op.Value(sig), dt), nil
}
func (op *RegulariserOp) ReturnsPtr() bool     { return false }
func (op *RegulariserOp) CallsExtern() bool    { return false }
func (op *RegulariserOp) OverwritesInput() int { return -1 }
func (op *RegulariserOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "search.Regulariser(max=%x sigmadims=%d w=[", bits(op.SigmaMax), op.SigmaDims)
	for _, w := range op.Weights {
		fmt.Fprintf(h, "%x ", bits(w))
	}
	fmt.Fprint(h, "])")
}
func (op *RegulariserOp) Hashcode() uint32 { return values.Hash(op.WriteHash) }
func (op *RegulariserOp) String() string {
	return fmt.Sprintf("SearchRegulariser(%d layers)", len(op.Weights))
}

func (op *RegulariserOp) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

func (op *RegulariserOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != len(op.Weights) {
		return nil, fmt.Errorf("search regulariser: %d inputs for %d layers", len(inputs), len(op.Weights))
	}
	out := make(gorgonia.Nodes, len(inputs))
	for l, s := range inputs {
		g, err := gorgonia.ApplyOp(&RegulariserGradOp{Weight: op.Weights[l], SigmaMax: op.SigmaMax, SigmaDims: op.SigmaDims}, s, grad)
		if err != nil {
			return nil, err
		}
		out[l] = g
	}
	return out, nil
}

// RegulariserGradOp computes dR/dσ_l times the upstream gradient from σ_l
// and that gradient; Weight is the layer's ops_l/Σops.
type RegulariserGradOp struct {
	Weight    float64
	SigmaMax  float64
	SigmaDims int
}

func (op *RegulariserGradOp) Arity() int { return 2 }
func (op *RegulariserGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	s := sigmaType(op.SigmaDims, a)
	return hm.NewFnType(s, a, s)
}
func (op *RegulariserGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("search regulariser gradient: %d inputs, expected sigma and the upstream gradient", len(in))
	}
	s, err := values.Shape(in[0], -1, "search regulariser gradient sigma")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}
func (op *RegulariserGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("search regulariser gradient: %d inputs, expected 2", len(in))
	}
	s, dt, err := scalarValue(in[0], "search regulariser gradient sigma")
	if err != nil {
		return nil, err
	}
	g, _, err := scalarValue(in[1], "search regulariser upstream gradient")
	if err != nil {
		return nil, err
	}
	r := RegulariserOp{Weights: []float64{op.Weight}, SigmaMax: op.SigmaMax}
	d := r.Slope(0, s) * g
	if t, ok := in[0].(*tensor.Dense); ok {
		// The gradient of a one-element tensor sigma has its shape.
		out := tensor.New(tensor.Of(dt), tensor.WithShape(t.Shape().Clone()...))
		if dt == tensor.Float64 {
			out.Float64s()[0] = d
		} else {
			out.Float32s()[0] = float32(d)
		}
		return out, nil
	}
	return newScalar(d, dt), nil
}
func (op *RegulariserGradOp) ReturnsPtr() bool     { return false }
func (op *RegulariserGradOp) CallsExtern() bool    { return false }
func (op *RegulariserGradOp) OverwritesInput() int { return -1 }
func (op *RegulariserGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "search.RegulariserGrad(max=%x sigmadims=%d w=%x)", bits(op.SigmaMax), op.SigmaDims, bits(op.Weight))
}
func (op *RegulariserGradOp) Hashcode() uint32 { return values.Hash(op.WriteHash) }
func (op *RegulariserGradOp) String() string   { return "SearchRegulariserGrad" }
