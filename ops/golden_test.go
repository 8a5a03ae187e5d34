package ops

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/golden"
	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
)

// convArgs returns the convolution arguments of a conv2d case.
func convArgs(m golden.Meta) ConvArgs {
	pair := func(v []int) [2]int { return [2]int{v[0], v[1]} }
	return ConvArgs{Stride: pair(m.Stride), Pad: pair(m.Padding), Dilation: pair(m.Dilation), Groups: m.Groups}
}

// goldenState builds the layer state a case describes, with its frozen
// quantization parameters (per-channel weights along axis 0, the output
// channels) and the cases' table.
func goldenState(t *testing.T, c *golden.Case, table []int32) *LayerState {
	t.Helper()
	s := NewLayerState(c.Name, 1)
	s.Mode = Approximate
	s.XParams, s.WParams = c.Meta.Params(0)
	tab, err := lut.FromEntries("golden", lut.Signs{X: lut.SignednessOf(s.XParams.QMin < 0), W: lut.SignednessOf(s.WParams.QMin < 0)}, table)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGolden(t *testing.T) {
	golden.RunCases(t, shared.RequireOperators(t), func(t *testing.T, c *golden.Case, table []int32) {
		s := goldenState(t, c, table)
		// The integer accumulators and the output, from the shared
		// forward function.
		acc, y := goldenForward(t, c, s)
		if len(acc) != len(c.Acc.Int32) {
			t.Fatalf("acc has %d elements, want %d", len(acc), len(c.Acc.Int32))
		}
		for i := range acc {
			if acc[i] != c.Acc.Int32[i] {
				t.Fatalf("acc[%d] = %d, want %d", i, acc[i], c.Acc.Int32[i])
			}
		}
		assertRel(t, "y (direct)", y, c.Y.Float32, 1e-6)
		// The same through a real graph, with gradients.
		gy, gx, gw := goldenGraphRun(t, c, s)
		assertRel(t, "y (graph)", gy, c.Y.Float32, 1e-6)
		assertRel(t, "grad_x", gx, c.GradX.Float32, 1e-5)
		assertRel(t, "grad_w", gw, c.GradW.Float32, 1e-5)
	})
}

func goldenForward(t *testing.T, c *golden.Case, s *LayerState) ([]int32, []float32) {
	t.Helper()
	xs, ws := tensor.Shape(c.X.Shape), tensor.Shape(c.W.Shape)
	y := make([]float32, tensor.Shape(c.Y.Shape).TotalSize())
	var acc []int32
	var err error
	switch c.Meta.Kind {
	case "linear":
		acc, err = linearForward(s, OutIn, new(runRecord), y, c.X.Float32, c.W.Float32, xs, ws)
	case "conv2d":
		var g geom.Conv
		if g, err = convArgs(c.Meta).geom(xs, ws); err == nil {
			rec := new(runRecord)
			if acc, err = convForward(s, rec, y, c.X.Float32, c.W.Float32, g); err == nil && acc == nil && s.Mode == Approximate {
				acc = convSums(t, s, rec, g)
			}
		}
	default:
		t.Fatalf("unknown kind %q", c.Meta.Kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return acc, y
}

// graphRun builds L = sum(y ⊙ grad_out) in a Gorgonia graph, runs it on a
// TapeMachine and returns y, dL/dx and dL/dw.
func goldenGraphRun(t *testing.T, c *golden.Case, s *LayerState) (y, gx, gw []float32) {
	t.Helper()
	g := gorgonia.NewGraph()
	x := input(g, "x", c.X)
	w := input(g, "w", c.W)
	gout := input(g, "grad_out", c.GradOut)
	var out *gorgonia.Node
	var err error
	switch c.Meta.Kind {
	case "linear":
		out, err = Linear(x, w, s, OutIn)
	case "conv2d":
		out, err = Conv2d(x, w, s, convArgs(c.Meta))
	}
	if err != nil {
		t.Fatal(err)
	}
	return runLoss(t, g, out, gout, x, w)
}

func input(g *gorgonia.ExprGraph, name string, a golden.Array) *gorgonia.Node {
	v := tensor.New(tensor.WithShape(a.Shape...), tensor.WithBacking(append([]float32(nil), a.Float32...)))
	return gorgonia.NodeFromAny(g, v, gorgonia.WithName(name))
}

// runLoss differentiates sum(out ⊙ gout) with respect to x and w on a
// TapeMachine and returns out, dx and dw.
func runLoss(t *testing.T, g *gorgonia.ExprGraph, out, gout, x, w *gorgonia.Node) (y, gx, gw []float32) {
	t.Helper()
	prod, err := gorgonia.HadamardProd(out, gout)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	if _, err := gorgonia.Grad(loss, x, w); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	dx, err := x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	dw, err := w.Grad()
	if err != nil {
		t.Fatal(err)
	}
	return copyFloats(yv), copyFloats(dx), copyFloats(dw)
}

func copyFloats(v gorgonia.Value) []float32 {
	return append([]float32(nil), v.Data().([]float32)...)
}

// assertRel checks got against want within tol relative to the largest
// |want|.
func assertRel(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s has %d elements, want %d", what, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if scale == 0 {
		scale = 1
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %.3g > %.1g × %.3g)", what, i, got[i], want[i], d, tol, scale)
		}
	}
}
