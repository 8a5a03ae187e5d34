package zoo_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/engine"
	"github.com/goapprox/goapprox/graph"
	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/train/optimizer"
	"github.com/goapprox/goapprox/zoo"
)

// The training-step benchmarks time what a trainer does per batch: bind a
// batch of images, run the TapeMachine forward and backward (softmax
// cross-entropy), and update every parameter with the optimizer, in the
// phases of a training run:
//
//   - float: Float mode everywhere.
//   - quantized: quantization-aware training, Quantized mode with the
//     observers watching every batch (the preset's histogram observers).
//   - approximate: fine-tuning with a multiplier, Approximate mode with the
//     observers frozen, as the trainer runs that phase.
//   - approximate-table: the approximate phase with table gradients
//     (ops.TableGradient, the default window) in place of straight-through
//     ones, so that approximate-table/approximate is their cost.
//   - quantized-frozen: Quantized mode with the observers frozen as in the
//     approximate phase, so that approximate/quantized-frozen is the cost
//     of the table lookups alone.
//
// The model is rewritten by package graph with the torchapprox preset (the
// trainer's default) and the multiplier is trunc:t=9,signed=true. The step
// mirrors train.Trainer's, with the trainer's own optimizer
// (package train/optimizer), so that the update timed is the one users run.
//
// LeNet-5 and the small MobileNetV2 take batches of 64 MNIST images and
// Adam at lr 1e-4: the first 64 MNIST training images (normalised) when
// MNIST is installed, else seeded random images (speed does not depend on
// which). ResNet-20 takes batches of 128 3x32x32 images, seeded random
// pixels normalised as CIFAR-10 (a synthetic batch, as TorchApprox's
// figures are measured on), and SGD with momentum 0.9 at lr 1e-3 (the
// approximate retraining of agn-approx's protocol). Run with
//
//	go test ./zoo -run '^$' -bench 'LeNet5TrainStep' -benchmem -benchtime=200x
//	go test ./zoo -run '^$' -bench 'ResNet20TrainStep' -benchmem -benchtime=3x

// benchSetup is one benchmarked model with its data and optimizer.
type benchSetup struct {
	model     string
	in        zoo.Input
	batch     int
	images    func() []float32
	optimizer string
	lr        float64
}

var (
	mnistBench = func(model string) benchSetup {
		return benchSetup{model: model, in: zoo.Input{C: 1, H: 28, W: 28, Classes: 10}, batch: mnistBatch,
			images: mnistImages, optimizer: "adam", lr: 1e-4}
	}
	resnet20Bench = benchSetup{model: "resnet20", in: zoo.Input{C: 3, H: 32, W: 32, Classes: 10}, batch: cifarBatch,
		images: cifarImages, optimizer: "sgd", lr: 1e-3}
)

const (
	mnistBatch = 64
	cifarBatch = 128
)

// benchPhases are the sub-benchmarks, in the order of a training run.
var benchPhases = []string{"float", "quantized", "approximate", "approximate-table", "quantized-frozen"}

func BenchmarkLeNet5TrainStep(b *testing.B) { benchTrainSteps(b, mnistBench("lenet5")) }

// BenchmarkMobileNetV2TrainStep times the small MobileNetV2 sized for
// MNIST (mobilenetv2-small).
func BenchmarkMobileNetV2TrainStep(b *testing.B) { benchTrainSteps(b, mnistBench("mobilenetv2-small")) }

func BenchmarkResNet20TrainStep(b *testing.B) { benchTrainSteps(b, resnet20Bench) }

