package graph

import (
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/nn"
)

// TestSetTrainingSwitchesEverything checks that Result.SetTraining and
// Evaluate reach every part of a graph that computes differently in
// training: the layers, GoApprox's batch norm and dropout, and Gorgonia's
// batch norm, whose running statistics survive the switch back to
// training (Gorgonia's own SetTraining(true) resets them to 0 and 1).
func TestSetTrainingSwitchesEverything(t *testing.T) {
	for _, dt := range dtypes {
		t.Run(dt.String(), func(t *testing.T) {
			g, _, out, cost := everyConstruct(t, dt)
			// A GoApprox batch norm and dropout beside Gorgonia's.
			y := leafOf(g, tensor.Float32, "y", 60, 1, 4, 3)
			state := nn.NewBatchNormState(3)
			bn, err := nn.BatchNorm(y, leafOf(g, tensor.Float32, "s", 61, 1, 3), leafOf(g, tensor.Float32, "b", 62, 1, 3), state)
			if err != nil {
				t.Fatal(err)
			}
			dropped, _, err := nn.Dropout(bn, 0.5, 3)
			if err != nil {
				t.Fatal(err)
			}
			extra := G.Must(G.Sum(dropped))
			res, err := Rewrite(g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.GorgoniaBatchNorms) != 1 || len(res.BatchNorms) != 1 || res.BatchNorms[0] != state {
				t.Fatalf("found %d gorgonia and %d nn batch norms, want 1 each (the nn one with the model's state)", len(res.GorgoniaBatchNorms), len(res.BatchNorms))
			}
			if !res.Training() {
				t.Fatal("a new Result is not in training mode")
			}
			// Train once so that Gorgonia's running statistics move.
			vm := G.NewTapeMachine(res.Graph)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			vm.Reset()
			mean, variance := res.GorgoniaBatchNorms[0].Stats()
			m0, v0 := mean.Clone().(tensor.Tensor), variance.Clone().(tensor.Tensor)
			if allEqual(m0, 0) {
				t.Fatal("a training run left the running mean at 0: the test would not see a reset")
			}

			restore := res.Evaluate()
			if len(res.Dropouts) != 1 {
				t.Fatalf("%d dropouts found, want the graph's one", len(res.Dropouts))
			}
			if res.Training() || state.Training || res.Layers.Layers()[0].Training() || res.Dropouts[0].Training {
				t.Fatal("Evaluate left a part in training mode")
			}
			// In evaluation the outputs repeat exactly: batch norm uses its
			// running statistics, dropout passes everything.
			first := runOnce(t, vm, res.Node(out), res.Node(cost), res.Node(extra))
			second := runOnce(t, vm, res.Node(out), res.Node(cost), res.Node(extra))
			for i := range first {
				if !slices.Equal(first[i], second[i]) {
					t.Fatalf("output %d differs between two evaluation runs", i)
				}
			}
			restore()
			if !res.Training() || !state.Training {
				t.Fatal("restore did not put training mode back")
			}
			mean, variance = res.GorgoniaBatchNorms[0].Stats()
			if !tensorsEqual(mean, m0) || !tensorsEqual(variance, v0) {
				t.Fatal("switching back to training lost Gorgonia's running statistics")
			}
		})
	}
}

func runOnce(t *testing.T, vm G.VM, nodes ...*G.Node) [][]float64 {
	t.Helper()
	defer vm.Reset()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, len(nodes))
	for i, n := range nodes {
		out[i] = floats64(t, n.Value())
	}
	return out
}

func allEqual(x tensor.Tensor, v float64) bool {
	for _, e := range asFloat64s(x) {
		if e != v {
			return false
		}
	}
	return true
}

func tensorsEqual(a, b tensor.Tensor) bool { return slices.Equal(asFloat64s(a), asFloat64s(b)) }

func asFloat64s(x tensor.Tensor) []float64 {
	switch d := x.Data().(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}
