package tablegrad

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/ops/kernel"
)

// The benchmarks time the data and weight gradients next to the forward
// LUT kernel of the same shape (kernel.GEMM, kernel.Conv2d), in one run so
// that they share the machine's load. They report products per second as
// Gprod/s (each call touches every product of the layer once) and the CPU
// time per call as cpu-ms/op. Calls keep their memory in a Workspace, as
// a layer does. A /1thread suffix pins one thread; a /go
// suffix turns the vector forms off. "both" is the linear layer's fused
// pass that computes the two gradients together.

// benchGradients are the slopes of a made-up non-linear table, smoothed:
// the kernels do not depend on the values.
func benchGradients(b *testing.B) (*Tables, *kernel.Prepared) {
	tab := nonLinearTable(b, lut.Signs{X: lut.Unsigned, W: lut.Signed})
	return Prepare(mustGradient(b, tab, 4)), kernel.Prepare(tab.Entries())
}

func benchQuant(out int) *Quant {
	q := &Quant{XScale: 0.02, XZero: 3, WScale: make([]float32, out), WZero: make([]int32, out)}
	for i := range q.WScale {
		q.WScale[i] = 0.01
	}
	return q
}

func benchRun(b *testing.B, products int, f func() error) {
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(products)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gprod/s")
	cputime.Report(b, cpu)
}

// variants runs f on every core, on one thread, and without the vector
// forms.
func variants(b *testing.B, name string, f func(b *testing.B, threads int)) {
	b.Run(name, func(b *testing.B) { f(b, 0) })
	b.Run(name+"/1thread", func(b *testing.B) { f(b, 1) })
	if useVector() && !strings.HasSuffix(name, "forward-lut") {
		b.Run(name+"/go", func(b *testing.B) { withoutVector(func() { f(b, 0) }) })
	}
}

// BenchmarkGEMM: LeNet-5's fc1 at batch 64 (400 -> 120).
func BenchmarkGEMM(b *testing.B) {
	t, p := benchGradients(b)
	ws := new(Workspace)
	rng := rand.New(rand.NewPCG(1, 1))
	m, n, k := 64, 120, 400
	x, w, dy := codes(rng, m*k), codes(rng, n*k), floats(rng, m*n)
	acc := make([]int32, m*n)
	dx, dw := make([]float32, m*k), make([]float32, n*k)
	q := benchQuant(n)
	variants(b, "lenet5-fc1/forward-lut", func(b *testing.B, threads int) {
		benchRun(b, m*n*k, func() error { return kernel.GEMM(acc, x, w, m, n, k, p, threads) })
	})
	variants(b, "lenet5-fc1/data", func(b *testing.B, threads int) {
		benchRun(b, m*n*k, func() error { return GEMMData(dx, dy, x, w, m, n, k, t, q, threads, ws) })
	})
	variants(b, "lenet5-fc1/weight", func(b *testing.B, threads int) {
		benchRun(b, m*n*k, func() error { return GEMMWeight(dw, dy, x, w, m, n, k, false, t, q, threads, ws) })
	})
	variants(b, "lenet5-fc1/both", func(b *testing.B, threads int) {
		benchRun(b, m*n*k, func() error { return GEMMBoth(dx, dw, dy, x, w, m, n, k, false, t, q, threads, ws) })
	})
}

// benchConvGeoms: LeNet-5's conv1 (batch 64, 1 -> 6 channels, 5x5 on
// 28x28, padding 2; a first layer, whose data gradient a step does not
// need) and conv2 (6 -> 16 channels, 5x5 on 14x14), and ResNet-20's 3x3
// convolutions of the first and last stage (batch 128, 16 -> 16 channels
// on 32x32 and 64 -> 64 on 8x8, padding 1) and its first stride-2 one
// (16 -> 32 channels, 32x32 -> 16x16).
var benchConvGeoms = []struct {
	name string
	g    geom.Conv
}{
	{"lenet5-conv1", convGeom(64, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1)},
	{"lenet5-conv2", convGeom(64, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1)},
	{"resnet20-16x32x32", convGeom(128, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"resnet20-64x8x8", convGeom(128, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"resnet20-16to32-s2", convGeom(128, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1)},
}

// BenchmarkConv2d: the layers of benchConvGeoms.
func BenchmarkConv2d(b *testing.B) {
	t, p := benchGradients(b)
	ws := new(Workspace)
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range benchConvGeoms {
		g := c.g
		x, w, dy := codes(rng, g.XLen()), codes(rng, g.WLen()), floats(rng, g.YLen())
		acc := make([]int32, g.YLen())
		dx, dw := make([]float32, g.XLen()), make([]float32, g.WLen())
		q := benchQuant(g.O)
		products := g.YLen() * g.FanIn()
		variants(b, c.name+"/forward-lut", func(b *testing.B, threads int) {
			benchRun(b, products, func() error { return kernel.Conv2d(acc, x, w, 3, g, p, threads) })
		})
		variants(b, c.name+"/data", func(b *testing.B, threads int) {
			benchRun(b, products, func() error { return Conv2dData(dx, dy, x, w, g, t, q, threads, ws) })
		})
		variants(b, c.name+"/weight", func(b *testing.B, threads int) {
			benchRun(b, products, func() error { return Conv2dWeight(dw, dy, x, w, g, t, q, threads, ws) })
		})
	}
}