func benchTrainSteps(b *testing.B, setup benchSetup) {
	for _, phase := range benchPhases {
		b.Run(phase, func(b *testing.B) {
			s, err := newStepper(setup, phase)
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			// Warm up: buffers are allocated by the first runs.
			for range 3 {
				if err := s.step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			for range b.N {
				if err := s.step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// BenchmarkResNet20ApproximateOverQuantized measures what the table
// lookups cost a training step: one network, set up as for the
// approximate phase, alternates a step in Quantized mode (observers
// frozen, as quantized-frozen) with a step in Approximate mode, and
// reports each mode's wall and CPU time per step and their ratios. The
// phases of BenchmarkResNet20TrainStep run one after another, so a change
// in the load of a shared machine between them moves their ratio; here
// both modes meet the same load, step by step. approx/quant is the median
// over the pairs of steps of the approximate step's wall time over the
// quantized one's; cpu-approx/quant is the ratio of their CPU times.
func BenchmarkResNet20ApproximateOverQuantized(b *testing.B) {
	benchModePairs(b, resnet20Bench)
}

// BenchmarkLeNet5ApproximateOverQuantized is the same pairing for LeNet-5.
func BenchmarkLeNet5ApproximateOverQuantized(b *testing.B) { benchModePairs(b, mnistBench("lenet5")) }

func benchModePairs(b *testing.B, setup benchSetup) {
	s, err := newStepper(setup, "approximate")
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	modes := [2]ops.Mode{ops.Quantized, ops.Approximate}
	step := func(m ops.Mode) (wall, cpu time.Duration) {
		if err := s.res.Layers.SetMode(m); err != nil {
			b.Fatal(err)
		}
		c0, t0 := cputime.Process(), time.Now()
		if err := s.step(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0), cputime.Process() - c0
	}
	// Warm up: buffers of both modes are allocated by the first runs.
	for range 2 {
		for _, m := range modes {
			step(m)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var wall, cpu [2]time.Duration
	ratios := make([]float64, 0, b.N)
	for range b.N {
		var w [2]time.Duration
		for i, m := range modes {
			dw, dc := step(m)
			w[i] = dw
			wall[i] += dw
			cpu[i] += dc
		}
		ratios = append(ratios, w[1].Seconds()/w[0].Seconds())
	}
	slices.Sort(ratios)
	n := float64(b.N)
	b.ReportMetric(wall[0].Seconds()/n, "quant-s/step")
	b.ReportMetric(wall[1].Seconds()/n, "approx-s/step")
	b.ReportMetric(ratios[len(ratios)/2], "approx/quant")
	b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "cpu-approx/quant")
}

// stepper is one model compiled for training, with its optimizer.
type stepper struct {
	net    *zoo.Net
	res    *graph.Result
	x, y   *G.Node
	cost   *G.Node
	params G.Nodes
	vm     G.VM

	// The bound input and label tensors: each step copies into them.
	xT, yT *tensor.Dense
	images []float32
	labels []int
	opt    *optimizer.Optimizer
	lr     float64
}

func newStepper(setup benchSetup, phase string) (*stepper, error) {
	m, err := zoo.Lookup(setup.model)
	if err != nil {
		return nil, err
	}
	net, err := m.Build(setup.in, setup.batch, 1)
	if err != nil {
		return nil, err
	}
	// FastFloat as the trainer sets it: Float mode on GoApprox's float kernels.
	res, err := graph.Rewrite(net.Graph, graph.Options{Preset: "torchapprox", Seed: 1, FastFloat: true})
	if err != nil {
		return nil, err
	}
	params, err := res.Nodes(net.Params...)
	if err != nil {
		return nil, err
	}
	s := &stepper{net: net, res: res, params: params, x: res.Node(net.Input), images: setup.images(), labels: make([]int, setup.batch), lr: setup.lr}
	for i := range s.labels {
		s.labels[i] = i % setup.in.Classes
	}
	s.y = G.NewVector(res.Graph, tensor.Int, G.WithShape(setup.batch), G.WithName("labels"))
	if s.cost, err = nn.SoftmaxCrossEntropy(res.Node(net.Logits), s.y); err != nil {
		return nil, err
	}
	if _, err := G.Grad(s.cost, params...); err != nil {
		return nil, err
	}
	s.xT = tensor.New(tensor.WithShape(s.x.Shape()...), tensor.Of(tensor.Float32))
	s.yT = tensor.New(tensor.WithShape(setup.batch), tensor.Of(tensor.Int))
	s.vm = G.NewTapeMachine(res.Graph, G.BindDualValues(params...), G.WithEngine(engine.New()))
	if s.opt, err = optimizer.New(setup.optimizer); err != nil {
		s.close()
		return nil, err
	}
	if err := s.setPhase(phase); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// setPhase sets the layers' modes as the trainer does. The approximate
// phase first lets the observers see a few batches (QAT), then freezes them.
func (s *stepper) setPhase(phase string) error {
	layers := s.res.Layers
	s.net.SetBatchNormTraining(true)
	layers.SetTraining(true)
	switch phase {
	case "float":
		return layers.SetMode(ops.Float)
	case "quantized":
		return layers.SetMode(ops.Quantized)
	case "approximate", "approximate-table", "quantized-frozen":
		if err := layers.SetMode(ops.Quantized); err != nil {
			return err
		}
		for range 3 {
			if err := s.step(); err != nil {
				return err
			}
		}
		layers.FreezeObservers()
		if phase == "quantized-frozen" {
			return nil
		}
		t, err := multiplier.Parse("trunc:t=9,signed=true")
		if err != nil {
			return err
		}
		if err := layers.SetTable(t); err != nil {
			return err
		}
		if err := layers.SetMode(ops.Approximate); err != nil {
			return err
		}
		if phase == "approximate-table" {
			return layers.SetGradient(ops.Gradient{Kind: ops.TableGradient, Window: ops.DefaultGradientWindow})
		}
		return nil
	}
	return fmt.Errorf("unknown phase %q", phase)
}

func (s *stepper) close() { s.vm.Close() }

// step is one training step: bind, forward and backward, update.
func (s *stepper) step() error {
	defer s.vm.Reset()
	copy(s.xT.Float32s(), s.images)
	copy(s.yT.Ints(), s.labels)
	if err := G.Let(s.x, s.xT); err != nil {
		return err
	}
	if err := G.Let(s.y, s.yT); err != nil {
		return err
	}
	if err := s.vm.RunAll(); err != nil {
		return err
	}
	if loss := s.cost.Value().Data().(float32); math.IsNaN(float64(loss)) {
		return errors.New("the loss is NaN")
	}
	return s.opt.Step(s.params, s.lr)
}

// mnistImages returns one batch: MNIST's first training images when
// installed, else seeded random pixels, normalised as MNIST.
var mnistImages = sync.OnceValue(func() []float32 {
	const size = mnistBatch * 28 * 28
	if d, err := dataset.Load("mnist", dataset.Train, dataset.Options{}); err == nil {
		d = d.Limit(mnistBatch)
		if d.NormalizeDefault() == nil && len(d.Images) == size {
			return d.Images
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	img := make([]float32, size)
	for i := range img {
		if rng.IntN(5) == 0 { // MNIST is mostly background
			img[i] = (rng.Float32() - 0.1307) / 0.3081
		} else {
			img[i] = -0.1307 / 0.3081
		}
	}
	return img
})

// cifarImages returns one batch of seeded random 3x32x32 pixels in [0, 1],
// normalised with CIFAR-10's per-channel mean and std.
var cifarImages = sync.OnceValue(func() []float32 {
	mean := [3]float32{0.4914, 0.4822, 0.4465}
	std := [3]float32{0.2470, 0.2435, 0.2616}
	rng := rand.New(rand.NewPCG(3, 4))
	img := make([]float32, cifarBatch*3*32*32)
	for i := range img {
		c := i / (32 * 32) % 3
		img[i] = (rng.Float32() - mean[c]) / std[c]
	}
	return img
})
