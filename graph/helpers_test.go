package graph

import (
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
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
	g                         *G.ExprGraph
	x, w0, b0, w1, b1, target *G.Node
	h, out, cost              *G.Node
}

func buildMLP(t testing.TB) *mlp {
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

// cnn is a plain Gorgonia convolutional network: conv, ReLU, max-pool, a
// depthwise convolution (ops.GroupedConv2d), ReLU, and a dense layer.
type cnn struct {
	g                       *G.ExprGraph
	x, wc, wd, wf, target   *G.Node
	pooled, out, cost       *G.Node
	convArgs, depthwiseArgs ops.ConvArgs
}

func buildCNN(t testing.TB) *cnn {
	t.Helper()
	g := G.NewGraph()
	m := &cnn{g: g}
	m.x = leaf(g, "x", 11, 1, 2, 1, 8, 8)
	m.wc = leaf(g, "conv1", 12, 0.5, 4, 1, 3, 3)
	m.wd = leaf(g, "dw2", 13, 0.5, 4, 1, 3, 3)
	m.wf = leaf(g, "fc3", 14, 0.2, 64, 3)
	m.target = leaf(g, "target", 15, 1, 2, 3)
	m.convArgs = ops.ConvArgs{Stride: [2]int{1, 1}, Pad: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1}
	c := G.Must(G.Conv2d(m.x, m.wc, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))
	m.pooled = G.Must(G.MaxPool2D(G.Must(G.Rectify(c)), tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
	m.depthwiseArgs = ops.ConvArgs{Stride: [2]int{1, 1}, Pad: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 4}
	d, err := ops.GroupedConv2d(m.pooled, m.wd, m.depthwiseArgs)
	if err != nil {
		t.Fatal(err)
	}
	flat := G.Must(G.Reshape(G.Must(G.Rectify(d)), tensor.Shape{2, 64}))
	m.out = G.Must(G.Mul(flat, m.wf))
	m.cost = G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(m.out, m.target))))))
	return m
}

// fakeQuant returns the quantized-then-dequantized values of a tensor,
// computed by quantize.Params alone.
func fakeQuant(p quantize.Params, v []float32, shape []int) []float64 {
	fq := make([]float32, len(v))
	p.FakeQuant(fq, v, nil, shape)
	out := make([]float64, len(v))
	for i, f := range fq {
		out[i] = float64(f)
	}
	return out
}

// matmulInOut returns x·w for x (m, k) and w (k, n), in float64.
func matmulInOut(x, w []float64, m, k, n int) []float32 {
	y := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += x[i*k+l] * w[l*n+j]
			}
			y[i*n+j] = float32(s)
		}
	}
	return y
}

// convNaive is a direct grouped NCHW convolution in float64, zero padded.
func convNaive(x, w []float64, xs, ws []int, a ops.ConvArgs) ([]float32, []int) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	o, cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	oh := (h+2*a.Pad[0]-a.Dilation[0]*(kh-1)-1)/a.Stride[0] + 1
	ow := (wd+2*a.Pad[1]-a.Dilation[1]*(kw-1)-1)/a.Stride[1] + 1
	og := o / a.Groups
	y := make([]float32, n*o*oh*ow)
	for b := 0; b < n; b++ {
		for oc := 0; oc < o; oc++ {
			grp := oc / og
			for yy := 0; yy < oh; yy++ {
				for xx := 0; xx < ow; xx++ {
					var s float64
					for ci := 0; ci < cg; ci++ {
						ic := grp*cg + ci
						for ky := 0; ky < kh; ky++ {
							iy := yy*a.Stride[0] - a.Pad[0] + ky*a.Dilation[0]
							for kx := 0; kx < kw; kx++ {
								ix := xx*a.Stride[1] - a.Pad[1] + kx*a.Dilation[1]
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += x[((b*c+ic)*h+iy)*wd+ix] * w[((oc*cg+ci)*kh+ky)*kw+kx]
							}
						}
					}
					y[((b*o+oc)*oh+yy)*ow+xx] = float32(s)
				}
			}
		}
	}
	return y, []int{n, o, oh, ow}
}
