package graph

import (
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// truncated is an approximate unsigned×signed multiplier that drops the
// low four bits of every product.
func truncated(t *testing.T) *lut.Table {
	t.Helper()
	tab, err := lut.Tabulate("trunc4", lut.Signs{X: lut.Unsigned, W: lut.Signed}, func(x, w int) int { return (x * w) &^ 15 })
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// trainSteps runs n Adam steps on the cost and returns the losses seen.
func trainSteps(t *testing.T, vm G.VM, solver G.Solver, cost *G.Node, learn G.Nodes, n int) []float32 {
	t.Helper()
	var losses []float32
	for i := 0; i < n; i++ {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, cost.Value().Data().(float32))
		if err := solver.Step(G.NodesToValueGrads(learn)); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
	}
	return losses
}

func TestAdamLowersTheLossAfterRewriting(t *testing.T) {
	for _, model := range []string{"mlp", "cnn"} {
		t.Run(model, func(t *testing.T) {
			var g *G.ExprGraph
			var cost *G.Node
			var params G.Nodes
			if model == "mlp" {
				m := buildMLP(t)
				g, cost, params = m.g, m.cost, G.Nodes{m.w0, m.b0, m.w1, m.b1}
			} else {
				m := buildCNN(t)
				g, cost, params = m.g, m.cost, G.Nodes{m.wc, m.wd, m.wf}
			}
			res, err := Rewrite(g, Options{Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			before := append([]float32(nil), params[0].Value().Data().([]float32)...)
			learn, err := res.Nodes(params...)
			if err != nil {
				t.Fatal(err)
			}
			newCost := res.Node(cost)
			if _, err := G.Grad(newCost, learn...); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(res.Graph, G.BindDualValues(learn...))
			defer vm.Close()
			solver := G.NewAdamSolver(G.WithLearnRate(0.01))

			// Quantization-aware training with exact multiplications.
			if err := res.Layers.SetMode(ops.Quantized); err != nil {
				t.Fatal(err)
			}
			qat := trainSteps(t, vm, solver, newCost, learn, 15)
			if !(qat[len(qat)-1] < 0.9*qat[0]) {
				t.Fatalf("QAT losses %v do not fall by 10%%", qat)
			}
			// Then with the approximate multiplier, same machine.
			if err := res.Layers.SetTable(truncated(t)); err != nil {
				t.Fatal(err)
			}
			if err := res.Layers.SetMode(ops.Approximate); err != nil {
				t.Fatal(err)
			}
			approx := trainSteps(t, vm, solver, newCost, learn, 15)
			if !(approx[len(approx)-1] < approx[0]) {
				t.Fatalf("approximate-aware losses %v do not fall", approx)
			}
			// Training moved the new weights and left the original's alone.
			orig := params[0].Value().Data().([]float32)
			trained := learn[0].Value().Data().([]float32)
			changed := false
			for i := range orig {
				if orig[i] != before[i] {
					t.Fatalf("training the rewritten graph changed the original weight %s", params[0].Name())
				}
				changed = changed || trained[i] != before[i]
			}
			if !changed {
				t.Fatal("the rewritten weight did not change in training")
			}
		})
	}
}
