package zoo_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/ops"
)

// BenchmarkMobileNetV2Layers times every approximate layer of the small
// MobileNetV2 (mobilenetv2-small; batch 64, 1x28x28, trunc:t=9, the quantization parameters the model's
// layers learnt in a few QAT steps) on its own: forward and backward of the
// layer alone in Approximate mode, with a given output gradient. It then
// logs, per layer type, the share of multiplications next to the share of
// the layers' time and of a whole training step (the "step" sub-benchmark),
// measured in CPU time, which depends less than wall time on other load:
//
//	go test ./zoo -run '^$' -bench MobileNetV2Layers -benchtime=10x -v
func BenchmarkMobileNetV2Layers(b *testing.B) {
	s, err := newStepper(mnistBench("mobilenetv2-small"), "approximate")
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	if err := s.step(); err != nil {
		b.Fatal(err)
	}
	type share struct {
		layers     int
		mults, cpu float64
	}
	byType := map[string]*share{}
	var totalMults, layersCPU float64
	for _, l := range s.res.Layers.Layers() {
		kind := layerType(l)
		lb, err := newLayerBench(s, l)
		if err != nil {
			b.Fatal(err)
		}
		var cpu float64
		b.Run(kind+"/"+l.Name(), func(b *testing.B) {
			if err := lb.run(); err != nil { // warm the buffers
				b.Fatal(err)
			}
			b.ResetTimer()
			start := cputime.Process()
			for range b.N {
				if err := lb.run(); err != nil {
					b.Fatal(err)
				}
			}
			cpu = float64(cputime.Process()-start) / float64(b.N)
			b.ReportMetric(cpu/1e6, "cpu-ms/op")
		})
		lb.vm.Close()
		if byType[kind] == nil {
			byType[kind] = &share{}
		}
		st := byType[kind]
		st.layers++
		st.mults += float64(l.MulsPerSample())
		st.cpu += cpu
		totalMults += float64(l.MulsPerSample())
		layersCPU += cpu
	}
	var stepCPU float64
	b.Run("step", func(b *testing.B) {
		b.ResetTimer()
		start := cputime.Process()
		for range b.N {
			if err := s.step(); err != nil {
				b.Fatal(err)
			}
		}
		stepCPU = float64(cputime.Process()-start) / float64(b.N)
		b.ReportMetric(stepCPU/1e6, "cpu-ms/op")
	})
	kinds := make([]string, 0, len(byType))
	for k := range byType {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var tab strings.Builder
	fmt.Fprintf(&tab, "\n| layer type | layers | share of multiplications | CPU ms (fwd+bwd, alone) | share of the layers' time | share of a training step (%.0f ms CPU) | time share / mult share |\n|---|---|---|---|---|---|---|\n", stepCPU/1e6)
	for _, k := range kinds {
		st := byType[k]
		m, t := st.mults/totalMults, st.cpu/stepCPU
		fmt.Fprintf(&tab, "| %s | %d | %.1f%% | %.1f | %.1f%% | %.1f%% | %.2f |\n", k, st.layers, 100*m, st.cpu/1e6, 100*st.cpu/layersCPU, 100*t, t/m)
	}
	b.Log(tab.String())
}

// layerType names what a layer is: linear, depthwise (one input channel
// per group), pointwise (1x1) or conv.
func layerType(l *approxlayer.Layer) string {
	if l.Kind() == approxlayer.KindLinear {
		return "linear"
	}
	w := l.Weight().Shape()
	switch {
	case l.ConvArgs().Groups > 1 && w[1] == 1:
		return "depthwise"
	case w[2] == 1 && w[3] == 1:
		return "pointwise"
	}
	return "conv"
}

// layerBench is one layer of a model rebuilt alone in a graph: its input
// (random, the model's input shape for it) and weight (the model's values)
// as leaves, forward, and backward from a given output gradient.
type layerBench struct {
	vm G.VM
}

func (lb *layerBench) run() error {
	defer lb.vm.Reset()
	return lb.vm.RunAll()
}

func newLayerBench(s *stepper, model *approxlayer.Layer) (*layerBench, error) {
	var xShape tensor.Shape
	for it := s.res.Graph.From(model.Output().ID()); it.Next(); {
		if n := it.Node().(*G.Node); n != model.Weight() {
			xShape = n.Shape().Clone()
			break
		}
	}
	if xShape == nil {
		return nil, fmt.Errorf("layer %s: no input found", model.Name())
	}
	g := G.NewGraph()
	rng := rand.New(rand.NewPCG(7, uint64(model.MulsPerSample())))
	x := G.NewTensor(g, tensor.Float32, xShape.Dims(), G.WithShape(xShape...), G.WithName("x"), G.WithValue(randomDense(rng, xShape)))
	wv, err := G.CloneValue(model.Weight().Value())
	if err != nil {
		return nil, err
	}
	w := G.NewTensor(g, tensor.Float32, wv.Shape().Dims(), G.WithShape(wv.Shape()...), G.WithName("w"), G.WithValue(wv))
	var l *approxlayer.Layer
	if model.Kind() == approxlayer.KindLinear {
		l, err = approxlayer.WrapLinear(model.Name(), w, model.WeightLayout(), approxlayer.WithPreset(model.Preset().Name))
	} else {
		l, err = approxlayer.WrapConv2d(model.Name(), w, model.ConvArgs(), approxlayer.WithPreset(model.Preset().Name))
	}
	if err != nil {
		return nil, err
	}
	st := model.State()
	if err := l.SetQuantParams(st.XParams, st.WParams); err != nil {
		return nil, err
	}
	if err := l.SetTable(model.Table()); err != nil {
		return nil, err
	}
	if err := l.SetMode(ops.Approximate); err != nil {
		return nil, err
	}
	l.SetTraining(true)
	y, err := l.Forward(x)
	if err != nil {
		return nil, err
	}
	dy := G.NewTensor(g, tensor.Float32, y.Dims(), G.WithShape(y.Shape()...), G.WithName("dy"), G.WithValue(randomDense(rng, y.Shape())))
	if _, err := G.Backpropagate(G.Nodes{y}, G.Nodes{dy}, G.Nodes{x, w}); err != nil {
		return nil, err
	}
	return &layerBench{vm: G.NewTapeMachine(g)}, nil
}

func randomDense(rng *rand.Rand, shape tensor.Shape) *tensor.Dense {
	t := tensor.New(tensor.WithShape(shape.Clone()...), tensor.Of(tensor.Float32))
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(rng.NormFloat64())
	}
	return t
}
