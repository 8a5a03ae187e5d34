package graph

import (
	"fmt"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/ops"
)

func TestLayerSelection(t *testing.T) {
	cases := []struct {
		opt  Options
		want string
	}{
		{Options{}, "[conv1 dw2 fc3]"},
		{Options{SkipFirst: true}, "[dw2 fc3]"},
		{Options{SkipLast: true}, "[conv1 dw2]"},
		{Options{SkipFirst: true, SkipLast: true}, "[dw2]"},
		{Options{Include: []string{"conv*", "fc?"}}, "[conv1 fc3]"},
		{Options{Exclude: []string{"dw*"}}, "[conv1 fc3]"},
		{Options{Include: []string{"*"}, Exclude: []string{"fc3"}, SkipFirst: true}, "[dw2]"},
	}
	for _, c := range cases {
		m := buildCNN(t)
		res, err := Rewrite(m.g, c.opt)
		if err != nil {
			t.Fatalf("%+v: %v", c.opt, err)
		}
		if got := fmt.Sprint(res.Layers.Names()); got != c.want {
			t.Errorf("%+v: layers %s, want %s", c.opt, got, c.want)
		}
		// Unconverted layers are copied as they were: the output is the
		// original's whatever was chosen (all layers start in Float).
		want := values(t, m.g, m.out)[0]
		got := values(t, res.Graph, res.Node(m.out))[0]
		if d := maxRelDiff(t, got, want); d > 1e-6 {
			t.Errorf("%+v: output differs from the original by %g", c.opt, d)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		opt  Options
		want string
	}{
		{Options{Include: []string{"conv9"}}, `pattern "conv9" matches none`},
		{Options{Exclude: []string{"[x"}}, `pattern "[x"`},
		{Options{Exclude: []string{"*"}}, "leave no layer"},
		{Options{Preset: "int4"}, `no preset "int4"`},
		{Options{Observer: "median"}, `no observer kind "median"`},
	}
	for _, c := range cases {
		m := buildCNN(t)
		_, err := Rewrite(m.g, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.opt, err, c.want)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Run("after Grad", func(t *testing.T) {
		m := buildMLP(t)
		if _, err := G.Grad(m.cost, m.w0, m.w1); err != nil {
			t.Fatal(err)
		}
		_, err := Rewrite(m.g, Options{})
		if err == nil || !strings.Contains(err.Error(), "gorgonia.Grad") {
			t.Fatalf("error %v, want one about gorgonia.Grad", err)
		}
	})
	t.Run("random node", func(t *testing.T) {
		m := buildMLP(t)
		noise := G.GaussianRandomNode(m.g, tensor.Float32, 0, 1, 8, 32)
		G.Must(G.Add(m.h, noise))
		_, err := Rewrite(m.g, Options{})
		if err == nil || !strings.Contains(err.Error(), "random") {
			t.Fatalf("error %v, want one about random nodes", err)
		}
	})
	t.Run("read", func(t *testing.T) {
		m := buildMLP(t)
		var v G.Value
		G.Read(m.out, &v)
		_, err := Rewrite(m.g, Options{})
		if err == nil || !strings.Contains(err.Error(), "gorgonia.Read") {
			t.Fatalf("error %v, want one about gorgonia.Read", err)
		}
	})
	t.Run("no layers", func(t *testing.T) {
		g := G.NewGraph()
		x := leaf(g, "x", 1, 1, 3)
		G.Must(G.Square(x))
		_, err := Rewrite(g, Options{})
		if err == nil || !strings.Contains(err.Error(), "no layer to convert") {
			t.Fatalf("error %v, want one saying there is no layer", err)
		}
	})
	t.Run("shared weight", func(t *testing.T) {
		g := G.NewGraph()
		x := leaf(g, "x", 1, 1, 2, 4)
		w := leaf(g, "w", 2, 1, 4, 4)
		h := G.Must(G.Mul(x, w))
		G.Must(G.Mul(G.Must(G.Tanh(h)), w))
		_, err := Rewrite(g, Options{})
		if err == nil || !strings.Contains(err.Error(), "shared weights") {
			t.Fatalf("error %v, want one about shared weights", err)
		}
		if _, err := Rewrite(g, Options{Exclude: []string{"w"}}); err == nil {
			t.Fatal("excluding the only (shared) layer should leave nothing to convert")
		}
	})
	t.Run("nil", func(t *testing.T) {
		if _, err := Rewrite(nil, Options{}); err == nil {
			t.Fatal("nil graph accepted")
		}
	})
}

// The W·x forms: a weight (out, in) times a vector, and times a matrix
// whose columns are samples. Both are converted and keep the output shape.
func TestWeightOnTheLeft(t *testing.T) {
	g := G.NewGraph()
	w := leaf(g, "w", 1, 0.5, 3, 5)
	v := leaf(g, "v", 2, 1, 5)
	cols := leaf(g, "cols", 3, 1, 5, 4)
	// Both operands of the first product are leaves; Options.Weights says
	// which one is the weight.
	yv := G.Must(G.Mul(w, v))
	w2 := leaf(g, "w2", 4, 0.5, 3, 5)
	ym := G.Must(G.Mul(w2, cols))
	res, err := Rewrite(g, Options{Weights: G.Nodes{w, w2}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Layers.Names()); got != "[w w2]" {
		t.Fatalf("layers %s, want [w w2]", got)
	}
	for _, l := range res.Layers.Layers() {
		if l.WeightLayout() != ops.OutIn || l.In() != 5 || l.Out() != 3 {
			t.Fatalf("layer %s: layout %v in %d out %d, want out×in, 5, 3", l.Name(), l.WeightLayout(), l.In(), l.Out())
		}
	}
	if s := res.Node(yv).Shape(); !s.Eq(tensor.Shape{3}) {
		t.Fatalf("W·v has shape %v, want (3)", s)
	}
	if s := res.Node(ym).Shape(); !s.Eq(tensor.Shape{3, 4}) {
		t.Fatalf("W·X has shape %v, want (3, 4)", s)
	}
	// Without Options.Weights, a Mul of two leaf matrices is read as x·W:
	// cols is taken as the weight of Mul(w2, cols); of a leaf matrix and a
	// leaf vector as X·theta: v is taken as the weight of Mul(w, v).
	res2, err := Rewrite(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res2.Layers.Names()); got != "[v cols]" {
		t.Fatalf("without Options.Weights: layers %s, want [v cols]", got)
	}
	want := values(t, g, yv, ym)
	got := values(t, res.Graph, res.Node(yv), res.Node(ym))
	for i := range want {
		if d := maxRelDiff(t, got[i], want[i]); d > 1e-6 {
			t.Fatalf("output %d differs from the original by %g", i, d)
		}
	}
}

// Two layers with identical inputs and weights but different tables stay
// two nodes, also after the machine hash-conses the graph again, and each
// computes with its own table.
func TestDifferentTablesStayDistinct(t *testing.T) {
	g := G.NewGraph()
	x := leaf(g, "x", 1, 1, 4, 8)
	wa := leaf(g, "wa", 2, 0.5, 8, 6)
	wb := G.NewTensor(g, tensor.Float32, 2, G.WithShape(8, 6), G.WithName("wb"), G.WithValue(seeded(2, 0.5, 8, 6)))
	ya := G.Must(G.Mul(x, wa))
	yb := G.Must(G.Mul(x, wb))
	res, err := Rewrite(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	na, nb := res.Node(ya), res.Node(yb)
	if na == nb {
		t.Fatal("the two layers merged into one node")
	}
	if err := res.Layers.SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	values(t, res.Graph, na, nb) // calibrate both observers on the same data
	res.Layers.SetTraining(false)
	if err := res.Layers.SetTable(lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed}), "wa"); err != nil {
		t.Fatal(err)
	}
	if err := res.Layers.SetTable(truncated(t), "wb"); err != nil {
		t.Fatal(err)
	}
	if err := res.Layers.SetMode(ops.Approximate); err != nil {
		t.Fatal(err)
	}
	both := values(t, res.Graph, na, nb)
	if maxRelDiff(t, both[0], both[1]) == 0 {
		t.Fatal("layers with different tables computed the same output")
	}
	// Each equals the other layer's output once given the same table.
	if err := res.Layers.SetTable(truncated(t), "wa"); err != nil {
		t.Fatal(err)
	}
	again := values(t, res.Graph, na, nb)
	if d := maxRelDiff(t, again[0], both[1]); d != 0 {
		t.Fatalf("with the same table the layers differ by %g", d)
	}
}

// Gorgonia's Dropout, which seeds from the clock, becomes a seeded
// nn.Dropout with its probability: two rewrites with one seed drop the
// same elements.
func TestDropoutIsCopied(t *testing.T) {
	m := buildMLP(t)
	d := G.Must(G.Dropout(m.h, 0.5))
	var masks [2][]float32
	for i := range masks {
		res, err := Rewrite(m.g, Options{Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		nd := res.Node(d)
		op, ok := nd.Op().(*nn.DropoutOp)
		if !ok || op.Prob != 0.5 || !op.Training || children(res.Graph, nd)[0] != res.Node(m.h) || len(res.Dropouts) != 1 {
			t.Fatalf("dropout copied as %v", nd)
		}
		vals := values(t, res.Graph, nd, res.Node(m.h))
		for j, v := range vals[0] {
			if v != 0 && v != 2*vals[1][j] {
				t.Fatalf("dropout output %v for input %v, want 0 or twice the input", v, vals[1][j])
			}
		}
		masks[i] = vals[0]
	}
	if maxRelDiff(t, masks[0], masks[1]) != 0 {
		t.Fatal("two rewrites with one seed dropped different elements")
	}
}

// An unnamed weight gives its layer a generated name; the weight keeps
// having no name of its own.
func TestUnnamedWeight(t *testing.T) {
	g := G.NewGraph()
	x := leaf(g, "x", 1, 1, 2, 4)
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 3), G.WithValue(seeded(2, 1, 4, 3)))
	y := G.Must(G.Mul(x, w))
	res, err := Rewrite(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Layers.Names()); got != "[linear0]" {
		t.Fatalf("layers %s, want [linear0]", got)
	}
	if givenName(res.Node(w), nil) != "" {
		t.Fatalf("the copied weight got the name %q", res.Node(w).Name())
	}
	want := values(t, g, y)[0]
	if got := values(t, res.Graph, res.Node(y))[0]; maxRelDiff(t, got, want) != 0 {
		t.Fatal("output differs from the original")
	}
}
