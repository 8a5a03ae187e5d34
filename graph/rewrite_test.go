package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/quantize"

	"testing"

	"github.com/goapprox/goapprox/ops"
)

func TestMLPFloatEqualsOriginal(t *testing.T) {
	m := buildMLP(t)
	res, err := Rewrite(m.g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Layers.Names(); len(got) != 2 || got[0] != "w0" || got[1] != "w1" {
		t.Fatalf("layers %v, want [w0 w1]", got)
	}
	for _, l := range res.Layers.Layers() {
		if l.Mode() != ops.Float {
			t.Fatalf("layer %s starts in %v", l.Name(), l.Mode())
		}
	}
	want := values(t, m.g, m.out, m.cost)
	got := values(t, res.Graph, res.Node(m.out), res.Node(m.cost))
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("output %d[%d] = %v, original %v (max rel diff %g)", i, j, got[i][j], want[i][j], maxRelDiff(t, got[i], want[i]))
			}
		}
	}
}

func TestCNNFloatEqualsOriginal(t *testing.T) {
	m := buildCNN(t)
	res, err := Rewrite(m.g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Layers.Names()); got != "[conv1 dw2 fc3]" {
		t.Fatalf("layers %s, want [conv1 dw2 fc3]", got)
	}
	if a := res.Layers.Layer("conv1").ConvArgs(); a != m.convArgs {
		t.Fatalf("conv1 args %v, want %v", a, m.convArgs)
	}
	if a := res.Layers.Layer("dw2").ConvArgs(); a != m.depthwiseArgs {
		t.Fatalf("dw2 args %v, want %v", a, m.depthwiseArgs)
	}
	// The im2col of the converted convolution must not be left in the new
	// graph as dead code.
	for _, n := range res.Graph.AllNodes() {
		if opType(n) == "gorgonia.im2colOp" {
			t.Fatalf("the rewritten graph still holds %v", n)
		}
	}
	want := values(t, m.g, m.out, m.cost)
	got := values(t, res.Graph, res.Node(m.out), res.Node(m.cost))
	for i := range want {
		if d := maxRelDiff(t, got[i], want[i]); d != 0 {
			t.Fatalf("output %d differs from the original by %g", i, d)
		}
	}
}

// layerIO returns, for every layer of the result, the node of its input
// and of its output (the layer's product, before anything that follows).
func layerIO(t *testing.T, res *Result) (in, out G.Nodes) {
	t.Helper()
	for _, l := range res.Layers.Layers() {
		kids := children(res.Graph, l.Output())
		if len(kids) != 2 || kids[1] != l.Weight() {
			t.Fatalf("layer %s: output node %v does not take (x, weight)", l.Name(), l.Output())
		}
		in = append(in, kids[0])
		out = append(out, l.Output())
	}
	return in, out
}

// handLayer computes a layer's product from its input values with
// fake-quantized operands, using quantize.Params directly and float64
// sums: the specification of Quantized mode, independent of the ops.
func handLayer(t *testing.T, l *approxlayer.Layer, x []float32, xShape []int) []float32 {
	t.Helper()
	s := l.State()
	wv := l.Weight().Value().(tensor.Tensor)
	wShape := []int(wv.Shape())
	fx := fakeQuant(s.XParams, x, xShape)
	fw := fakeQuant(s.WParams, wv.Data().([]float32), wShape)
	switch l.Kind() {
	case approxlayer.KindLinear:
		if l.WeightLayout() != ops.InOut {
			t.Fatalf("layer %s: layout %v; these graphs use x·W", l.Name(), l.WeightLayout())
		}
		return matmulInOut(fx, fw, xShape[0], wShape[0], wShape[1])
	default:
		y, _ := convNaive(fx, fw, xShape, wShape, l.ConvArgs())
		return y
	}
}

// checkQuantizedLayers runs the graph and compares every layer's product
// with handLayer.
func checkQuantizedLayers(t *testing.T, res *Result) {
	t.Helper()
	in, out := layerIO(t, res)
	vals := values(t, res.Graph, append(in, out...)...)
	for i, l := range res.Layers.Layers() {
		want := handLayer(t, l, vals[i], in[i].Shape())
		if d := maxRelDiff(t, vals[len(in)+i], want); d > 1e-5 {
			t.Errorf("layer %s (%s): Quantized output differs from hand-computed fake quantization by %g", l.Name(), l.Preset().Name, d)
		}
	}
}

// exactTable returns the exact multiplier for a preset's code signedness.
func exactTable(t *testing.T, preset string) *lut.Table {
	t.Helper()
	p, err := quantize.PresetByName(preset)
	if err != nil {
		t.Fatal(err)
	}
	return lut.ExactTable(lut.Signs{X: lut.SignednessOf(p.Activation.Signed), W: lut.SignednessOf(p.Weight.Signed)})
}

func TestQuantizedAndExactApproximate(t *testing.T) {
	for _, preset := range []string{"torchapprox", "signed", "unsigned"} {
		for _, model := range []string{"mlp", "cnn"} {
			t.Run(model+"/"+preset, func(t *testing.T) {
				var g *G.ExprGraph
				var outNode *G.Node
				if model == "mlp" {
					m := buildMLP(t)
					g, outNode = m.g, m.out
				} else {
					m := buildCNN(t)
					g, outNode = m.g, m.out
				}
				res, err := Rewrite(g, Options{Preset: preset})
				if err != nil {
					t.Fatal(err)
				}
				out := res.Node(outNode)
				float := values(t, res.Graph, out)[0]

				// Training run: the observers learn the ranges, and the
				// ops quantize with what they learnt.
				if err := res.Layers.SetMode(ops.Quantized); err != nil {
					t.Fatal(err)
				}
				checkQuantizedLayers(t, res)

				// Evaluation with the learnt parameters: Quantized, then
				// Approximate with the exact table, must agree.
				res.Layers.SetTraining(false)
				quant := values(t, res.Graph, out)[0]
				if d := maxRelDiff(t, quant, float); d == 0 || d > 0.2 {
					t.Fatalf("Quantized differs from Float by %g; want a small, non-zero quantization error", d)
				}
				if err := res.Layers.SetTable(exactTable(t, preset)); err != nil {
					t.Fatal(err)
				}
				if err := res.Layers.SetMode(ops.Approximate); err != nil {
					t.Fatal(err)
				}
				approx := values(t, res.Graph, out)[0]
				if d := maxRelDiff(t, approx, quant); d > 1e-5 {
					t.Fatalf("Approximate with the exact table differs from Quantized by %g", d)
				}
			})
		}
	}
}

// With FastFloat the rewritten convolution runs on the float kernels:
// the original's outputs to rounding, not necessarily its bits.
func TestFastFloat(t *testing.T) {
	m := buildCNN(t)
	res, err := Rewrite(m.g, Options{FastFloat: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Layers.Layer("conv1").State().FloatLikeGorgonia {
		t.Fatal("FastFloat left conv1 computing as gorgonia does")
	}
	want := values(t, m.g, m.out)[0]
	got := values(t, res.Graph, res.Node(m.out))[0]
	if d := maxRelDiff(t, got, want); d > 1e-6 {
		t.Fatalf("output differs from the original by %g", d)
	}
}
