package engine_test

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/engine"
)

// A tape machine whose values use the engine: here x feeds two products,
// so Gorgonia sums their gradients with x's, on the engine's loops.
func Example() {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithBacking([]float32{1, 2, 3}))))
	y := G.Must(G.Add(G.Must(G.HadamardProd(x, x)), x))
	cost := G.Must(G.Sum(y))
	if _, err := G.Grad(cost, x); err != nil {
		panic(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(x), G.WithEngine(engine.New()))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		panic(err)
	}
	dx, _ := x.Grad()
	fmt.Println(dx.Data()) // d/dx (x² + x) = 2x + 1
	// Output: [3 5 7]
}
