package graph_test

import (
	"fmt"
	"log"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/graph"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// glorot draws a float64 tensor from N(0, 2/(fanIn+fanOut)) with rng: the
// seeded counterpart of gorgonia.GlorotN(1.0), which seeds from the clock.
func glorot(rng *rand.Rand, fanIn, fanOut int, shape ...int) *tensor.Dense {
	std := math.Sqrt(2 / float64(fanIn+fanOut))
	data := make([]float64, tensor.Shape(shape).TotalSize())
	for i := range data {
		data[i] = rng.NormFloat64() * std
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// convnet is Gorgonia's examples/convnet model, with smaller images and
// channels so that the example runs in a second.
type convnet struct {
	g                  *G.ExprGraph
	w0, w1, w2, w3, w4 *G.Node
	d0, d1, d2, d3     float64
	out                *G.Node
}

func newConvNet(g *G.ExprGraph, rng *rand.Rand) *convnet {
	dt := tensor.Float64
	return &convnet{
		g:  g,
		w0: G.NewTensor(g, dt, 4, G.WithShape(8, 1, 3, 3), G.WithName("w0"), G.WithValue(glorot(rng, 9, 72, 8, 1, 3, 3))),
		w1: G.NewTensor(g, dt, 4, G.WithShape(16, 8, 3, 3), G.WithName("w1"), G.WithValue(glorot(rng, 72, 144, 16, 8, 3, 3))),
		w2: G.NewTensor(g, dt, 4, G.WithShape(16, 16, 3, 3), G.WithName("w2"), G.WithValue(glorot(rng, 144, 144, 16, 16, 3, 3))),
		w3: G.NewMatrix(g, dt, G.WithShape(16, 32), G.WithName("w3"), G.WithValue(glorot(rng, 16, 32, 16, 32))),
		w4: G.NewMatrix(g, dt, G.WithShape(32, 4), G.WithName("w4"), G.WithValue(glorot(rng, 32, 4, 32, 4))),
		d0: 0.2, d1: 0.2, d2: 0.2, d3: 0.55,
	}
}

func (m *convnet) learnables() G.Nodes { return G.Nodes{m.w0, m.w1, m.w2, m.w3, m.w4} }

func (m *convnet) fwd(x *G.Node) {
	layer := func(in, w *G.Node, drop float64) *G.Node {
		c := G.Must(G.Conv2d(in, w, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))
		p := G.Must(G.MaxPool2D(G.Must(G.Rectify(c)), tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
		if drop == 0 {
			return p
		}
		return G.Must(G.Dropout(p, drop))
	}
	l0 := layer(x, m.w0, m.d0)
	l1 := layer(l0, m.w1, m.d1)
	p2 := layer(l1, m.w2, 0)
	b, c, h, w := p2.Shape()[0], p2.Shape()[1], p2.Shape()[2], p2.Shape()[3]
	r2 := G.Must(G.Reshape(p2, tensor.Shape{b, c * h * w}))
	l2 := G.Must(G.Dropout(r2, m.d2))
	l3 := G.Must(G.Dropout(G.Must(G.Rectify(G.Must(G.Mul(l2, m.w3)))), m.d3))
	m.out = G.Must(G.SoftMax(G.Must(G.Mul(l3, m.w4))))
}

// stripes are synthetic images of four classes (vertical, horizontal and
// two diagonal stripes, with noise) and their one-hot labels.
func stripes(rng *rand.Rand, n int) (x, y *tensor.Dense) {
	xs, ys := make([]float64, n*12*12), make([]float64, n*4)
	for i := range n {
		class := i % 4
		ys[i*4+class] = 1
		for r := range 12 {
			for c := range 12 {
				k := [4]int{c, r, r + c, r - c + 12}[class]
				xs[i*144+r*12+c] = float64(k%4/2) + 0.3*rng.NormFloat64()
			}
		}
	}
	return tensor.New(tensor.WithShape(n, 1, 12, 12), tensor.WithBacking(xs)), tensor.New(tensor.WithShape(n, 4), tensor.WithBacking(ys))
}

// Gorgonia's convnet program (examples/convnet: three convolutions with
// max-pooling and dropout, two dense layers, softmax, float64, RMSProp, a
// precompiled TapeMachine) made approximate. The lines a user adds are
// marked "GoApprox:". The data are synthetic, the weights come from a
// seeded generator, and the cost takes the log of the softmax before the
// one-hot product (the example's log of the product is -Inf off the
// labels).
func Example_convnet() {
	rng := rand.New(rand.NewSource(1337))
	bs := 16
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(bs, 1, 12, 12), G.WithName("x"))
	y := G.NewMatrix(g, tensor.Float64, G.WithShape(bs, 4), G.WithName("y"))
	m := newConvNet(g, rng)
	m.fwd(x)
	losses := G.Must(G.HadamardProd(G.Must(G.Log(m.out)), y))
	cost := G.Must(G.Neg(G.Must(G.Mean(losses))))

	// GoApprox: rewrite before gorgonia.Grad and gorgonia.Read, and go on
	// with the rewritten nodes. Gorgonia's dropouts become seeded ones.
	res, err := graph.Rewrite(g, graph.Options{Preset: "unsigned", Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("approximate layers:", res.Layers.Names())
	learnables, err := res.Nodes(m.learnables()...) // GoApprox
	if err != nil {
		log.Fatal(err)
	}
	x, y, cost = res.Node(x), res.Node(y), res.Node(cost) // GoApprox

	var costVal G.Value
	G.Read(cost, &costVal)
	if _, err = G.Grad(cost, learnables...); err != nil {
		log.Fatal(err)
	}
	prog, locMap, err := G.Compile(res.Graph) // GoApprox: res.Graph
	if err != nil {
		log.Fatal(err)
	}
	vm := G.NewTapeMachine(res.Graph, G.WithPrecompiled(prog, locMap), G.BindDualValues(learnables...)) // GoApprox: res.Graph
	solver := G.NewRMSPropSolver(G.WithBatchSize(float64(bs)))
	defer vm.Close()

	inputs, targets := stripes(rng, 4*bs)
	// epoch trains on every batch once and returns the mean cost.
	epoch := func() float64 {
		var sum float64
		for b := range 4 {
			xVal, err := inputs.Slice(G.S(b*bs, (b+1)*bs))
			if err != nil {
				log.Fatal(err)
			}
			yVal, err := targets.Slice(G.S(b*bs, (b+1)*bs))
			if err != nil {
				log.Fatal(err)
			}
			if err := G.Let(x, xVal.(*tensor.Dense).Materialize()); err != nil {
				log.Fatal(err)
			}
			if err := G.Let(y, yVal.(*tensor.Dense).Materialize()); err != nil {
				log.Fatal(err)
			}
			if err := vm.RunAll(); err != nil {
				log.Fatal(err)
			}
			if err := solver.Step(G.NodesToValueGrads(learnables)); err != nil {
				log.Fatal(err)
			}
			vm.Reset()
			sum += costVal.Data().(float64)
		}
		return sum / 4
	}
	train := func(what string, epochs int) {
		first := epoch()
		var last float64
		for range epochs - 1 {
			last = epoch()
		}
		fmt.Printf("%s: the cost falls %t\n", what, last < first)
	}

	// GoApprox: quantization-aware training, then retraining on an
	// approximate multiplier (products with the low three bits dropped).
	if err := res.Layers.SetMode(ops.Quantized); err != nil {
		log.Fatal(err)
	}
	train("quantized", 6)
	approx, err := lut.Tabulate("trunc3", lut.Both(lut.Unsigned), func(a, b int) int { return a * b &^ 7 })
	if err != nil {
		log.Fatal(err)
	}
	if err := res.Layers.SetTable(approx); err != nil { // GoApprox
		log.Fatal(err)
	}
	if err := res.Layers.SetMode(ops.Approximate); err != nil { // GoApprox
		log.Fatal(err)
	}
	train("approximate", 6)
	// Output:
	// approximate layers: [w0 w1 w2 w3 w4]
	// quantized: the cost falls true
	// approximate: the cost falls true
}
