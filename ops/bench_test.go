package ops

import (
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/quantize"
)

// The benchmarks run each layer through a compiled TapeMachine (Reset +
// RunAll per iteration), forward only unless the name says "train", and
// report multiplications per second as Gmul/s.

type benchLayer struct {
	xs, ws []int
	mults  float64 // multiplications per forward pass
}

var (
	lenetFC1   = benchLayer{[]int{64, 400}, []int{120, 400}, 64 * 400 * 120}
	lenetConv2 = benchLayer{[]int{64, 6, 14, 14}, []int{16, 6, 5, 5}, 64 * 16 * 10 * 10 * 150}
	// MobileNetV2's first expanded depthwise layer: 144 channels, 56×56,
	// 3×3, padding 1, batch 8.
	mbv2DW     = benchLayer{[]int{8, 144, 56, 56}, []int{144, 1, 3, 3}, 8 * 144 * 56 * 56 * 9}
	lenetArgs  = ConvArgs{}
	mbv2DWArgs = ConvArgs{Pad: [2]int{1, 1}, Groups: 144}
)

func benchState(mode Mode) *LayerState {
	s := NewLayerState("bench", 1)
	s.Mode = mode
	s.XParams = quantize.PerTensor(0.02, 0, 0, 127)
	s.WParams = quantize.PerTensor(0.01, 0, -128, 127)
	if err := s.SetTable(lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed})); err != nil {
		panic(err)
	}
	return s
}

// runBench builds x, w and the layer, optionally its gradients, and times
// the machine.
func runBench(b *testing.B, l benchLayer, train bool, build func(x, w *gorgonia.Node) (*gorgonia.Node, error)) {
	r := rand.New(rand.NewSource(1))
	g := gorgonia.NewGraph()
	x := gorgonia.NodeFromAny(g, denseOf(l.xs, randFloats(r, prod(l.xs), 1)), gorgonia.WithName("x"))
	w := gorgonia.NodeFromAny(g, denseOf(l.ws, randFloats(r, prod(l.ws), 0.3)), gorgonia.WithName("w"))
	y, err := build(x, w)
	if err != nil {
		b.Fatal(err)
	}
	if train {
		loss, err := gorgonia.Sum(y)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gorgonia.Grad(loss, x, w); err != nil {
			b.Fatal(err)
		}
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(l.mults*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gmul/s")
	// On a shared machine wall time depends on the other load; the CPU
	// time the process used per run much less so.
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
}

func BenchmarkApproxLinear(b *testing.B) {
	for _, mode := range []Mode{Float, Quantized, Approximate} {
		b.Run("lenet-fc1/"+mode.String(), func(b *testing.B) {
			runBench(b, lenetFC1, false, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
				return Linear(x, w, benchState(mode), OutIn)
			})
		})
	}
	b.Run("lenet-fc1/gorgonia-mul", func(b *testing.B) {
		l := benchLayer{lenetFC1.xs, []int{400, 120}, lenetFC1.mults}
		runBench(b, l, false, gorgonia.Mul)
	})
}

func BenchmarkApproxConv2dOp(b *testing.B) {
	for _, mode := range []Mode{Float, Quantized, Approximate} {
		b.Run("lenet-conv2/"+mode.String(), func(b *testing.B) {
			runBench(b, lenetConv2, false, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
				return Conv2d(x, w, benchState(mode), lenetArgs)
			})
		})
	}
	b.Run("lenet-conv2/approximate-train", func(b *testing.B) {
		runBench(b, lenetConv2, true, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
			return Conv2d(x, w, benchState(Approximate), lenetArgs)
		})
	})
	b.Run("lenet-conv2/gorgonia-conv2d", func(b *testing.B) {
		runBench(b, lenetConv2, false, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Conv2d(x, w, tensor.Shape{5, 5}, []int{0, 0}, []int{1, 1}, []int{1, 1})
		})
	})
	b.Run("lenet-conv2/gorgonia-conv2d-train", func(b *testing.B) {
		runBench(b, lenetConv2, true, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.Conv2d(x, w, tensor.Shape{5, 5}, []int{0, 0}, []int{1, 1}, []int{1, 1})
		})
	})
	for _, mode := range []Mode{Float, Quantized, Approximate} {
		b.Run("mbv2-depthwise/"+mode.String(), func(b *testing.B) {
			runBench(b, mbv2DW, false, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
				return Conv2d(x, w, benchState(mode), mbv2DWArgs)
			})
		})
	}
	for _, mode := range []Mode{Quantized, Approximate} {
		b.Run("mbv2-depthwise/"+mode.String()+"-train", func(b *testing.B) {
			runBench(b, mbv2DW, true, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
				return Conv2d(x, w, benchState(mode), mbv2DWArgs)
			})
		})
	}
	// Gorgonia has no grouped convolution: the float comparison is this
	// package's GroupedConv2d.
	b.Run("mbv2-depthwise/grouped-conv2d", func(b *testing.B) {
		runBench(b, mbv2DW, false, func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
			return GroupedConv2d(x, w, mbv2DWArgs)
		})
	})
}
