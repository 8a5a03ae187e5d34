package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/golden"
	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// The golden operator vectors of ../shared/reference/operators, pushed
// through the whole user path: a plain Gorgonia graph (Mul or Conv2d, or
// ops.GroupedConv2d for groups > 1) is rewritten, the layer gets the case's
// frozen quantization parameters and table, and the rewritten graph's
// output and straight-through gradients must match.

// convArgs returns the convolution arguments of a conv2d case.
func convArgs(m golden.Meta) ops.ConvArgs {
	return ops.ConvArgs{Stride: [2]int{m.Stride[0], m.Stride[1]}, Pad: [2]int{m.Padding[0], m.Padding[1]},
		Dilation: [2]int{m.Dilation[0], m.Dilation[1]}, Groups: m.Groups}
}

// fromArray adds a leaf of dtype dt holding a case's (float32) array.
func fromArray(g *G.ExprGraph, dt tensor.Dtype, name string, a golden.Array) *G.Node {
	var v *tensor.Dense
	if dt == tensor.Float64 {
		v = tensor.New(tensor.WithShape(a.Shape...), tensor.WithBacking(widen(a.Float32)))
	} else {
		v = tensor.New(tensor.WithShape(a.Shape...), tensor.WithBacking(append([]float32(nil), a.Float32...)))
	}
	return G.NewTensor(g, dt, len(a.Shape), G.WithShape(a.Shape...), G.WithName(name), G.WithValue(v))
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// transpose2 returns the transpose of a float32 matrix.
func transpose2(a golden.Array) golden.Array {
	r, c := a.Shape[0], a.Shape[1]
	out := golden.Array{Shape: []int{c, r}, Float32: make([]float32, len(a.Float32))}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Float32[j*r+i] = a.Float32[i*c+j]
		}
	}
	return out
}

// relToMax fails unless every |got-want| <= tol·max|want|.
func relToMax(t *testing.T, what string, got []float64, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(got[i] - float64(want[i])); !(d <= tol*scale) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestGoldenVectorsThroughRewrite(t *testing.T) {
	golden.RunCases(t, shared.RequireOperators(t), func(t *testing.T, c *golden.Case, table []int32) {
		for _, dt := range dtypes {
			if c.Meta.Kind == "linear" {
				// x·W with W stored (in, out): per-channel axis 1.
				runGolden(t, dt, c, table, "x·W")
				// W·X with X's columns the samples: per-channel axis 0.
				runGolden(t, dt, c, table, "W·X")
			} else {
				runGolden(t, dt, c, table, "conv")
			}
		}
	})
}

// runGolden builds the plain graph for one case and form, rewrites it,
// and checks y, dL/dx and dL/dw for L = Σ y ⊙ grad_out.
func runGolden(t *testing.T, dt tensor.Dtype, c *golden.Case, table []int32, form string) {
	t.Helper()
	g := G.NewGraph()
	var x, w, gout, out *G.Node
	var wantY, wantGX, wantGW golden.Array
	var opt Options
	wAxis := 0
	switch form {
	case "x·W":
		x, w = fromArray(g, dt, "x", c.X), fromArray(g, dt, "w", transpose2(c.W))
		gout = fromArray(g, dt, "grad_out", c.GradOut)
		out = G.Must(G.Mul(x, w))
		wantY, wantGX, wantGW = c.Y, c.GradX, transpose2(c.GradW)
		wAxis = 1
	case "W·X":
		x, w = fromArray(g, dt, "x", transpose2(c.X)), fromArray(g, dt, "w", c.W)
		gout = fromArray(g, dt, "grad_out", transpose2(c.GradOut))
		out = G.Must(G.Mul(w, x))
		wantY, wantGX, wantGW = transpose2(c.Y), transpose2(c.GradX), c.GradW
		opt.Weights = G.Nodes{w}
	case "conv":
		x, w = fromArray(g, dt, "x", c.X), fromArray(g, dt, "w", c.W)
		gout = fromArray(g, dt, "grad_out", c.GradOut)
		a := convArgs(c.Meta)
		if a.Groups == 1 {
			out = G.Must(G.Conv2d(x, w, tensor.Shape{c.W.Shape[2], c.W.Shape[3]}, c.Meta.Padding, c.Meta.Stride, c.Meta.Dilation))
		} else {
			var err error
			if out, err = ops.GroupedConv2d(x, w, a); err != nil {
				t.Fatal(err)
			}
		}
		wantY, wantGX, wantGW = c.Y, c.GradX, c.GradW
	}
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(out, gout))))

	xp, wp := c.Meta.Params(wAxis)
	preset := "torchapprox"
	if xp.Signed() {
		preset = "signed"
	}
	opt.Preset = preset
	res, err := Rewrite(g, opt)
	if err != nil {
		t.Fatal(err)
	}
	l := res.Layers.Layer("w")
	if l == nil || res.Layers.Len() != 1 {
		t.Fatalf("%s: layers %v, want [w]", form, res.Layers.Names())
	}
	tab, err := lut.FromEntries("golden", lut.Signs{X: lut.SignednessOf(xp.Signed()), W: lut.Signed}, table)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetQuantParams(xp, wp); err != nil {
		t.Fatal(err)
	}
	if err := l.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	if err := l.SetMode(ops.Approximate); err != nil {
		t.Fatal(err)
	}
	l.SetTraining(false)

	nx, nw := res.Node(x), res.Node(w)
	if _, err := G.Grad(res.Node(loss), nx, nw); err != nil {
		t.Fatal(err)
	}
	var y G.Value
	G.Read(res.Node(out), &y)
	vm := G.NewTapeMachine(res.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gx, err := nx.Grad()
	if err != nil {
		t.Fatal(err)
	}
	gw, err := nw.Grad()
	if err != nil {
		t.Fatal(err)
	}
	form += " " + dt.String()
	relToMax(t, form+" y", floats64(t, y), wantY.Float32, 1e-6)
	relToMax(t, form+" grad_x", floats64(t, gx), wantGX.Float32, 1e-5)
	relToMax(t, form+" grad_w", floats64(t, gw), wantGW.Float32, 1e-5)
}
