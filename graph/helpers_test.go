package graph

import (
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// seeded returns a float32 tensor of the given shape drawn uniformly from
// [-scale, scale] with its own seeded generator.
func seeded(seed int64, scale float64, shape ...int) *tensor.Dense {
	rng := rand.New(rand.NewSource(seed))
	data := make([]float32, tensor.Shape(shape).TotalSize())
	for i := range data {
		data[i] = float32((2*rng.Float64() - 1) * scale)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// leaf adds a named float32 input with a seeded value.
func leaf(g *G.ExprGraph, name string, seed int64, scale float64, shape ...int) *G.Node {
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(seeded(seed, scale, shape...)))
}

// values runs g once on a fresh TapeMachine and returns copies of the
// values of the given nodes, read through gorgonia.Read (an intermediate
// node's own value may be overwritten by in-place instructions).
func values(t *testing.T, g *G.ExprGraph, nodes ...*G.Node) [][]float32 {
	t.Helper()
	vals := make([]G.Value, len(nodes))
	for i, n := range nodes {
		G.Read(n, &vals[i])
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(nodes))
	for i, v := range vals {
		switch d := v.Data().(type) {
		case []float32:
			out[i] = append([]float32(nil), d...)
		case float32:
			out[i] = []float32{d}
		default:
			t.Fatalf("node %v holds %T, want float32", nodes[i], d)
		}
	}
	return out
}

// maxRelDiff returns max |a-b| / max(1, max |b|) and fails on a length
// mismatch.
func maxRelDiff(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d differ", len(a), len(b))
	}
	var diff, norm float64 = 0, 1
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		norm = math.Max(norm, math.Abs(float64(b[i])))
	}
	return diff / norm
}

// mlp is a plain Gorgonia two-layer perceptron with a squared-error cost.
type mlp struct {
	g                          *G.ExprGraph
	x, w0, b0, w1, b1, target  *G.Node
	h, out, cost               *G.Node
}

func buildMLP(t *testing.T) *mlp {
	t.Helper()
	g := G.NewGraph()
	m := &mlp{g: g}
	m.x = leaf(g, "x", 1, 1, 8, 16)
	m.w0 = leaf(g, "w0", 2, 0.25, 16, 32)
	m.b0 = leaf(g, "b0", 3, 0.1, 32)
	m.w1 = leaf(g, "w1", 4, 0.2, 32, 4)
	m.b1 = leaf(g, "b1", 5, 0.1, 4)
	m.target = leaf(g, "target", 6, 1, 8, 4)
	m.h = G.Must(G.Rectify(G.Must(G.BroadcastAdd(G.Must(G.Mul(m.x, m.w0)), m.b0, nil, []byte{0}))))
	m.out = G.Must(G.BroadcastAdd(G.Must(G.Mul(m.h, m.w1)), m.b1, nil, []byte{0}))
	m.cost = G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(m.out, m.target))))))
	return m
}
