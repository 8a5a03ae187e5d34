package train

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/nn"
)

// tinyData is 32 samples of 6 features in 2 classes.
func tinyData() *dataset.Dataset {
	d := &dataset.Dataset{Name: "tiny", C: 1, H: 2, W: 3, Classes: 2, Labels: make([]int, 32), Images: make([]float32, 32*6)}
	for i := range d.Labels {
		d.Labels[i] = i % 2
		for j := 0; j < 6; j++ {
			d.Images[6*i+j] = float32((i%2)*2-1) * float32(j+1) / 6
		}
	}
	return d
}

// tinyModel is x·W (+ batch norm when bn) with the given output width.
func tinyModel(batch, out int, bn bool) *Model {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(batch, 6), G.WithName("x"))
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(6, out), G.WithName("fc"), G.WithInit(G.ValuesOf(float32(0.1))))
	y := G.Must(G.Mul(x, w))
	params := G.Nodes{w}
	if bn {
		scale := G.NewVector(g, tensor.Float32, G.WithShape(out), G.WithName("fc.bn.scale"), G.WithInit(G.ValuesOf(float32(1))))
		shift := G.NewVector(g, tensor.Float32, G.WithShape(out), G.WithName("fc.bn.shift"), G.WithInit(G.Zeroes()))
		y = G.Must(nn.BatchNorm(y, scale, shift, nn.NewBatchNormState(out)))
		params = append(params, scale, shift)
	}
	return &Model{Graph: g, Input: x, Logits: y, Params: params}
}

func tinyConfig() Config {
	c := DefaultConfig()
	c.Model, c.Dataset, c.Batch, c.QATEpochs, c.Threads = "tiny", "tiny", 8, 1, 1
	return c
}

// TestUserModel trains a hand-built graph given with WithGraph, and finds
// its batch norm by the op, named after the scale node.
func TestUserModel(t *testing.T) {
	d := tinyData()
	tn, err := New(tinyConfig(), WithGraph(tinyModel(8, 2, true)), WithData(d, d))
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if len(tn.batchNorms) != 1 || tn.batchNorms[0].Name != "fc.bn" {
		t.Fatalf("batch norms %+v, want one named fc.bn", tn.batchNorms)
	}
	if tn.Net() != nil || tn.Model() == nil {
		t.Fatal("a user model reports a zoo net, or no model")
	}
	res, err := tn.Run("")
	if err != nil {
		t.Fatal(err)
	}
	if res.Accuracy.QAT == nil || *res.Accuracy.QAT != 1 {
		t.Fatalf("QAT accuracy %v on a separable set, want 1", res.Accuracy.QAT)
	}
}

// TestUserModelErrors checks that a model that does not fit the data or
// the batch, or lacks what the trainer needs, is refused with a message
// saying what to change.
func TestUserModelErrors(t *testing.T) {
	d := tinyData()
	noParams := tinyModel(8, 2, false)
	noParams.Params = nil
	dup := tinyModel(8, 2, true)
	dup.Params[2] = dup.Params[1]
	noName := tinyConfig()
	noName.Model = ""
	for _, tc := range []struct {
		name string
		cfg  Config
		m    *Model
		want string
	}{
		{"classes", tinyConfig(), tinyModel(8, 3, false), "want (8, 2)"},
		{"batch", tinyConfig(), tinyModel(4, 2, false), "build the model for the batch size"},
		{"no parameters", tinyConfig(), noParams, "no parameters"},
		{"same name twice", tinyConfig(), dup, "two parameters are named"},
		{"no name", noName, tinyModel(8, 2, false), "name the model"},
		{"no graph", tinyConfig(), &Model{}, "needs a graph"},
	} {
		_, err := New(tc.cfg, WithGraph(tc.m), WithData(d, d))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestScheduleReachesTheSteps checks the rate of each epoch's first step
// for a multistep schedule with warm-up and for SGD with Nesterov
// momentum and weight decay: 4 steps an epoch, warm-up over the first
// epoch, the rate halved after epochs 1 and 2.
func TestScheduleReachesTheSteps(t *testing.T) {
	d := tinyData()
	cfg := tinyConfig()
	cfg.QATEpochs, cfg.LR = 3, 0.08
	cfg.Optimizer, cfg.WeightDecay, cfg.Nesterov = "sgd", 1e-4, true
	cfg.Schedule, cfg.Milestones, cfg.Gamma, cfg.WarmupEpochs = "multistep", []int{1, 2}, 0.5, 1
	tn, err := New(cfg, WithGraph(tinyModel(8, 2, true)), WithData(d, d))
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	res, err := tn.Run("")
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.08 * 0.25, 0.04, 0.02}
	for i, e := range res.Epochs {
		if math.Abs(e.LR-want[i]) > 1e-15 {
			t.Errorf("epoch %d: rate %v, want %v", e.Index, e.LR, want[i])
		}
	}
	if len(res.Epochs) != 3 {
		t.Fatalf("%d epochs, want 3", len(res.Epochs))
	}
}
