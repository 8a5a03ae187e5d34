package nn

import (
	"fmt"
	"hash"
	"math"
	"math/rand"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/values"
)

// Dropout zeroes each element of x with probability prob in training and
// scales the others by 1/(1-prob); in evaluation it passes x on. The draws
// come from a generator seeded with seed, one per element in order, a new
// mask on every run: the same seed gives the same masks run after run.
// Gorgonia's Dropout seeds from the clock, hashes no probability (two
// dropouts of one input with different probabilities merge) and divides
// the gradient by prob instead of 1-prob. float32 and float64.
func Dropout(x *gorgonia.Node, prob float64, seed int64) (*gorgonia.Node, *DropoutOp, error) {
	if !(prob >= 0 && prob < 1) {
		return nil, nil, fmt.Errorf("dropout: probability %v must lie in [0, 1)", prob)
	}
	if x.Dtype() != tensor.Float32 && x.Dtype() != tensor.Float64 {
		return nil, nil, fmt.Errorf("dropout: %s is %v; dropout takes float32 or float64", x.Name(), x.Dtype())
	}
	op := &DropoutOp{Prob: prob, Seed: seed, Training: true, dims: x.Dims(), rng: rand.New(rand.NewSource(seed))}
	n, err := gorgonia.ApplyOp(op, x)
	if err != nil {
		return nil, nil, err
	}
	return n, op, nil
}

// DropoutOp is the op built by Dropout. Training is read on every run, so
// one compiled machine serves training and evaluation.
type DropoutOp struct {
	Prob     float64
	Seed     int64
	Training bool
	dims     int
	rng      *rand.Rand
	keep     []bool // the mask of the last run, for the gradient
	kept     bool   // the last run dropped (training with Prob > 0)
	out      *tensor.Dense
}

// SetTraining switches between training (dropping) and evaluation.
func (op *DropoutOp) SetTraining(on bool) { op.Training = on }

func (op *DropoutOp) Arity() int { return 1 }
func (op *DropoutOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op *DropoutOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("dropout: %d inputs, expected 1", len(in))
	}
	s, err := values.Shape(in[0], op.dims, "dropout input")
	if err != nil {
		return nil, fmt.Errorf("dropout: %w", err)
	}
	return s.Clone(), nil
}
func (op *DropoutOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *DropoutOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("dropout: %d inputs, expected 1", len(in))
	}
	if isFloat64(in[0]) {
		return dropoutDo[float64](op, prealloc, in[0])
	}
	return dropoutDo[float32](op, prealloc, in[0])
}

func isFloat64(v gorgonia.Value) bool {
	t, ok := v.(tensor.Tensor)
	return ok && t.Dtype() == tensor.Float64
}

func dropoutDo[T values.Float](op *DropoutOp, prealloc gorgonia.Value, in gorgonia.Value) (gorgonia.Value, error) {
	x, xs, err := values.Read[T](in, "dropout input")
	if err != nil {
		return nil, fmt.Errorf("dropout: %w", err)
	}
	out, y := values.Output(prealloc, &op.out, xs, x)
	op.kept = op.Training && op.Prob > 0
	if !op.kept {
		copy(y, x)
		return out, nil
	}
	if op.rng == nil {
		op.rng = rand.New(rand.NewSource(op.Seed))
	}
	keep := 1 - op.Prob
	scale := 1 / keep
	if cap(op.keep) < len(x) {
		op.keep = make([]bool, len(x))
	}
	op.keep = op.keep[:len(x)]
	for i, v := range x {
		k := op.rng.Float64() < keep
		op.keep[i] = k
		if k {
			y[i] = T(float64(v) * scale)
		} else {
			y[i] = 0
		}
	}
	return out, nil
}
func (op *DropoutOp) ReturnsPtr() bool     { return false }
func (op *DropoutOp) CallsExtern() bool    { return false }
func (op *DropoutOp) OverwritesInput() int { return -1 }
func (op *DropoutOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.Dropout(p=%x seed=%d training=%t dims=%d)", math.Float64bits(op.Prob), op.Seed, op.Training, op.dims)
}
func (op *DropoutOp) Hashcode() uint32          { return values.Hash(op.WriteHash) }
func (op *DropoutOp) String() string            { return fmt.Sprintf("Dropout(%g)", op.Prob) }
func (op *DropoutOp) DiffWRT(inputs int) []bool { return []bool{true} }
func (op *DropoutOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("dropout: %d inputs, expected 1", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&DropoutGradOp{fwd: op}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// DropoutGradOp passes the output gradient dy through the mask of its
// DropoutOp's last run, scaled by 1/(1-prob).
type DropoutGradOp struct {
	fwd *DropoutOp
	out *tensor.Dense
}

func (op *DropoutGradOp) Arity() int    { return 1 }
func (op *DropoutGradOp) Type() hm.Type { return op.fwd.Type() }
func (op *DropoutGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fwd.InferShape(in...)
}
func (op *DropoutGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *DropoutGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("dropout gradient: %d inputs, expected 1", len(in))
	}
	if isFloat64(in[0]) {
		return dropoutGradDo[float64](op, prealloc, in[0])
	}
	return dropoutGradDo[float32](op, prealloc, in[0])
}

func dropoutGradDo[T values.Float](op *DropoutGradOp, prealloc gorgonia.Value, in gorgonia.Value) (gorgonia.Value, error) {
	dy, s, err := values.Read[T](in, "dropout gradient dy")
	if err != nil {
		return nil, fmt.Errorf("dropout: %w", err)
	}
	out, dx := values.Output(prealloc, &op.out, s, dy)
	f := op.fwd
	if !f.kept {
		copy(dx, dy)
		return out, nil
	}
	if len(f.keep) != len(dy) {
		return nil, fmt.Errorf("dropout gradient: dy has %d elements, the forward run %d: run the forward pass first", len(dy), len(f.keep))
	}
	scale := 1 / (1 - f.Prob)
	for i, v := range dy {
		if f.keep[i] {
			dx[i] = T(float64(v) * scale)
		} else {
			dx[i] = 0
		}
	}
	return out, nil
}
func (op *DropoutGradOp) ReturnsPtr() bool     { return false }
func (op *DropoutGradOp) CallsExtern() bool    { return false }
func (op *DropoutGradOp) OverwritesInput() int { return -1 }
func (op *DropoutGradOp) WriteHash(h hash.Hash) {
	h.Write([]byte("grad of "))
	op.fwd.WriteHash(h)
}
func (op *DropoutGradOp) Hashcode() uint32 { return values.Hash(op.WriteHash) }
func (op *DropoutGradOp) String() string   { return "DropoutGrad" }
