package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// builder makes the node under test from input nodes.
type builder func(in []*G.Node) (*G.Node, error)

// cost runs build on fresh copies of the inputs, reduces a tensor output to
// Σ out⊙weights (weights fixed per output shape), and returns the cost and,
// when grads is set, d cost / d input for the inputs marked in wrt.
func cost(t *testing.T, build builder, inputs []*tensor.Dense, wrt []bool, grads bool) (float64, []*tensor.Dense) {
	t.Helper()
	g := G.NewGraph()
	nodes := make([]*G.Node, len(inputs))
	for i, v := range inputs {
		c := v.Clone().(*tensor.Dense)
		nodes[i] = G.NodeFromAny(g, c, G.WithName(string(rune('a'+i))))
	}
	out, err := build(nodes)
	if err != nil {
		t.Fatal(err)
	}
	c := out
	if !out.IsScalar() {
		w := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(out.Shape().Clone()...))
		r := rand.New(rand.NewPCG(42, uint64(out.Shape().TotalSize())))
		for i := range w.Float32s() {
			w.Float32s()[i] = float32(r.Float64()*2 - 1)
		}
		wn := G.NodeFromAny(g, w, G.WithName("weights"))
		prod, err := G.HadamardProd(out, wn)
		if err != nil {
			t.Fatal(err)
		}
		if c, err = G.Sum(prod); err != nil {
			t.Fatal(err)
		}
	}
	var wrtNodes G.Nodes
	if grads {
		for i, b := range wrt {
			if b {
				wrtNodes = append(wrtNodes, nodes[i])
			}
		}
		if _, err := G.Grad(c, wrtNodes...); err != nil {
			t.Fatal(err)
		}
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	var val float64
	switch v := c.Value().(type) {
	case *G.F32:
		val = float64(*v)
	case *tensor.Dense:
		val = float64(v.Float32s()[0])
	default:
		t.Fatalf("cost value %T", v)
	}
	var out2 []*tensor.Dense
	for _, n := range wrtNodes {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		out2 = append(out2, gv.(*tensor.Dense).Clone().(*tensor.Dense))
	}
	return val, out2
}

// checkGrad compares the graph's gradients with central finite differences
// (step h) within abs + rel*|numeric|.
func checkGrad(t *testing.T, build builder, inputs []*tensor.Dense, wrt []bool, h, abs, rel float64) {
	t.Helper()
	_, grads := cost(t, build, inputs, wrt, true)
	k := 0
	for i, in := range inputs {
		if !wrt[i] {
			continue
		}
		analytic := grads[k].Float32s()
		k++
		data := in.Float32s()
		for j := range data {
			orig := data[j]
			data[j] = orig + float32(h)
			up, _ := cost(t, build, inputs, wrt, false)
			data[j] = orig - float32(h)
			down, _ := cost(t, build, inputs, wrt, false)
			data[j] = orig
			num := (up - down) / (2 * h)
			if d := math.Abs(num - float64(analytic[j])); d > abs+rel*math.Abs(num) {
				t.Errorf("input %d element %d: analytic %.6g, numeric %.6g", i, j, analytic[j], num)
			}
		}
	}
}

func randTensor(seed uint64, scale float64, shape ...int) *tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 7))
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(r.NormFloat64() * scale)
	}
	return t
}

func f32(shape tensor.Shape, v ...float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
