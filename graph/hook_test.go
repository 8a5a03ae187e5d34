package graph

import (
	"errors"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/approxlayer"
)

// LayerOutput's node replaces each layer's product before the bias: with a
// hook that doubles the product, the rewritten MLP computes
// relu(2·x·w0 + b0)·w1·2 + b1, built here by hand as a plain graph.
func TestLayerOutputHook(t *testing.T) {
	m := buildMLP(t)
	var seen []string
	double := func(l *approxlayer.Layer, y *G.Node) (*G.Node, error) {
		if l.Output() != y {
			t.Errorf("layer %s: the hook got %v, not the layer's output", l.Name(), y)
		}
		seen = append(seen, l.Name())
		return G.Mul(y, G.NewConstant(float32(2)))
	}
	res, err := Rewrite(m.g, Options{LayerOutput: double})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, " ") != "w0 w1" {
		t.Errorf("hook called for %v, want w0 then w1", seen)
	}
	got := values(t, res.Graph, res.Node(m.out))[0]

	g := G.NewGraph()
	x := leaf(g, "x", 1, 1, 8, 16)
	w0 := leaf(g, "w0", 2, 0.25, 16, 32)
	b0 := leaf(g, "b0", 3, 0.1, 32)
	w1 := leaf(g, "w1", 4, 0.2, 32, 4)
	b1 := leaf(g, "b1", 5, 0.1, 4)
	two := G.NewConstant(float32(2))
	h := G.Must(G.Rectify(G.Must(G.BroadcastAdd(G.Must(G.Mul(G.Must(G.Mul(x, w0)), two)), b0, nil, []byte{0}))))
	out := G.Must(G.BroadcastAdd(G.Must(G.Mul(G.Must(G.Mul(h, w1)), two)), b1, nil, []byte{0}))
	want := values(t, g, out)[0]
	if d := maxRelDiff(t, got, want); d > 1e-6 {
		t.Errorf("output differs from the hand-built graph by %g", d)
	}
}

// A hook's error, or a node of another shape, stops the rewrite with a
// message naming the option.
func TestLayerOutputHookErrors(t *testing.T) {
	cases := []struct {
		hook func(*approxlayer.Layer, *G.Node) (*G.Node, error)
		want string
	}{
		{func(l *approxlayer.Layer, y *G.Node) (*G.Node, error) { return G.Sum(y) }, "must return a node of the output's shape"},
		{func(l *approxlayer.Layer, y *G.Node) (*G.Node, error) { return nil, nil }, "returned nil"},
		{func(l *approxlayer.Layer, y *G.Node) (*G.Node, error) {
			return nil, errors.New("no sigma for " + l.Name())
		}, "Options.LayerOutput: no sigma for w0"},
	}
	for i, c := range cases {
		m := buildMLP(t)
		_, err := Rewrite(m.g, Options{LayerOutput: c.hook})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, c.want)
		}
	}
}
