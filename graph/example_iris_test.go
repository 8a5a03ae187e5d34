package graph_test

import (
	"fmt"
	"log"
	"math"
	"math/rand"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/graph"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// irisLike returns 150 samples of three classes (50 each) with four
// features around class centres, a column of ones for the bias, and the
// class numbers 1, 2, 3 as targets: the shape of Gorgonia's iris data.
func irisLike() (x, y *tensor.Dense) {
	rng := rand.New(rand.NewSource(7))
	centres := [3][4]float64{{5.0, 3.4, 1.5, 0.2}, {5.9, 2.8, 4.3, 1.3}, {6.6, 3.0, 5.6, 2.0}}
	xs, ys := make([]float64, 0, 150*5), make([]float64, 0, 150)
	for i := range 150 {
		c := i / 50
		for f := range 4 {
			xs = append(xs, centres[c][f]+0.3*rng.NormFloat64())
		}
		xs = append(xs, 1)
		ys = append(ys, float64(c+1))
	}
	return tensor.New(tensor.WithShape(150, 5), tensor.WithBacking(xs)), tensor.New(tensor.WithShape(150), tensor.WithBacking(ys))
}

// irisAccuracy counts the predictions that round to the class.
func irisAccuracy(pred, y []float64) float64 {
	ok := 0
	for i := range pred {
		if math.Round(pred[i]-y[i]) == 0 {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

// Gorgonia's iris program (examples/iris: linear regression of the class
// number on the four measurements, float64, theta a vector, Mul(X, theta),
// the vanilla solver) made approximate. The lines a user adds are marked
// "GoApprox:"; the data are synthetic, and theta starts from a seeded
// value rather than gorgonia.Gaussian, which seeds from the clock.
func Example_iris() {
	g := gorgonia.NewGraph()
	xT, yT := irisLike()
	X := gorgonia.NodeFromAny(g, xT, gorgonia.WithName("x"))
	Y := gorgonia.NodeFromAny(g, yT, gorgonia.WithName("y"))
	theta := gorgonia.NewVector(g, gorgonia.Float64, gorgonia.WithName("theta"), gorgonia.WithShape(5),
		gorgonia.WithValue(tensor.New(tensor.WithBacking([]float64{0.1, -0.2, 0.3, 0.1, 0}))))
	pred := gorgonia.Must(gorgonia.Mul(X, theta))
	squaredError := gorgonia.Must(gorgonia.Square(gorgonia.Must(gorgonia.Sub(pred, Y))))
	cost := gorgonia.Must(gorgonia.Mean(squaredError))

	// GoApprox: rewrite the graph; theta becomes a one-output approximate
	// layer. The program goes on with the rewritten nodes.
	res, err := graph.Rewrite(g, graph.Options{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("approximate layers:", res.Layers.Layers())
	theta, pred, cost = res.Node(theta), res.Node(pred), res.Node(cost) // GoApprox
	if err := res.Layers.SetMode(ops.Quantized); err != nil {           // GoApprox: quantization-aware training
		log.Fatal(err)
	}

	var predicted gorgonia.Value
	gorgonia.Read(pred, &predicted)
	if _, err := gorgonia.Grad(cost, theta); err != nil {
		log.Fatalf("Failed to backpropagate: %v", err)
	}
	machine := gorgonia.NewTapeMachine(res.Graph, gorgonia.BindDualValues(theta)) // GoApprox: res.Graph
	defer machine.Close()
	model := []gorgonia.ValueGrad{theta}
	solver := gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(0.01))

	train := func(iter int) (cost0, cost1, acc float64) {
		for i := range iter {
			if err := machine.RunAll(); err != nil {
				log.Fatal(err)
			}
			if err := solver.Step(model); err != nil {
				log.Fatal(err)
			}
			c := cost.Value().Data().(float64)
			if i == 0 {
				cost0 = c
			}
			cost1 = c
			acc = irisAccuracy(predicted.Data().([]float64), yT.Float64s())
			machine.Reset()
		}
		return cost0, cost1, acc
	}
	c0, c1, acc := train(2000)
	fmt.Printf("quantized: cost falls %t, accuracy above 0.9 %t\n", c1 < c0/10, acc > 0.9)

	// GoApprox: the same model on an approximate multiplier that drops the
	// low four bits of each product.
	approx, err := lut.Tabulate("trunc4", lut.Signs{X: lut.Unsigned, W: lut.Signed}, func(a, b int) int { return a * b &^ 15 })
	if err != nil {
		log.Fatal(err)
	}
	if err := res.Layers.SetTable(approx); err != nil { // GoApprox
		log.Fatal(err)
	}
	if err := res.Layers.SetMode(ops.Approximate); err != nil { // GoApprox
		log.Fatal(err)
	}
	_, _, acc = train(200)
	fmt.Printf("approximate: accuracy above 0.9 %t\n", acc > 0.9)
	// Output:
	// approximate layers: [linear theta(in 5, out 1, fan-in 5) float]
	// quantized: cost falls true, accuracy above 0.9 true
	// approximate: accuracy above 0.9 true
}
