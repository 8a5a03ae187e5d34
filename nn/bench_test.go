package nn

import (
	"fmt"
	"testing"

	"github.com/goapprox/goapprox/internal/cputime"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchGraph times forward+backward of Σ build(x) through a TapeMachine.
func benchGraph(b *testing.B, shape tensor.Shape, build func(g *G.ExprGraph, x *G.Node) (*G.Node, error)) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, randTensor(1, 1, shape...), G.WithName("x"))
	y, err := build(g, x)
	if err != nil {
		b.Fatal(err)
	}
	c := G.Must(G.Sum(y))
	if _, err := G.Grad(c, x); err != nil {
		b.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
		m.Reset()
	}
}

func BenchmarkBatchNormLeNetConv1(b *testing.B) {
	benchGraph(b, tensor.Shape{64, 6, 28, 28}, func(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
		s, _ := Filled(tensor.Shape{6}, 1)
		z, _ := Filled(tensor.Shape{6}, 0)
		return BatchNorm(x, G.NodeFromAny(g, s, G.WithName("s")), G.NodeFromAny(g, z, G.WithName("z")), NewBatchNormState(6))
	})
}

// BenchmarkBatchNormReLULeNetConv1 compares batch norm then ReLU as two
// ops with the fused op, forward and backward, on LeNet-5's conv1 output.
func BenchmarkBatchNormReLULeNetConv1(b *testing.B) {
	for _, fused := range []bool{false, true} {
		b.Run(fmt.Sprintf("fused=%v", fused), func(b *testing.B) {
			benchGraph(b, tensor.Shape{64, 6, 28, 28}, func(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
				s, _ := Filled(tensor.Shape{6}, 1)
				z, _ := Filled(tensor.Shape{6}, 0)
				sn, zn := G.NodeFromAny(g, s, G.WithName("s")), G.NodeFromAny(g, z, G.WithName("z"))
				if fused {
					return BatchNormAct(x, sn, zn, NewBatchNormState(6), ActReLU)
				}
				y, err := BatchNorm(x, sn, zn, NewBatchNormState(6))
				if err != nil {
					return nil, err
				}
				return ReLU(y)
			})
		})
	}
}

func BenchmarkReLU6(b *testing.B) {
	benchGraph(b, tensor.Shape{64, 6, 28, 28}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, error) { return ReLU6(x) })
}

func BenchmarkGorgoniaRectify(b *testing.B) {
	benchGraph(b, tensor.Shape{64, 6, 28, 28}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, error) { return G.Rectify(x) })
}

func BenchmarkGlobalAvgPool(b *testing.B) {
	benchGraph(b, tensor.Shape{64, 64, 8, 8}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, error) { return GlobalAvgPool(x) })
}

func BenchmarkSoftmaxCrossEntropy(b *testing.B) {
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = i % 10
	}
	benchGraph(b, tensor.Shape{64, 10}, func(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
		return SoftmaxCrossEntropy(x, G.NodeFromAny(g, tensor.New(tensor.WithShape(64), tensor.WithBacking(labels)), G.WithName("y")))
	})
}

func BenchmarkReLU(b *testing.B) {
	benchGraph(b, tensor.Shape{64, 6, 28, 28}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, error) { return ReLU(x) })
}

func BenchmarkMaxPool2D(b *testing.B) {
	benchGraph(b, tensor.Shape{64, 6, 28, 28}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, error) {
		return MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
	})
}

func BenchmarkGorgoniaMaxPool2D(b *testing.B) {
	benchGraph(b, tensor.Shape{64, 6, 28, 28}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, error) {
		return G.MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
	})
}

// BenchmarkBatchNormOps runs a batch norm's forward op and its three
// gradient ops directly (no graph, so no gorgonia overhead), on LeNet's
// conv1 output, on MobileNetV2's largest activation (b2.expand) and on
// LeNet's fc1 output.
func BenchmarkBatchNormOps(b *testing.B) {
	for _, shape := range []tensor.Shape{{64, 6, 28, 28}, {64, 64, 28, 28}, {64, 120}} {
		b.Run(fmt.Sprint(shape), func(b *testing.B) {
			c := shape[1]
			x, dy := randTensor(1, 1, shape...), randTensor(2, 1, shape...)
			s, z := randTensor(3, 1, c), randTensor(4, 1, c)
			fwd := &BatchNormOp{state: NewBatchNormState(c), dims: shape.Dims(), channels: c}
			grads := []*batchNormGradOp{{fwd: fwd, wrt: 0}, {fwd: fwd, wrt: 1}, {fwd: fwd, wrt: 2}}
			b.ReportAllocs()
			start := cputime.Process()
			defer cputime.Report(b, start)
			for b.Loop() {
				if _, err := fwd.Do(x, s, z); err != nil {
					b.Fatal(err)
				}
				for _, g := range grads {
					in := []G.Value{x, s, dy, x}[:g.Arity()]
					if _, err := g.Do(in...); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkActivationOps runs ReLU and ReLU6 forward and gradient ops
// directly on LeNet's conv1 output and MobileNetV2's b2.expand.
func BenchmarkActivationOps(b *testing.B) {
	for _, shape := range []tensor.Shape{{64, 6, 28, 28}, {64, 64, 28, 28}} {
		x, dy := randTensor(1, 1, shape...), randTensor(2, 1, shape...)
		for _, name := range []string{"relu", "relu6"} {
			b.Run(fmt.Sprint(name, shape), func(b *testing.B) {
				var fwd, grad interface {
					Do(...G.Value) (G.Value, error)
				}
				if name == "relu" {
					fwd, grad = newReLUOp(4), &ClampGradOp{dims: 4}
				} else {
					fwd, grad = newReLU6Op(4), &ClampGradOp{Six: true, dims: 4}
				}
				b.ReportAllocs()
				start := cputime.Process()
				defer cputime.Report(b, start)
				for b.Loop() {
					if _, err := fwd.Do(x); err != nil {
						b.Fatal(err)
					}
					if _, err := grad.Do(x, dy); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
