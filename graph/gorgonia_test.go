package graph

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// gorgoniaConvnet is Gorgonia's examples/convnet model, smaller: three
// convolutions with ReLU and max-pooling, dropout, a hidden dense layer,
// softmax, and the cost -mean(log(softmax) ⊙ onehot), built the way that
// example builds it.
type gorgoniaConvnet struct {
	g            *G.ExprGraph
	x, y         *G.Node
	w            G.Nodes
	out, cost    *G.Node
	batch, class int
}

func buildGorgoniaConvnet(t *testing.T, dt tensor.Dtype, dropout bool) *gorgoniaConvnet {
	t.Helper()
	g := G.NewGraph()
	m := &gorgoniaConvnet{g: g, batch: 8, class: 4}
	m.x = leafOf(g, dt, "x", 41, 1, m.batch, 1, 12, 12)
	oh := seededOf(dt, 0, 0, m.batch, m.class)
	for i := range m.batch {
		oh.Set(i*m.class+i%m.class, convertTo(dt, 1))
	}
	m.y = G.NewMatrix(g, dt, G.WithShape(m.batch, m.class), G.WithName("y"), G.WithValue(oh))
	m.w = G.Nodes{
		leafOf(g, dt, "w0", 42, 1, 4, 1, 3, 3),
		leafOf(g, dt, "w1", 43, 0.6, 8, 4, 3, 3),
		leafOf(g, dt, "w2", 44, 0.5, 8, 8, 3, 3),
		leafOf(g, dt, "w3", 45, 1, 8, 16),
		leafOf(g, dt, "w4", 46, 1, 16, m.class),
	}
	drop := func(n *G.Node, p float64) *G.Node {
		if !dropout {
			return n
		}
		return G.Must(G.Dropout(n, p))
	}
	h := m.x
	for i := range 3 {
		c := G.Must(G.Conv2d(h, m.w[i], tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))
		h = G.Must(G.MaxPool2D(G.Must(G.Rectify(c)), tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
		if i < 2 {
			h = drop(h, 0.2)
		}
	}
	s := h.Shape()
	h = drop(G.Must(G.Reshape(h, tensor.Shape{s[0], s[1] * s[2] * s[3]})), 0.2)
	h = drop(G.Must(G.Rectify(G.Must(G.Mul(h, m.w[3])))), 0.55)
	m.out = G.Must(G.SoftMax(G.Must(G.Mul(h, m.w[4]))))
	// The example takes log(out ⊙ y), which is -Inf wherever y is 0; the
	// log of the softmax first is what it means.
	m.cost = G.Must(G.Neg(G.Must(G.Mean(G.Must(G.HadamardProd(G.Must(G.Log(m.out)), m.y))))))
	return m
}

// Gorgonia's convnet example, float64, with its Dropout, RMSProp solver and
// precompiled TapeMachine, rewritten and trained a few steps in every
// mode.
func TestGorgoniaConvnetTrainsInEveryMode(t *testing.T) {
	for _, mode := range []ops.Mode{ops.Float, ops.Quantized, ops.Noise, ops.Approximate, ops.Surrogate, ops.Observe} {
		t.Run(mode.String(), func(t *testing.T) {
			m := buildGorgoniaConvnet(t, tensor.Float64, true)
			res, err := Rewrite(m.g, Options{Preset: "unsigned", Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(res.Layers.Names(), " "); got != "w0 w1 w2 w3 w4" {
				t.Fatalf("layers %s", got)
			}
			tab, err := lut.Tabulate("trunc3", lut.Both(lut.Unsigned), func(a, b int) int { return a * b &^ 7 })
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Layers.SetTable(tab); err != nil {
				t.Fatal(err)
			}
			if err := res.Layers.SetSurrogateRank(4, false); err != nil {
				t.Fatal(err)
			}
			if err := res.Layers.SetNoise(0.05, 0); err != nil {
				t.Fatal(err)
			}
			if err := res.Layers.SetMode(mode); err != nil {
				t.Fatal(err)
			}
			learn, err := res.Nodes(m.w...)
			if err != nil {
				t.Fatal(err)
			}
			cost := res.Node(m.cost)
			if _, err := G.Grad(cost, learn...); err != nil {
				t.Fatal(err)
			}
			// The loss is measured in evaluation (no dropout, no noise) on
			// a machine of its own, which binds no gradients.
			eval := G.NewTapeMachine(res.Graph)
			defer eval.Close()
			loss := func() float64 {
				res.SetTraining(false)
				defer res.SetTraining(true)
				if err := eval.RunAll(); err != nil {
					t.Fatal(err)
				}
				defer eval.Reset()
				return floats64(t, cost.Value())[0]
			}
			prog, locMap, err := G.Compile(res.Graph)
			if err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(res.Graph, G.WithPrecompiled(prog, locMap), G.BindDualValues(learn...))
			defer vm.Close()
			solver := G.NewRMSPropSolver(G.WithBatchSize(float64(m.batch))) // as the example makes it
			// A training run of the machine that binds no gradients
			// calibrates the observers.
			if err := eval.RunAll(); err != nil {
				t.Fatal(err)
			}
			eval.Reset()
			before := loss()
			for range 30 {
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				if l := floats64(t, cost.Value())[0]; math.IsNaN(l) || math.IsInf(l, 0) {
					t.Fatalf("training loss %v", l)
				}
				if err := solver.Step(G.NodesToValueGrads(learn)); err != nil {
					t.Fatal(err)
				}
				vm.Reset()
			}
			if after := loss(); !(after < 0.5*before) {
				t.Fatalf("the loss went from %v to %v", before, after)
			}
		})
	}
}

// everyConstruct builds, in dtype dt, a network using what Gorgonia users
// put around layers: BatchNorm with its scale and bias, Rectify,
// MaxPool2D, Reshape, Mul with Add of a bias and BroadcastAdd, a
// HadamardProd gate, SoftMax and LogSoftMax, Sum and Mean.
func everyConstruct(t *testing.T, dt tensor.Dtype) (g *G.ExprGraph, learn G.Nodes, out, cost *G.Node) {
	t.Helper()
	g = G.NewGraph()
	x := leafOf(g, dt, "x", 51, 1, 6, 2, 6, 6)
	wc := leafOf(g, dt, "conv", 52, 0.6, 4, 2, 3, 3)
	scale := leafOf(g, dt, "bn.scale", 53, 0.2, 1, 4, 1, 1)
	shift := leafOf(g, dt, "bn.bias", 54, 0.2, 1, 4, 1, 1)
	wf := leafOf(g, dt, "fc", 55, 0.5, 36, 5)
	bias := leafOf(g, dt, "fc.bias", 56, 0.1, 6, 5)
	rowBias := leafOf(g, dt, "fc.rowbias", 57, 0.1, 5)
	gate := leafOf(g, dt, "gate", 58, 1, 6, 5)
	target := leafOf(g, dt, "target", 59, 1, 6, 5)
	c := G.Must(G.Conv2d(x, wc, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))
	bn, _, _, _, err := G.BatchNorm(c, scale, shift, 0.9, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	p := G.Must(G.MaxPool2D(G.Must(G.Rectify(bn)), tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
	flat := G.Must(G.Reshape(p, tensor.Shape{6, 36}))
	h := G.Must(G.Add(G.Must(G.Mul(flat, wf)), bias))
	h = G.Must(G.BroadcastAdd(h, rowBias, nil, []byte{0}))
	h = G.Must(G.HadamardProd(h, G.Must(G.SoftMax(gate))))
	out = G.Must(G.LogSoftMax(h))
	sq := G.Must(G.Square(G.Must(G.Sub(G.Must(G.Exp(out)), G.Must(G.SoftMax(target))))))
	cost = G.Must(G.Add(G.Must(G.Mean(sq)), G.Must(G.Mul(G.Must(G.Sum(sq)), convertNode(g, dt, 1e-3)))))
	return g, G.Nodes{wc, scale, shift, wf, bias, rowBias}, out, cost
}

func convertNode(g *G.ExprGraph, dt tensor.Dtype, v float64) *G.Node {
	if dt == tensor.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}

// TestEveryConstructIsCopied rewrites everyConstruct's network in both
// dtypes: in Float mode it computes the original's outputs bit for bit, and
// in Quantized mode each of Gorgonia's solvers lowers its loss, on a
// TapeMachine compiled beforehand (WithPrecompiled).
func TestEveryConstructIsCopied(t *testing.T) {
	solvers := map[string]func() G.Solver{
		"RMSProp":  func() G.Solver { return G.NewRMSPropSolver(G.WithLearnRate(0.003)) },
		"Adam":     func() G.Solver { return G.NewAdamSolver(G.WithLearnRate(0.01)) },
		"Vanilla":  func() G.Solver { return G.NewVanillaSolver(G.WithLearnRate(40)) },
		"Momentum": func() G.Solver { return G.NewMomentum(G.WithLearnRate(10)) },
	}
	for _, dt := range dtypes {
		for _, name := range []string{"RMSProp", "Adam", "Vanilla", "Momentum"} {
			t.Run(dt.String()+"/"+name, func(t *testing.T) {
				g, learn, out, cost := everyConstruct(t, dt)
				res, err := Rewrite(g, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(res.Layers.Names(), " "); got != "conv fc" {
					t.Fatalf("layers %s, want conv fc", got)
				}
				want := run64(t, g, out, cost)
				got := run64(t, res.Graph, res.Node(out), res.Node(cost))
				for i := range want {
					for j := range want[i] {
						if got[i][j] != want[i][j] {
							t.Fatalf("Float mode: output %d[%d] = %v, original %v", i, j, got[i][j], want[i][j])
						}
					}
				}
				if err := res.Layers.SetMode(ops.Quantized); err != nil {
					t.Fatal(err)
				}
				newLearn, err := res.Nodes(learn...)
				if err != nil {
					t.Fatal(err)
				}
				losses := trainFor(t, res, res.Node(cost), newLearn, solvers[name](), 15, true)
				if !(losses[len(losses)-1] < 0.9*losses[0]) {
					t.Fatalf("losses %v do not fall by 10%%", losses)
				}
			})
		}
	}
}

// Gorgonia's logistic regression program (examples/logisticregression):
// Mul(x, w) with a weight vector, a scalar bias, a Gt prediction, a
// cross-entropy with an L2 term, gradient descent written as graph nodes,
// CompileFunction, a precompiled machine, Let and Set. Rewritten before
// gorgonia.Grad and gorgonia.Read, and trained in Quantized mode.
func TestGorgoniaLogisticRegression(t *testing.T) {
	const n, feats = 200, 6
	rng := rand.New(rand.NewSource(3))
	xs, ys := make([]float64, n*feats), make([]float64, n)
	truth := []float64{1.5, -2, 0.5, 1, -1, 0.8}
	for i := range n {
		var s float64
		for f := range feats {
			v := rng.NormFloat64()
			xs[i*feats+f], s = v, s+v*truth[f]
		}
		if s > 0 {
			ys[i] = 1
		}
	}
	xT := tensor.New(tensor.WithShape(n, feats), tensor.WithBacking(xs))
	yT := tensor.New(tensor.WithShape(n), tensor.WithBacking(ys))
	wT := tensor.New(tensor.WithShape(feats), tensor.WithBacking(make([]float64, feats)))

	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float64, G.WithName("x"), G.WithShape(n, feats))
	y := G.NewVector(g, G.Float64, G.WithName("y"), G.WithShape(n))
	w := G.NewVector(g, G.Float64, G.WithName("w"), G.WithShape(feats))
	b := G.NewScalar(g, G.Float64, G.WithName("bias"))
	one := G.NewConstant(1.0)
	prob := G.Must(G.Sigmoid(G.Must(G.Add(G.Must(G.Mul(x, w)), b))))
	pred := G.Must(G.Gt(prob, G.NewConstant(0.5), false))
	fst := G.Must(G.HadamardProd(G.Must(G.Neg(y)), G.Must(G.Log(prob))))
	snd := G.Must(G.HadamardProd(G.Must(G.Sub(one, y)), G.Must(G.Log(G.Must(G.Sub(one, prob))))))
	loss := G.Must(G.Mean(G.Must(G.Sub(fst, snd))))
	cost := G.Must(G.Add(loss, G.Must(G.Mul(G.NewConstant(0.01), G.Must(G.Sum(G.Must(G.Square(w))))))))

	res, err := Rewrite(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Layers.Names(), " "); got != "w" {
		t.Fatalf("layers %s, want w", got)
	}
	if err := res.Layers.SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	nodes, err := res.Nodes(x, y, w, b, pred, cost)
	if err != nil {
		t.Fatal(err)
	}
	x, y, w, b, pred, cost = nodes[0], nodes[1], nodes[2], nodes[3], nodes[4], nodes[5]
	var predicted G.Value
	readNode := G.Read(pred, &predicted)
	grads, err := G.Grad(cost, w, b)
	if err != nil {
		t.Fatal(err)
	}
	lr := G.NewConstant(0.5)
	wUpd := G.Must(G.Sub(w, G.Must(G.Mul(lr, grads[0]))))
	bUpd := G.Must(G.Sub(b, G.Must(G.Mul(lr, grads[1]))))
	prog, locMap, err := G.CompileFunction(res.Graph, G.Nodes{x, y}, G.Nodes{wUpd, bUpd, readNode})
	if err != nil {
		t.Fatal(err)
	}
	machine := G.NewTapeMachine(res.Graph, G.WithPrecompiled(prog, locMap))
	defer machine.Close()
	if err := machine.Let(w, wT); err != nil {
		t.Fatal(err)
	}
	if err := machine.Let(b, 0.0); err != nil {
		t.Fatal(err)
	}
	accuracy := func() float64 {
		ok := 0
		for i, p := range predicted.Data().([]bool) {
			if p == (ys[i] == 1) {
				ok++
			}
		}
		return float64(ok) / n
	}
	var first, last float64
	for i := range 60 {
		machine.Reset()
		if err := machine.Let(x, xT); err != nil {
			t.Fatal(err)
		}
		if err := machine.Let(y, yT); err != nil {
			t.Fatal(err)
		}
		if err := machine.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := machine.Set(w, wUpd); err != nil {
			t.Fatal(err)
		}
		if err := machine.Set(b, bUpd); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = accuracy()
		}
		last = accuracy()
	}
	if !(last > 0.9 && last > first) {
		t.Fatalf("accuracy went from %v to %v", first, last)
	}
}
