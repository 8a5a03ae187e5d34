package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	asmf32 "github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/internal/values"
)

// AddAct returns act(a + b) elementwise for a and b of one shape: a
// residual connection and the activation after it as one op. gorgonia.Add
// followed by ReLU reads and writes the activations twice, the addition
// on one thread; this is one parallel pass forward, and backward one pass
// that masks the output gradient once for both inputs (the activation's
// gradient read off the op's own output, which is positive, or inside
// (0, 6), exactly where the sum is). Values and gradients are bit for bit
// those of gorgonia.Add followed by ReLU (ActReLU) or ReLU6 (ActReLU6);
// NoActivation gives the sum alone.
func AddAct(a, b *gorgonia.Node, act Activation) (*gorgonia.Node, error) {
	if !act.valid() {
		return nil, fmt.Errorf("add: unknown activation %v; use NoActivation, ActReLU or ActReLU6", act)
	}
	if !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("add: %s has shape %v and %s %v; a residual connection adds tensors of one shape", a.Name(), a.Shape(), b.Name(), b.Shape())
	}
	return gorgonia.ApplyOp(&AddActOp{Act: act, dims: a.Shape().Dims()}, a, b)
}

// AddActOp is the op AddAct builds. Its fields are the activation and the
// rank of its inputs (which fixes its type); both are in its hash.
type AddActOp struct {
	Act  Activation
	dims int
	out  *tensor.Dense // output buffer reused between runs
	loop addLoop
}

// addActNames name the op's inputs in errors.
const (
	addActA = "add input a"
	addActB = "add input b"
)

func (op *AddActOp) Arity() int { return 2 }
func (op *AddActOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}
func (op *AddActOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("add: %d inputs, expected 2", len(in))
	}
	a, err := shapeOf(in[0], addActA)
	if err != nil {
		return nil, err
	}
	b, err := shapeOf(in[1], addActB)
	if err != nil {
		return nil, err
	}
	if a.Dims() != op.dims || !a.Eq(b) {
		return nil, fmt.Errorf("add: input shapes %v and %v; the op was built for two tensors of %d dimensions and one shape", a, b, op.dims)
	}
	return a.Clone(), nil
}
func (op *AddActOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *AddActOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("add: %d inputs, expected 2", len(in))
	}
	if isFloat64(in[0]) {
		return op.do64(prealloc, in)
	}
	a, as, err := float32s(in[0], addActA)
	if err != nil {
		return nil, err
	}
	b, bs, err := float32s(in[1], addActB)
	if err != nil {
		return nil, err
	}
	if !as.Eq(bs) || len(a) != len(b) {
		return nil, fmt.Errorf("add: inputs of shapes %v and %v; expected one shape", as, bs)
	}
	out, y := output(prealloc, &op.out, as, a, b)
	op.loop.run(y, a, b, op.hi())
	return out, nil
}

// hi is the activation's upper clamp as asmf32.AddAct takes it.
func (op *AddActOp) hi() float32 {
	switch op.Act {
	case ActReLU:
		return float32(math.Inf(1))
	case ActReLU6:
		return 6
	}
	return 0
}

func (op *AddActOp) do64(prealloc gorgonia.Value, in []gorgonia.Value) (gorgonia.Value, error) {
	a, as, err := values.Read[float64](in[0], addActA)
	if err != nil {
		return nil, err
	}
	b, bs, err := values.Read[float64](in[1], addActB)
	if err != nil {
		return nil, err
	}
	if !as.Eq(bs) || len(a) != len(b) {
		return nil, fmt.Errorf("add: inputs of shapes %v and %v; expected one shape", as, bs)
	}
	out, y := values.Output(prealloc, &op.out, as, a, b)
	act := op.Act
	parallel.Run(len(y), 0, minPerPart, parallel.Func(func(_, lo, end int) {
		for i, v := range a[lo:end] {
			t := v + b[lo+i]
			if act != NoActivation && t <= 0 {
				t = 0
			}
			if act == ActReLU6 && t > 6 {
				t = 6
			}
			y[lo+i] = t
		}
	}))
	return out, nil
}
func (op *AddActOp) ReturnsPtr() bool     { return false }
func (op *AddActOp) CallsExtern() bool    { return false }
func (op *AddActOp) OverwritesInput() int { return -1 }
func (op *AddActOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.AddAct(act=%d, dims=%d)", op.Act, op.dims)
}
func (op *AddActOp) Hashcode() uint32 { return hashOf(op) }
func (op *AddActOp) String() string {
	if op.Act == NoActivation {
		return "Add"
	}
	return "Add" + op.Act.String()
}
func (op *AddActOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

// SymDiff gives both inputs one gradient: the output gradient itself, or
// it masked by ReLU's or ReLU6's gradient op read off the output.
func (op *AddActOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("add: %d inputs, expected 2", len(inputs))
	}
	if op.Act == NoActivation {
		return gorgonia.Nodes{grad, grad}, nil
	}
	g, err := gorgonia.ApplyOp(&ClampGradOp{Six: op.Act == ActReLU6, dims: op.dims}, output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g, g}, nil
}

// addLoop runs asmf32.AddAct over matching ranges on the shared workers.
type addLoop struct {
	y, a, b []float32
	hi      float32
}

func (l *addLoop) Run(_, lo, hi int) { asmf32.AddAct(l.y[lo:hi], l.a[lo:hi], l.b[lo:hi], l.hi) }

func (l *addLoop) run(y, a, b []float32, hi float32) {
	l.y, l.a, l.b, l.hi = y, a[:len(y)], b[:len(y)], hi
	parallel.Run(len(y), 0, minPerPart, l)
	l.y, l.a, l.b = nil, nil, nil
}
