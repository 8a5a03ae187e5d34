package zoo

import (
	"encoding/json"
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

// shapesOf builds a model's graph without values, as Summarize does.
func shapesOf(t *testing.T, name string, in Input) *Net {
	t.Helper()
	m, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(0)
	b.shapesOnly = true
	net, err := m.build1(in, 2, b)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

var (
	cifarShape = Input{C: 3, H: 32, W: 32, Classes: 10}
	tinyShape  = Input{C: 3, H: 64, W: 64, Classes: 10}
)

func bn(c int) int { return 2 * c }

// resNetParams counts He et al.'s CIFAR ResNet with n blocks per stage and
// option-A shortcuts (no parameters) by hand: stem, per stage one 3x3
// convolution from the previous width and 2n-1 within the stage, a BN
// after each, and the classifier.
func resNetParams(n, inC, classes int) int {
	total := inC*16*9 + bn(16)
	prev := 16
	for _, w := range []int{16, 32, 64} {
		total += prev*w*9 + (2*n-1)*w*w*9 + 2*n*bn(w)
		prev = w
	}
	return total + 64*classes + classes
}

// mobileNetV2Params counts torchvision's MobileNetV2 by hand from its
// stage table (t, c, n): expansion 1x1 (not for t = 1), depthwise 3x3 and
// projection 1x1 per block, each with BN.
func mobileNetV2Params(inC, classes int) int {
	total := inC*32*9 + bn(32)
	in := 32
	for _, st := range []struct{ t, c, n int }{{1, 16, 1}, {6, 24, 2}, {6, 32, 3}, {6, 64, 4}, {6, 96, 3}, {6, 160, 3}, {6, 320, 1}} {
		for range st.n {
			hidden := in * st.t
			if st.t != 1 {
				total += in*hidden + bn(hidden)
			}
			total += hidden*9 + bn(hidden) + hidden*st.c + bn(st.c)
			in = st.c
		}
	}
	return total + 320*1280 + bn(1280) + 1280*classes + classes
}

// vggParams counts a CIFAR VGG: 3x3 convolutions with BN and no bias, and
// one fc from 512 features.
func vggParams(widths []int, inC, classes int) int {
	total, prev := 0, inC
	for _, w := range widths {
		total += prev*w*9 + bn(w)
		prev = w
	}
	return total + 512*classes + classes
}

// TestParameterCounts compares each model's size with a count made by hand
// from its architecture and, where one is published, with that figure, so a
// wrong layer shape cannot go unnoticed. Summarize (shapes only) and Build
// (values drawn) must agree.
func TestParameterCounts(t *testing.T) {
	want := map[string]struct {
		in     Input
		params int
	}{
		// conv1 6·1·25, conv2 16·6·25, fc1 400·120, fc2 120·84, fc3 84·10+10,
		// BN on 6, 16, 120, 84 channels. agn-approx reports 61.9 K.
		"lenet5": {mnistShape, 150 + 2400 + 48000 + 10080 + 850 + bn(6) + bn(16) + bn(120) + bn(84)},
		"mlp":    {mnistShape, 784*256 + 256*128 + 128*10 + 10 + bn(256) + bn(128)},
		"resnet8-1x1": {mnistShape, 16*9 + bn(16) + // stem
			2*16*16*9 + 2*bn(16) + // s1
			32*16*9 + 32*32*9 + 32*16 + 3*bn(32) + // s2 with 1x1 shortcut
			64*32*9 + 64*64*9 + 64*32 + 3*bn(64) + // s3
			64*10 + 10},
		"vgg": {mnistShape, 32*9 + 32*32*9 + 64*32*9 + 64*64*9 + 128*64*9 + 2*bn(32) + 2*bn(64) + bn(128) +
			128*3*3*128 + bn(128) + 128*10 + 10},
		"resnet8":  {cifarShape, resNetParams(1, 3, 10)},
		"resnet14": {cifarShape, resNetParams(2, 3, 10)},
		// agn-approx's (and He et al.'s) published counts.
		"resnet20": {cifarShape, 269722},
		"resnet32": {cifarShape, 464154},
		"resnet44": {cifarShape, resNetParams(7, 3, 10)},
		"resnet56": {cifarShape, 853018},
		// torchvision's 3,504,872 with the 1280x1000+1000 classifier
		// replaced by 1280x10+10.
		"mobilenetv2": {cifarShape, 3504872 - 1281000 + 12810},
		// The common CIFAR ports' 9,231,114 and 14,728,266 (10 classes)
		// less their convolution biases (2,752 and 4,224), which the
		// following BN makes redundant.
		"vgg11": {cifarShape, 9231114 - 2752},
		"vgg16": {cifarShape, 14728266 - 4224},
		// torchvision's 61,100,840 with the 4096x1000+1000 classifier
		// replaced by 4096x10+10.
		"alexnet": {tinyShape, 61100840 - 4097000 + 40970},
	}
	// MobileNetV2-small: stem, six blocks, last conv, fc.
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
	want["mobilenetv2-small"] = struct {
		in     Input
		params int
	}{mnistShape, mb}

	// The published figures agree with the hand formulas.
	if resNetParams(3, 3, 10) != 269722 || resNetParams(5, 3, 10) != 464154 || resNetParams(9, 3, 10) != 853018 {
		t.Error("the ResNet formula disagrees with the published counts")
	}
	if mobileNetV2Params(3, 10) != want["mobilenetv2"].params {
		t.Errorf("MobileNetV2 formula %d, torchvision-derived %d", mobileNetV2Params(3, 10), want["mobilenetv2"].params)
	}
	if v := vggParams([]int{64, 128, 256, 256, 512, 512, 512, 512}, 3, 10); v != want["vgg11"].params {
		t.Errorf("VGG-11 formula %d, published-derived %d", v, want["vgg11"].params)
	}
	if v := vggParams([]int{64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512}, 3, 10); v != want["vgg16"].params {
		t.Errorf("VGG-16 formula %d, published-derived %d", v, want["vgg16"].params)
	}
	// AlexNet: five convolutions and three fc, all with bias.
	if a := 64*3*121 + 64 + 192*64*25 + 192 + 384*192*9 + 384 + 256*384*9 + 256 + 256*256*9 + 256 +
		9216*4096 + 4096 + 4096*4096 + 4096 + 4096*10 + 10; a != want["alexnet"].params {
		t.Errorf("AlexNet formula %d, torchvision-derived %d", a, want["alexnet"].params)
	}

	for _, name := range Names() {
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected count", name)
			continue
		}
		m, _ := Lookup(name)
		s, err := m.Summarize(w.in)
		if err != nil {
			t.Fatal(err)
		}
		if s.Params != w.params {
			t.Errorf("%s: %d parameters, want %d", name, s.Params, w.params)
		}
		if name == "alexnet" {
			continue // 57 M values to draw; the shapes are the same code
		}
		net, err := m.Build(w.in, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := paramCount(net); got != w.params {
			t.Errorf("%s: built with %d parameters, summarized %d", name, got, w.params)
		}
	}
}

// TestMultiplications compares multiplications per image with hand
// counts (output elements x fan-in per layer) and, at 224x224 with 1000
// classes, torchvision's published GFLOPS figures (multiply-adds, to two
// decimals).
func TestMultiplications(t *testing.T) {
	// LeNet-5 on 28x28: conv1 6@28x28 x 1·25, conv2 16@10x10 x 6·25, fc
	// 400·120, 120·84, 84·10.
	lenet := 6*28*28*25 + 16*10*10*150 + 400*120 + 120*84 + 84*10
	// ResNet-20 on 32x32: stem 16@32x32 x 27; stage 1 six 16@32x32 x 144;
	// stage 2 one 32@16x16 x 144 and five x 288; stage 3 one 64@8x8 x 288
	// and five x 576; fc 64·10. 40,551,040 in all.
	resnet20 := 16*1024*27 + 6*16*1024*144 + 32*256*144 + 5*32*256*288 + 64*64*288 + 5*64*64*576 + 640
	if resnet20 != 40551040 {
		t.Fatalf("hand count of ResNet-20 is %d", resnet20)
	}
	cases := []struct {
		name string
		in   Input
		want int64
	}{
		{"lenet5", mnistShape, int64(lenet)},
		{"resnet20", cifarShape, int64(resnet20)},
		{"mlp", mnistShape, 784*256 + 256*128 + 128*10},
	}
	for _, c := range cases {
		m, _ := Lookup(c.name)
		s, err := m.Summarize(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if s.MACs != c.want {
			t.Errorf("%s on %s: %d multiplications, want %d", c.name, c.in, s.MACs, c.want)
		}
		if net := shapesOf(t, c.name, c.in); net.MultsPerImage() != c.want || len(net.Mults) != len(net.Weights) {
			t.Errorf("%s: Mults %v do not sum to %d or do not match the %d weights", c.name, net.Mults, c.want, len(net.Weights))
		}
	}
	imagenet := Input{C: 3, H: 224, W: 224, Classes: 1000}
	for name, gmacs := range map[string]float64{"alexnet": 0.71, "mobilenetv2": 0.30} {
		m, _ := Lookup(name)
		s, err := m.Summarize(imagenet)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(s.MACs) / 1e9; math.Abs(got-gmacs) > 0.005 {
			t.Errorf("%s at 224x224: %.4f G multiplications, torchvision says %.2f", name, got, gmacs)
		}
	}
	// MobileNetV2's conv_last (320 -> 1280, 1x1) runs on 4x4 for 32x32
	// inputs (CIFAR strides, 32/8) and on 2x2 for 64x64 (ImageNet strides,
	// 64/32).
	for _, c := range []struct {
		in    Input
		cells int64
	}{{cifarShape, 16}, {tinyShape, 4}} {
		net := shapesOf(t, "mobilenetv2", c.in)
		last := len(net.Weights) - 2
		if net.Weights[last].Name() != "conv_last" || net.Mults[last] != 320*1280*c.cells {
			t.Errorf("%s: %s does %d multiplications, want conv_last with %d", c.in, net.Weights[last].Name(), net.Mults[last], 320*1280*c.cells)
		}
	}
}

// TestSummaries lists the models for CIFAR-sized inputs.
func TestSummaries(t *testing.T) {
	rows, err := Summaries(cifarShape)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var r20 Summary
	for _, r := range rows {
		names = append(names, r.Name)
		if r.Name == "resnet20" {
			r20 = r
		}
	}
	// Every model but AlexNet (at least 63x63) takes 32x32 images.
	if want := []string{"lenet5", "mlp", "mobilenetv2", "mobilenetv2-small", "resnet14", "resnet20", "resnet32", "resnet44",
		"resnet56", "resnet8", "resnet8-1x1", "vgg", "vgg11", "vgg16"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("models for %s: %v, want %v", cifarShape, names, want)
	}
	if r20.Params != 269722 || r20.MACs != 40551040 || r20.ApproxLayers != 20 {
		t.Errorf("resnet20: %+v", r20)
	}
	js, err := json.Marshal(r20)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"name":"resnet20"`, `"params":269722`, `"macs":40551040`, `"approx_layers":20`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("JSON %s lacks %s", js, key)
		}
	}
	if _, err := Summaries(Input{C: 3, H: 32, W: 32, Classes: 1}); err == nil || !strings.Contains(err.Error(), "at least 2 classes") {
		t.Errorf("one class: error %v", err)
	}
}

// heavyMults is the multiplications per image above which a model is
// run on its smallest accepted shape only, to keep the tests light.
const heavyMults = 50e6

// TestForwardAndRewrite builds every model for the test shapes it accepts
// (the smallest one only for large models), runs it on a batch of 2,
// rewrites it, and checks that the rewritten graph in Float mode computes
// the same logits and has one approximate layer per weight, named after it.
func TestForwardAndRewrite(t *testing.T) {
	shapes := []Input{{C: 1, H: 8, W: 8, Classes: 10}, mnistShape, cifarShape, {C: 3, H: 63, W: 63, Classes: 10}}
	for _, m := range Models() {
		ran := false
		for _, in := range shapes {
			if m.Accepts(in) != nil {
				continue
			}
			if s, err := m.Summarize(in); err != nil {
				t.Fatal(err)
			} else if ran && s.MACs > heavyMults {
				continue
			}
			ran = true
			t.Run(m.Name+"/"+in.String(), func(t *testing.T) {
				const batch = 2
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
		if !ran {
			t.Errorf("%s accepts none of the test shapes", m.Name)
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
	_, err := Lookup("resnet110")
	if err == nil || !strings.Contains(err.Error(), "alexnet, lenet5, mlp, mobilenetv2, mobilenetv2-small, resnet14, resnet20, "+
		"resnet32, resnet44, resnet56, resnet8, resnet8-1x1, vgg, vgg11, vgg16") {
		t.Fatalf("unknown model: error %v does not list the models", err)
	}
	// AlexNet's last 3x3 stride-2 pooling needs a 3x3 map: 63 -> conv1
	// (63+4-11)/4+1 = 15 -> 7 -> 3 -> 1 fits; 62 -> 14 -> 6 -> 2 does not.
	alexnet, _ := Lookup("alexnet")
	if err := alexnet.Accepts(Input{C: 3, H: 63, W: 63, Classes: 10}); err != nil {
		t.Errorf("alexnet refused 63x63: %v", err)
	}
	if err := alexnet.Accepts(Input{C: 3, H: 62, W: 64, Classes: 10}); err == nil || !strings.Contains(err.Error(), "at least 63x63") {
		t.Errorf("alexnet on 62x64: error %v", err)
	}
	vgg16, _ := Lookup("vgg16")
	if err := vgg16.Accepts(mnistShape); err == nil {
		t.Error("vgg16 accepted 28x28 inputs, which its five poolings reduce to nothing")
	}
	lenet, _ := Lookup("lenet5")
	if err := lenet.Accepts(Input{C: 1, H: 8, W: 8, Classes: 10}); err == nil {
		t.Fatal("lenet5 accepted 8x8 inputs")
	}
	if _, err := lenet.Build(Input{C: 1, H: 8, W: 8, Classes: 10}, 4, 1); err == nil {
		t.Fatal("lenet5 built for 8x8 inputs")
	}
	if got := lenet.Datasets(); !reflect.DeepEqual(got, []string{"cifar10", "cifar100", "cifar100-coarse", "fashion-mnist", "mnist"}) {
		t.Fatalf("lenet5 datasets %v", got)
	}
	mlp, _ := Lookup("mlp")
	if got := mlp.Datasets(); !reflect.DeepEqual(got, []string{"cifar10", "cifar100", "cifar100-coarse", "digits", "fashion-mnist", "mnist"}) {
		t.Fatalf("mlp datasets %v", got)
	}
	if _, err := mlp.Build(mnistShape, 0, 1); err == nil {
		t.Fatal("batch 0 accepted")
	}
}

// trainedMults bounds the multiplications per 28x28 image of the models
// TestTrainsAfterRewriting trains; it covers every kind of layer (dense,
// convolution, depthwise, both shortcuts, batch norm, pooling).
const trainedMults = 25e6

// TestTrainsAfterRewriting runs a few Adam steps of each model up to
// trainedMults on one fixed batch in Quantized mode: the loss must fall, so
// gradients reach every kind of layer the models use.
func TestTrainsAfterRewriting(t *testing.T) {
	if testing.Short() {
		t.Skip("trains seven models")
	}
	const batch = 8
	for _, m := range Models() {
		if m.Accepts(mnistShape) != nil {
			continue
		}
		if s, err := m.Summarize(mnistShape); err != nil {
			t.Fatal(err)
		} else if s.MACs > trainedMults {
			continue
		}
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
// only separate ReLUs left are the ResNets' after their residual additions
// and AlexNet's (which has no batch norm), and counts the option-A
// shortcuts: the counts come from the architectures in models.go.
func TestActivationsFusedIntoBatchNorm(t *testing.T) {
	type counts struct{ relu, addReLU, add, bnReLU, bnReLU6, bnPlain, padShortcuts int }
	// ResNet with n blocks per stage: each of the 3n additions fused with
	// the ReLU after it, the stem and 3n first convolutions fused, 3n
	// second convolutions plain, option A at the first block of stages 2
	// and 3.
	resnet := func(n int) counts { return counts{addReLU: 3 * n, bnReLU: 1 + 3*n, bnPlain: 3 * n, padShortcuts: 2} }
	want := map[string]counts{
		"mlp":               {bnReLU: 2},
		"lenet5":            {bnReLU: 4},
		"resnet8-1x1":       {addReLU: 3, bnReLU: 4, bnPlain: 5},                              // stem + 3 conv1 fused; 3 conv2 + 2 shortcuts plain
		"mobilenetv2-small": {bnReLU6: 1 + 1 + 5*2 + 1, bnPlain: 6, add: 3},                   // stem, b1 dw, b2-b6 expand+dw, last; 6 projections; residuals b1, b3, b5
		"mobilenetv2":       {bnReLU6: 1 + 1 + 16*2 + 1, bnPlain: 17, add: 1 + 2 + 3 + 2 + 2}, // 24, 32, 64, 96 and 160 channels: blocks after the first
		"vgg":               {bnReLU: 6},
		"vgg11":             {bnReLU: 8},
		"vgg16":             {bnReLU: 13},
		"alexnet":           {relu: 5 + 2},
		"resnet8":           resnet(1),
		"resnet14":          resnet(2),
		"resnet20":          resnet(3),
		"resnet32":          resnet(5),
		"resnet44":          resnet(7),
		"resnet56":          resnet(9),
	}
	for _, name := range Names() {
		in := mnistShape
		if name == "alexnet" || name == "vgg11" || name == "vgg16" {
			in = tinyShape
		}
		net := shapesOf(t, name, in)
		var got counts
		for _, n := range net.Graph.AllNodes() {
			switch op := n.Op().(type) {
			case *nn.SubsamplePadOp:
				got.padShortcuts++
				// 16 -> 32 and 32 -> 64 channels: half the new ones on
				// either side.
				if before, after := op.Padding(); op.Stride() != 2 || before != after || 2*before != n.Shape()[1]/2 {
					t.Errorf("%s: shortcut %v to %v channels", name, op, n.Shape())
				}
			case *nn.ReLUOp, *nn.ReLU6Op:
				got.relu++
			case *nn.AddActOp:
				if op.Act == nn.ActReLU {
					got.addReLU++
				} else {
					got.add++
				}
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
