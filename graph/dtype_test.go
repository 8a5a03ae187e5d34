package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
)

// dtypes are the element types every user-style test runs in.
var dtypes = []tensor.Dtype{tensor.Float32, tensor.Float64}

// seededOf is seeded with the dtype's element type: the same float32
// values, widened for float64, so that both graphs hold the same numbers.
func seededOf(dt tensor.Dtype, seed int64, scale float64, shape ...int) *tensor.Dense {
	v := seeded(seed, scale, shape...)
	if dt == tensor.Float32 {
		return v
	}
	f := v.Data().([]float32)
	d := make([]float64, len(f))
	for i, x := range f {
		d[i] = float64(x)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// leafOf adds a named input of dtype dt with a seeded value.
func leafOf(g *G.ExprGraph, dt tensor.Dtype, name string, seed int64, scale float64, shape ...int) *G.Node {
	return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(seededOf(dt, seed, scale, shape...)))
}

// floats64 returns a value's elements as float64 (float32 widened).
func floats64(t *testing.T, v G.Value) []float64 {
	t.Helper()
	switch d := v.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case float64:
		return []float64{d}
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case float32:
		return []float64{float64(d)}
	}
	t.Fatalf("value holds %T", v.Data())
	return nil
}

// run64 runs g once on a fresh TapeMachine and returns the values of the
// nodes, as float64.
func run64(t *testing.T, g *G.ExprGraph, nodes ...*G.Node) [][]float64 {
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
	out := make([][]float64, len(nodes))
	for i, v := range vals {
		out[i] = floats64(t, v)
	}
	return out
}

// relDiff64 returns max |a-b| / max(1, max |b|).
func relDiff64(t *testing.T, a, b []float64) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d differ", len(a), len(b))
	}
	var diff, norm float64 = 0, 1
	for i := range a {
		diff = math.Max(diff, math.Abs(a[i]-b[i]))
		norm = math.Max(norm, math.Abs(b[i]))
	}
	return diff / norm
}

// fakeQuant64 is the specification of fake quantization for either dtype:
// the code of each value (of its float32 rounding, as quantize.Params
// defines it), dequantized exactly in float64.
func fakeQuant64(p quantize.Params, v []float64, shape []int) []float64 {
	inner, channels := len(v), 1
	if p.IsPerChannel() {
		inner = 1
		for _, d := range shape[p.Axis+1:] {
			inner *= d
		}
		channels = shape[p.Axis]
	}
	out := make([]float64, len(v))
	for i, x := range v {
		ch := (i / inner) % channels
		out[i] = float64(p.Code(float32(x), ch)-p.ZeroPoint[ch]) * float64(p.Scale[ch])
	}
	return out
}

// handLayer64 computes a layer's product from its input values with
// fake-quantized operands in float64: Quantized mode by hand.
func handLayer64(t *testing.T, l *approxlayer.Layer, x []float64, xShape []int) []float64 {
	t.Helper()
	s := l.State()
	wv := l.Weight().Value()
	wShape := []int(wv.Shape())
	fx := fakeQuant64(s.XParams, x, xShape)
	fw := fakeQuant64(s.WParams, floats64(t, wv), wShape)
	if l.Kind() == approxlayer.KindLinear {
		n := 1
		if len(wShape) == 2 {
			n = wShape[1]
		}
		m, k := xShape[0], xShape[1]
		y := make([]float64, m*n)
		for i := range m {
			for j := range n {
				for p := range k {
					y[i*n+j] += fx[i*k+p] * fw[p*n+j]
				}
			}
		}
		return y
	}
	return convNaive64(fx, fw, xShape, wShape, l.ConvArgs())
}

// convNaive64 is convNaive without the final rounding to float32, which
// the float64 check must not have.
func convNaive64(x, w []float64, xs, ws []int, a ops.ConvArgs) []float64 {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	o, cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	oh := (h+2*a.Pad[0]-a.Dilation[0]*(kh-1)-1)/a.Stride[0] + 1
	ow := (wd+2*a.Pad[1]-a.Dilation[1]*(kw-1)-1)/a.Stride[1] + 1
	og := o / a.Groups
	y := make([]float64, n*o*oh*ow)
	for b := range n {
		for oc := range o {
			grp := oc / og
			for yy := range oh {
				for xx := range ow {
					var s float64
					for ci := range cg {
						ic := grp*cg + ci
						for ky := range kh {
							iy := yy*a.Stride[0] - a.Pad[0] + ky*a.Dilation[0]
							for kx := range kw {
								ix := xx*a.Stride[1] - a.Pad[1] + kx*a.Dilation[1]
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									s += x[((b*c+ic)*h+iy)*wd+ix] * w[((oc*cg+ci)*kh+ky)*kw+kx]
								}
							}
						}
					}
					y[((b*o+oc)*oh+yy)*ow+xx] = s
				}
			}
		}
	}
	return y
}

