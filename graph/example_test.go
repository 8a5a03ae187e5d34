package graph_test

import (
	"fmt"
	"log"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/graph"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// randomTensor draws a seeded float32 tensor uniformly from [-scale, scale].
func randomTensor(rng *rand.Rand, scale float64, shape ...int) *tensor.Dense {
	data := make([]float32, tensor.Shape(shape).TotalSize())
	for i := range data {
		data[i] = float32((2*rng.Float64() - 1) * scale)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// train runs Adam steps and reports whether the loss fell.
func train(vm G.VM, solver G.Solver, cost *G.Node, learn G.Nodes, steps int) (first, last float32) {
	for i := 0; i < steps; i++ {
		if err := vm.RunAll(); err != nil {
			log.Fatal(err)
		}
		loss := cost.Value().Data().(float32)
		if i == 0 {
			first = loss
		}
		last = loss
		if err := solver.Step(G.NodesToValueGrads(learn)); err != nil {
			log.Fatal(err)
		}
		vm.Reset()
	}
	return first, last
}

// The whole flow: build an ordinary Gorgonia graph, rewrite it, train with
// accurate multiplications (quantization-aware training), then switch every
// layer to an approximate multiplier and train on (approximation-aware
// retraining), all on the same graph and machine.
func Example() {
	rng := rand.New(rand.NewSource(1))

	// 1. An ordinary two-layer perceptron, as any Gorgonia user writes it.
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float32, G.WithShape(32, 8), G.WithName("x"), G.WithValue(randomTensor(rng, 1, 32, 8)))
	target := G.NewMatrix(g, G.Float32, G.WithShape(32, 2), G.WithName("target"), G.WithValue(randomTensor(rng, 1, 32, 2)))
	w1 := G.NewMatrix(g, G.Float32, G.WithShape(8, 16), G.WithName("fc1"), G.WithValue(randomTensor(rng, 0.5, 8, 16)))
	w2 := G.NewMatrix(g, G.Float32, G.WithShape(16, 2), G.WithName("fc2"), G.WithValue(randomTensor(rng, 0.5, 16, 2)))
	h := G.Must(G.Rectify(G.Must(G.Mul(x, w1))))
	out := G.Must(G.Mul(h, w2))
	cost := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(out, target))))))

	// 2. Rewrite it: every Mul with a weight becomes an approximate layer.
	// The "unsigned" preset suits unsigned multipliers such as EvoApprox's
	// mul8u tables.
	res, err := graph.Rewrite(g, graph.Options{Preset: "unsigned", Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range res.Layers.Layers() {
		fmt.Printf("%s: %s, fan-in %d, %d multiplications per sample\n", l.Name(), l.Kind(), l.FanIn(), l.MulsPerSample())
	}

	// 3. Differentiate the new cost with respect to the new weights.
	learn, err := res.Nodes(w1, w2)
	if err != nil {
		log.Fatal(err)
	}
	newCost := res.Node(cost)
	if _, err := G.Grad(newCost, learn...); err != nil {
		log.Fatal(err)
	}
	vm := G.NewTapeMachine(res.Graph, G.BindDualValues(learn...))
	defer vm.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(0.01))

	// 4. Quantization-aware training: quantized operands, exact products.
	if err := res.Layers.SetMode(ops.Quantized); err != nil {
		log.Fatal(err)
	}
	first, last := train(vm, solver, newCost, learn, 40)
	fmt.Println("QAT lowers the loss:", last < first)

	// 5. Every layer on an approximate multiplier (here one that drops the
	// low four bits of each product), same graph, same machine.
	approx, err := lut.Tabulate("trunc4", lut.Both(lut.Unsigned), func(a, b int) int { return a * b &^ 15 })
	if err != nil {
		log.Fatal(err)
	}
	if err := res.Layers.SetTable(approx); err != nil {
		log.Fatal(err)
	}
	if err := res.Layers.SetMode(ops.Approximate); err != nil {
		log.Fatal(err)
	}
	first, last = train(vm, solver, newCost, learn, 40)
	fmt.Println("approximate retraining lowers the loss:", last < first)
	// Output:
	// fc1: linear, fan-in 8, 128 multiplications per sample
	// fc2: linear, fan-in 16, 32 multiplications per sample
	// QAT lowers the loss: true
	// approximate retraining lowers the loss: true
}

// Choosing layers and tables: convert all but the first layer, then give
// one layer its own multiplier.
func ExampleRewrite_selectingLayers() {
	rng := rand.New(rand.NewSource(2))
	g := G.NewGraph()
	img := G.NewTensor(g, G.Float32, 4, G.WithShape(1, 1, 8, 8), G.WithName("img"), G.WithValue(randomTensor(rng, 1, 1, 1, 8, 8)))
	k1 := G.NewTensor(g, G.Float32, 4, G.WithShape(4, 1, 3, 3), G.WithName("conv1"), G.WithValue(randomTensor(rng, 0.3, 4, 1, 3, 3)))
	k2 := G.NewTensor(g, G.Float32, 4, G.WithShape(4, 4, 3, 3), G.WithName("conv2"), G.WithValue(randomTensor(rng, 0.3, 4, 4, 3, 3)))
	fc := G.NewMatrix(g, G.Float32, G.WithShape(64, 10), G.WithName("fc"), G.WithValue(randomTensor(rng, 0.1, 64, 10)))
	c1 := G.Must(G.Rectify(G.Must(G.Conv2d(img, k1, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))))
	c2 := G.Must(G.Rectify(G.Must(G.Conv2d(c1, k2, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))))
	pooled := G.Must(G.MaxPool2D(c2, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
	logits := G.Must(G.Mul(G.Must(G.Reshape(pooled, tensor.Shape{1, 64})), fc))

	res, err := graph.Rewrite(g, graph.Options{SkipFirst: true, Preset: "unsigned"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("approximate layers:", res.Layers.Names())

	exact := lut.ExactTable(lut.Both(lut.Unsigned))
	rough, err := lut.Tabulate("trunc6", lut.Both(lut.Unsigned), func(a, b int) int { return a * b &^ 63 })
	if err != nil {
		log.Fatal(err)
	}
	// Every layer: the exact table; layer conv2: the rough one.
	if err := res.Layers.SetTable(exact); err != nil {
		log.Fatal(err)
	}
	if err := res.Layers.SetTable(rough, "conv2"); err != nil {
		log.Fatal(err)
	}
	if err := res.Layers.SetMode(ops.Approximate); err != nil {
		log.Fatal(err)
	}
	for _, l := range res.Layers.Layers() {
		fmt.Printf("%s: %v with %s\n", l.Name(), l.Mode(), l.Table().Name())
	}
	vm := G.NewTapeMachine(res.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("logits shape:", res.Node(logits).Value().Shape())
	// Output:
	// approximate layers: [conv2 fc]
	// conv2: approximate with trunc6
	// fc: approximate with exact
	// logits shape: (1, 10)
}
