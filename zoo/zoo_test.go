package zoo

import (
	"math"
	"reflect"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/graph"
	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/ops"
)

var mnistShape = Input{C: 1, H: 28, W: 28, Classes: 10}

// paramCount is the number of learnable values of a net.
func paramCount(n *Net) int {
	total := 0
	for _, p := range n.Params {
		total += p.Shape().TotalSize()
	}
	return total
}

// TestParameterCounts compares each model's size with a count made by hand
// from its architecture, so a wrong layer shape cannot go unnoticed.
func TestParameterCounts(t *testing.T) {
	bn := func(c int) int { return 2 * c }
	want := map[string]int{
		// conv1 6·1·25, conv2 16·6·25, fc1 400·120, fc2 120·84, fc3 84·10+10,
		// BN on 6, 16, 120, 84 channels. agn-approx reports 61.9 K.
		"lenet5": 150 + 2400 + 48000 + 10080 + 850 + bn(6) + bn(16) + bn(120) + bn(84),
		"mlp":    784*256 + 256*128 + 128*10 + 10 + bn(256) + bn(128),
		"resnet8": 16*9 + bn(16) + // stem
			2*16*16*9 + 2*bn(16) + // s1
			32*16*9 + 32*32*9 + 32*16 + 3*bn(32) + // s2 with 1x1 shortcut
			64*32*9 + 64*64*9 + 64*32 + 3*bn(64) + // s3
			64*10 + 10,
		"vgg": 32*9 + 32*32*9 + 64*32*9 + 64*64*9 + 128*64*9 + 2*bn(32) + 2*bn(64) + bn(128) +
			128*3*3*128 + bn(128) + 128*10 + 10,
	}
	// MobileNetV2: stem, six blocks, last conv, fc.
	mb := 16*9 + bn(16)
	in := 16
	for _, bl := range []struct{ t, c int }{{1, 16}, {4, 24}, {4, 24}, {4, 32}, {4, 32}, {4, 64}} {
		hidden := in * bl.t
		if bl.t != 1 {
			mb += in*hidden + bn(hidden)
		}
		mb += hidden*9 + bn(hidden) + hidden*bl.c + bn(bl.c)
		in = bl.c
	}
	mb += 64*128 + bn(128) + 128*10 + 10
	want["mobilenetv2"] = mb

	for _, name := range Names() {
		m, _ := Lookup(name)
		net, err := m.Build(mnistShape, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := paramCount(net); got != want[name] {
			t.Errorf("%s: %d parameters, want %d", name, got, want[name])
		}
	}
}

// TestForwardAndRewrite builds every model for every data set it accepts,
// runs it, rewrites it, and checks that the rewritten graph in Float mode
// computes the same logits and has one approximate layer per weight, named
// after it.
func TestForwardAndRewrite(t *testing.T) {
	shapes := []Input{mnistShape, {C: 1, H: 8, W: 8, Classes: 10}}
	for _, m := range Models() {
		for _, in := range shapes {
			if m.Accepts(in) != nil {
				continue
			}
			t.Run(m.Name+"/"+in.String(), func(t *testing.T) {
				const batch = 3
				net, err := m.Build(in, batch, 5)
				if err != nil {
					t.Fatal(err)
				}
				images := make([]float32, batch*in.C*in.H*in.W)
				for i := range images {
					images[i] = float32(math.Sin(float64(i) * 0.37))
				}
				x := tensor.New(tensor.WithShape(batch, in.C, in.H, in.W), tensor.WithBacking(images))
				net.SetBatchNormTraining(false)
				before := run(t, net.Graph, net.Input, x, net.Logits)

				res, err := graph.Rewrite(net.Graph, graph.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var weightNames []string
				for _, w := range net.Weights {
					weightNames = append(weightNames, w.Name())
				}
				if got := res.Layers.Names(); !reflect.DeepEqual(got, weightNames) {
					t.Fatalf("layers %v, want one per weight %v", got, weightNames)
				}
				after := run(t, res.Graph, res.Node(net.Input), x, res.Node(net.Logits))
				for i := range before {
					if math.IsNaN(float64(before[i])) || math.Abs(float64(before[i]-after[i])) > 1e-4*(1+math.Abs(float64(before[i]))) {
						t.Fatalf("logit %d: %v before rewriting, %v after", i, before[i], after[i])
					}
				}
			})
		}
	}
}

func run(t *testing.T, g *G.ExprGraph, input *G.Node, x tensor.Tensor, out *G.Node) []float32 {
	t.Helper()
	if err := G.Let(input, x); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out.Value().Data().([]float32)...)
}

// TestSeeded checks that the seed alone decides the initial weights.
func TestSeeded(t *testing.T) {
	m, _ := Lookup("lenet5")
	values := func(seed uint64) []float32 {
		net, err := m.Build(mnistShape, 1, seed)
		if err != nil {
			t.Fatal(err)
		}
		var all []float32
		for _, p := range net.Params {
			all = append(all, p.Value().Data().([]float32)...)
		}
		return all
	}
	if !reflect.DeepEqual(values(3), values(3)) {
		t.Fatal("the same seed gave different weights")
	}
	if reflect.DeepEqual(values(3), values(4)) {
		t.Fatal("different seeds gave the same weights")
	}
}

func TestLookupAndAccepts(t *testing.T) {
	_, err := Lookup("alexnet")
	if err == nil || !strings.Contains(err.Error(), "lenet5, mlp, mobilenetv2, resnet8, vgg") {
		t.Fatalf("unknown model: error %v does not list the models", err)
	}
	lenet, _ := Lookup("lenet5")
	if err := lenet.Accepts(Input{C: 1, H: 8, W: 8, Classes: 10}); err == nil {
		t.Fatal("lenet5 accepted 8x8 inputs")
	}
	if _, err := lenet.Build(Input{C: 1, H: 8, W: 8, Classes: 10}, 4, 1); err == nil {
		t.Fatal("lenet5 built for 8x8 inputs")
	}
	if got := lenet.Datasets(); !reflect.DeepEqual(got, []string{"fashion-mnist", "mnist"}) {
		t.Fatalf("lenet5 datasets %v", got)
	}
	mlp, _ := Lookup("mlp")
	if got := mlp.Datasets(); !reflect.DeepEqual(got, []string{"digits", "fashion-mnist", "mnist"}) {
		t.Fatalf("mlp datasets %v", got)
	}
	if _, err := mlp.Build(mnistShape, 0, 1); err == nil {
		t.Fatal("batch 0 accepted")
	}
}

// TestTrainsAfterRewriting runs a few Adam steps of each model on one fixed
// batch in Quantized mode: the loss must fall, so gradients reach every kind
// of layer the models use.
func TestTrainsAfterRewriting(t *testing.T) {
	if testing.Short() {
		t.Skip("trains five models")
	}
	const batch = 8
	for _, m := range Models() {
		t.Run(m.Name, func(t *testing.T) {
			net, err := m.Build(mnistShape, batch, 2)
			if err != nil {
				t.Fatal(err)
			}
			res, err := graph.Rewrite(net.Graph, graph.Options{})
			if err != nil {
				t.Fatal(err)
			}
			params, err := res.Nodes(net.Params...)
			if err != nil {
				t.Fatal(err)
			}
			labels := G.NewVector(res.Graph, tensor.Int, G.WithShape(batch), G.WithName("y"))
			cost, err := nn.SoftmaxCrossEntropy(res.Node(net.Logits), labels)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := G.Grad(cost, params...); err != nil {
				t.Fatal(err)
			}
			if err := res.Layers.SetMode(ops.Quantized); err != nil {
				t.Fatal(err)
			}
			images := make([]float32, batch*28*28)
			ys := make([]int, batch)
			for i := range images {
				images[i] = float32(math.Cos(float64(i)*0.11 + float64(i/784)))
			}
			for i := range ys {
				ys[i] = i % 10
			}
			G.Let(res.Node(net.Input), tensor.New(tensor.WithShape(batch, 1, 28, 28), tensor.WithBacking(images)))
			G.Let(labels, tensor.New(tensor.WithShape(batch), tensor.WithBacking(ys)))
			vm := G.NewTapeMachine(res.Graph, G.BindDualValues(params...))
			defer vm.Close()
			solver := G.NewAdamSolver(G.WithLearnRate(0.01))
			var losses []float32
			for i := 0; i < 8; i++ {
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				losses = append(losses, cost.Value().Data().(float32))
				if err := solver.Step(G.NodesToValueGrads(params)); err != nil {
					t.Fatal(err)
				}
				vm.Reset()
			}
			if !(losses[len(losses)-1] < 0.7*losses[0]) {
				t.Fatalf("losses %v do not fall by 30%%", losses)
			}
		})
	}
}

// TestActivationsFusedIntoBatchNorm checks that each model's activations
// after a batch norm live in the batch norm op (nn.BatchNormAct) and the
// only separate ReLUs left are ResNet-8's after its residual additions: the
// counts come from the architectures in models.go.
func TestActivationsFusedIntoBatchNorm(t *testing.T) {
	type counts struct{ relu, bnReLU, bnReLU6, bnPlain int }
	want := map[string]counts{
		"mlp":         {bnReLU: 2},
		"lenet5":      {bnReLU: 4},
		"resnet8":     {relu: 3, bnReLU: 4, bnPlain: 5},       // stem + 3 conv1 fused; 3 conv2 + 2 shortcuts plain
		"mobilenetv2": {bnReLU6: 1 + 1 + 5*2 + 1, bnPlain: 6}, // stem, b1 dw, b2-b6 expand+dw, last; 6 projections
		"vgg":         {bnReLU: 6},
	}
	for _, name := range Names() {
		m, _ := Lookup(name)
		net, err := m.Build(mnistShape, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got counts
		for _, n := range net.Graph.AllNodes() {
			switch op := n.Op().(type) {
			case *nn.ReLUOp, *nn.ReLU6Op:
				got.relu++
			case *nn.BatchNormOp:
				switch op.Activation() {
				case nn.ActReLU:
					got.bnReLU++
				case nn.ActReLU6:
					got.bnReLU6++
				default:
					got.bnPlain++
				}
			}
		}
		if got != want[name] {
			t.Errorf("%s: %+v, want %+v", name, got, want[name])
		}
	}
}