// userCNN is a CNN as a Gorgonia user writes it, in either dtype: conv,
// ReLU, max-pool, a depthwise convolution (ops.GroupedConv2d), a dense
// layer with a bias, log-softmax and the negative log-likelihood of one-hot
// targets.
type userCNN struct {
	g                            *G.ExprGraph
	x, wc, wd, wf, bf, onehot    *G.Node
	logits, cost                 *G.Node
	learnables                   G.Nodes
	batch, classes, flatFeatures int
}

func buildUserCNN(t *testing.T, dt tensor.Dtype) *userCNN {
	t.Helper()
	g := G.NewGraph()
	m := &userCNN{g: g, batch: 4, classes: 3, flatFeatures: 4 * 4 * 4}
	m.x = leafOf(g, dt, "x", 21, 1, m.batch, 1, 8, 8)
	m.wc = leafOf(g, dt, "conv1", 22, 0.5, 4, 1, 3, 3)
	m.wd = leafOf(g, dt, "dw2", 23, 0.5, 4, 1, 3, 3)
	m.wf = leafOf(g, dt, "fc3", 24, 0.2, m.flatFeatures, m.classes)
	m.bf = leafOf(g, dt, "fc3.bias", 25, 0.1, m.classes)
	oh := make([]float64, m.batch*m.classes)
	for i := range m.batch {
		oh[i*m.classes+i%m.classes] = 1
	}
	ohv := seededOf(dt, 0, 0, m.batch, m.classes)
	for i, v := range oh {
		ohv.Set(i, convertTo(dt, v))
	}
	m.onehot = G.NewMatrix(g, dt, G.WithShape(m.batch, m.classes), G.WithName("onehot"), G.WithValue(ohv))
	c := G.Must(G.Conv2d(m.x, m.wc, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))
	p := G.Must(G.MaxPool2D(G.Must(G.Rectify(c)), tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
	d, err := ops.GroupedConv2d(p, m.wd, ops.ConvArgs{Pad: [2]int{1, 1}, Groups: 4})
	if err != nil {
		t.Fatal(err)
	}
	flat := G.Must(G.Reshape(G.Must(G.Rectify(d)), tensor.Shape{m.batch, m.flatFeatures}))
	m.logits = G.Must(G.BroadcastAdd(G.Must(G.Mul(flat, m.wf)), m.bf, nil, []byte{0}))
	logp := G.Must(G.LogSoftMax(m.logits))
	m.cost = G.Must(G.Neg(G.Must(G.Mean(G.Must(G.HadamardProd(logp, m.onehot))))))
	m.learnables = G.Nodes{m.wc, m.wd, m.wf, m.bf}
	return m
}

func convertTo(dt tensor.Dtype, v float64) any {
	if dt == tensor.Float32 {
		return float32(v)
	}
	return v
}

// TestUserCNNInEveryDtype builds the same CNN in float32 and float64 and
// checks, for each: in Float mode the rewritten graph gives the original's
// outputs bit for bit; in Quantized mode every layer gives the hand-written
// fake-quantized product; with the exact table Approximate mode gives the
// Quantized result; and a few solver steps lower the loss.
func TestUserCNNInEveryDtype(t *testing.T) {
	for _, dt := range dtypes {
		t.Run(dt.String(), func(t *testing.T) {
			m := buildUserCNN(t, dt)
			res, err := Rewrite(m.g, Options{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			want := run64(t, m.g, m.logits, m.cost)
			got := run64(t, res.Graph, res.Node(m.logits), res.Node(m.cost))
			for i := range want {
				for j := range want[i] {
					if got[i][j] != want[i][j] {
						t.Fatalf("Float mode: output %d[%d] = %v, original %v", i, j, got[i][j], want[i][j])
					}
				}
			}

			// A training run in Quantized mode: observers learn, and each
			// layer's product is the fake-quantized one.
			tol := 1e-12
			if dt == tensor.Float32 {
				tol = 1e-5
			}
			if err := res.Layers.SetMode(ops.Quantized); err != nil {
				t.Fatal(err)
			}
			in, out := layerIO(t, res)
			vals := run64(t, res.Graph, append(in, out...)...)
			for i, l := range res.Layers.Layers() {
				hand := handLayer64(t, l, vals[i], in[i].Shape())
				if d := relDiff64(t, vals[len(in)+i], hand); d > tol {
					t.Fatalf("layer %s: Quantized output differs from the hand computation by %g", l.Name(), d)
				}
			}
			res.Layers.SetTraining(false)
			logits := res.Node(m.logits)
			quant := run64(t, res.Graph, logits)[0]
			if err := res.Layers.SetTable(exactTable(t, approxlayer.DefaultPreset)); err != nil {
				t.Fatal(err)
			}
			if err := res.Layers.SetMode(ops.Approximate); err != nil {
				t.Fatal(err)
			}
			approx := run64(t, res.Graph, logits)[0]
			if d := relDiff64(t, approx, quant); d > tol {
				t.Fatalf("Approximate with the exact table differs from Quantized by %g", d)
			}

			// A few Adam steps in Quantized mode lower the loss.
			res.Layers.SetTraining(true)
			if err := res.Layers.SetMode(ops.Quantized); err != nil {
				t.Fatal(err)
			}
			learn, err := res.Nodes(m.learnables...)
			if err != nil {
				t.Fatal(err)
			}
			losses := trainFor(t, res, res.Node(m.cost), learn, G.NewAdamSolver(G.WithLearnRate(0.02)), 12, false)
			if !(losses[len(losses)-1] < 0.9*losses[0]) {
				t.Fatalf("losses %v do not fall by 10%%", losses)
			}
		})
	}
}

// trainFor differentiates cost, compiles a TapeMachine (from a program
// compiled beforehand when precompiled is set) and runs steps solver
// steps, returning the losses.
func trainFor(t *testing.T, res *Result, cost *G.Node, learn G.Nodes, solver G.Solver, steps int, precompiled bool) []float64 {
	t.Helper()
	if _, err := G.Grad(cost, learn...); err != nil {
		t.Fatal(err)
	}
	opts := []G.VMOpt{G.BindDualValues(learn...)}
	if precompiled {
		prog, locMap, err := G.Compile(res.Graph)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, G.WithPrecompiled(prog, locMap))
	}
	vm := G.NewTapeMachine(res.Graph, opts...)
	defer vm.Close()
	var losses []float64
	for range steps {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, floats64(t, cost.Value())[0])
		if err := solver.Step(G.NodesToValueGrads(learn)); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
	}
	return losses
}

// TestVectorWeights rewrites the products of a vector weight, as linear and
// logistic regression write them, in both dtypes: Mul(X, theta) (in Float
// mode, in float64, bit for bit the original), Mul(theta, X) with samples as columns,
// Mul(x, W) of one sample, and theta·x; then trains the regression.
func TestVectorWeights(t *testing.T) {
	for _, dt := range dtypes {
		t.Run(dt.String(), func(t *testing.T) {
			g := G.NewGraph()
			X := leafOf(g, dt, "X", 31, 1, 150, 5)
			theta := leafOf(g, dt, "theta", 32, 0.5, 5)
			cols := leafOf(g, dt, "cols", 33, 1, 5, 7)
			phi := leafOf(g, dt, "phi", 34, 0.5, 5)
			v := leafOf(g, dt, "v", 35, 1, 5)
			W := leafOf(g, dt, "W", 36, 0.5, 5, 3)
			psi := leafOf(g, dt, "psi", 37, 0.5, 5)
			u := G.Must(G.Tanh(leafOf(g, dt, "u", 38, 1, 5)))
			y := leafOf(g, dt, "y", 39, 1, 150)
			pred := G.Must(G.Mul(X, theta))
			colPred := G.Must(G.Mul(phi, cols))
			one := G.Must(G.Mul(G.Must(G.Tanh(v)), W))
			dot := G.Must(G.Mul(psi, u))
			cost := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(pred, y))))))
			res, err := Rewrite(g, Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Layers.Names(); len(got) != 4 || got[0] != "theta" || got[1] != "phi" || got[2] != "W" || got[3] != "psi" {
				t.Fatalf("layers %v, want [theta phi W psi]", got)
			}
			nodes := []*G.Node{pred, colPred, one, dot}
			want := run64(t, g, nodes...)
			news, err := res.Nodes(nodes...)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range news {
				if !n.Shape().Eq(nodes[i].Shape()) {
					t.Fatalf("%v has shape %v, the original %v", nodes[i], n.Shape(), nodes[i].Shape())
				}
			}
			got := run64(t, res.Graph, news...)
			// Float mode makes gorgonia's own BLAS call. In float64 that
			// gives its bits; gonum's float32 dot product starts its vector
			// loop at an aligned address, so its sums depend on where the
			// copied weight lies in memory, and float32 agrees to rounding.
			for j := range want[0] {
				if got[0][j] != want[0][j] && (dt == tensor.Float64 || relDiff64(t, got[0], want[0]) > 1e-6) {
					t.Fatalf("X·theta[%d] = %v, original %v", j, got[0][j], want[0][j])
				}
			}
			for i := 1; i < len(want); i++ {
				if d := relDiff64(t, got[i], want[i]); d > 1e-6 {
					t.Fatalf("product %d differs from the original by %g", i, d)
				}
			}
			if err := res.Layers.SetMode(ops.Quantized); err != nil {
				t.Fatal(err)
			}
			learn, err := res.Nodes(theta)
			if err != nil {
				t.Fatal(err)
			}
			losses := trainFor(t, res, res.Node(cost), learn, G.NewVanillaSolver(G.WithLearnRate(0.05)), 20, true)
			if !(losses[len(losses)-1] < 0.9*losses[0]) {
				t.Fatalf("losses %v do not fall by 10%%", losses)
			}
		})
	}
}
