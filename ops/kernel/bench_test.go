package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/ops/geom"
)

// Benchmarks report table lookups per second (one lookup per product) as
// the custom metric Glookup/s, and the CPU time per call as cpu-ms/op (on
// a shared machine a steadier figure than wall time). The plain names use
// the fastest kernel this machine has on all cores; the Portable variants
// force the pure-Go kernel; a /1thread suffix pins one thread for per-core
// figures.

func benchTable() *Prepared {
	rng := rand.New(rand.NewPCG(9, 9))
	t := new([65536]int32)
	for i := range t {
		t[i] = int32(rng.IntN(65026)) // an unsigned 8x8 multiplier's range
	}
	return Prepare(t)
}

func reportLookups(b *testing.B, perOp int) {
	b.ReportMetric(float64(perOp)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Glookup/s")
}

func benchGEMM(b *testing.B, asm bool) {
	defer SetAssembly(SetAssembly(asm))
	p := benchTable()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, size := range []int{64, 128, 512, 1024} {
		for _, threads := range []int{0, 1} {
			name := fmt.Sprint(size)
			if threads == 1 {
				name += "/1thread"
			}
			b.Run(name, func(b *testing.B) {
				m, n, k := size, size, size
				x, w := codes(rng, m*k, 0), codes(rng, n*k, 0)
				acc := make([]int32, m*n)
				b.ResetTimer()
				cpu := cputime.Process()
				for b.Loop() {
					if err := GEMM(acc, x, w, m, n, k, p, threads); err != nil {
						b.Fatal(err)
					}
				}
				reportLookups(b, m*n*k)
				cputime.Report(b, cpu)
			})
		}
	}
}

// BenchmarkLUTGEMM multiplies size×size×size codes.
func BenchmarkLUTGEMM(b *testing.B)         { benchGEMM(b, true) }
func BenchmarkLUTGEMMPortable(b *testing.B) { benchGEMM(b, false) }

// benchLinears are the zoo's linear layers at batch 64 (m = batch, n =
// outputs, k = inputs): LeNet-5's fc1, fc2, fc3 and MobileNetV2's fc.
var benchLinears = []struct {
	name    string
	m, n, k int
}{
	{"lenet5-fc1", 64, 120, 400},
	{"lenet5-fc2", 64, 84, 120},
	{"lenet5-fc3", 64, 10, 84},
	{"mobilenetv2-fc", 64, 10, 128},
}

// BenchmarkLUTGEMMLayers runs the small GEMMs of a training step.
func BenchmarkLUTGEMMLayers(b *testing.B) {
	p := benchTable()
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range benchLinears {
		for _, threads := range []int{0, 1} {
			name := c.name
			if threads == 1 {
				name += "/1thread"
			}
			b.Run(name, func(b *testing.B) {
				x, w := codes(rng, c.m*c.k, 0), codes(rng, c.n*c.k, 0)
				acc := make([]int32, c.m*c.n)
				b.ResetTimer()
				cpu := cputime.Process()
				for b.Loop() {
					if err := GEMM(acc, x, w, c.m, c.n, c.k, p, threads); err != nil {
						b.Fatal(err)
					}
				}
				reportLookups(b, c.m*c.n*c.k)
				cputime.Report(b, cpu)
			})
		}
	}
}

// benchConvs are layers of the zoo's models:
//   - lenet5-conv1: LeNet-5's first conv, batch 64, 1->6 channels, 5x5,
//     28x28 input, padding 2 (few channels, many taps, few outputs);
//   - lenet5-conv2: LeNet-5's second conv, batch 64, 6->16 channels, 5x5,
//     14x14 input, no padding (10x10 output);
//   - mobilenetv2-dw: a MobileNetV2 depthwise layer (features.3), batch 8,
//     144 channels, 3x3, 56x56, stride 1, padding 1;
//   - mobilenetv2-dw-s2: the stride-2 one (features.2), batch 8, 96
//     channels, 3x3, 112x112 -> 56x56, padding 1;
//   - mobilenetv2-pw: the pointwise 1x1 conv after it, batch 8, 144->24
//     channels on 56x56 (a dense conv for the per-product comparison);
//   - zoo-*: depthwise layers of the zoo's MobileNetV2 (small maps).
var benchConvs = []struct {
	name string
	g    geom.Conv
}{
	{"lenet5-conv1", convGeom(64, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1)},
	{"lenet5-conv2", convGeom(64, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1)},
	{"mobilenetv2-dw", convGeom(8, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 144)},
	{"mobilenetv2-dw-s2", convGeom(8, 96, 112, 112, 96, 3, 3, 2, 2, 1, 1, 1, 1, 96)},
	{"mobilenetv2-pw", convGeom(8, 144, 56, 56, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1)},
	// The zoo's MobileNetV2 (batch 64, 28x28 inputs): its depthwise
	// layers, stride 1 (b1, b3, b5) and stride 2 (b2, b4), the slowest per
	// product in zoo's BenchmarkMobileNetV2Layers.
	{"zoo-b1.dw", convGeom(64, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16)},
	{"zoo-b3.dw", convGeom(64, 96, 14, 14, 96, 3, 3, 1, 1, 1, 1, 1, 1, 96)},
	{"zoo-b5.dw", convGeom(64, 128, 7, 7, 128, 3, 3, 1, 1, 1, 1, 1, 1, 128)},
	{"zoo-b2.dw-s2", convGeom(64, 64, 28, 28, 64, 3, 3, 2, 2, 1, 1, 1, 1, 64)},
	{"zoo-b4.dw-s2", convGeom(64, 96, 14, 14, 96, 3, 3, 2, 2, 1, 1, 1, 1, 96)},
}

func benchConv(b *testing.B, asm bool, convs []struct {
	name string
	g    geom.Conv
}) {
	benchConvOn(b, asm, convs, func(rng *rand.Rand, n int) []byte { return codes(rng, n, 0) }, benchTable())
}

// benchConvOn is benchConv with input codes made by inputs.
func benchConvOn(b *testing.B, asm bool, convs []struct {
	name string
	g    geom.Conv
}, inputs func(rng *rand.Rand, n int) []byte, p *Prepared) {
	defer SetAssembly(SetAssembly(asm))
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range convs {
		for _, threads := range []int{0, 1} {
			name := c.name
			if threads == 1 {
				name += "/1thread"
			}
			b.Run(name, func(b *testing.B) {
				g := c.g
				x, w := inputs(rng, g.XLen()), codes(rng, g.WLen(), 0)
				acc := make([]int32, g.YLen())
				b.ResetTimer()
				cpu := cputime.Process()
				for b.Loop() {
					if err := Conv2d(acc, x, w, 0, g, p, threads); err != nil {
						b.Fatal(err)
					}
				}
				reportLookups(b, g.YLen()*g.FanIn())
				cputime.Report(b, cpu)
			})
		}
	}
}

func BenchmarkApproxConv2d(b *testing.B)         { benchConv(b, true, benchConvs) }
func BenchmarkApproxConv2dPortable(b *testing.B) { benchConv(b, false, benchConvs) }

// benchResNet20Convs are the convolutions of the zoo's ResNet-20 (CIFAR,
// batch 128, option-A shortcuts): the stem, the 3x3 convs of the three
// stages (16, 32, 64 channels on 32x32, 16x16, 8x8) and the stride-2
// convs that enter stages 2 and 3. Many output positions share each
// weight, which is the pre-gathered kernel's case.
var benchResNet20Convs = []struct {
	name string
	g    geom.Conv
}{
	{"resnet20-stem", convGeom(128, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"resnet20-s1", convGeom(128, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"resnet20-s2-down", convGeom(128, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1)},
	{"resnet20-s2", convGeom(128, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"resnet20-s3-down", convGeom(128, 32, 16, 16, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1)},
	{"resnet20-s3", convGeom(128, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
}

func BenchmarkApproxConv2dResNet20(b *testing.B) { benchConv(b, true, benchResNet20Convs) }

// BenchmarkApproxConv2dResNet20ReLU runs the same layers on codes as a
// ReLU's output makes them: half the zero point's, the rest falling off
// from it. Which rows of P a kernel reads, and so which of them stay in
// L1, depends on the codes.
func BenchmarkApproxConv2dResNet20ReLU(b *testing.B) {
	benchConvOn(b, true, benchResNet20Convs, reluCodes, benchTable())
}

// BenchmarkApproxConv2dResNet20ReLUSigned is BenchmarkApproxConv2dResNet20ReLU
// with a signed multiplier's range, whose entries the 3×3 pre-gathered
// kernel adds in pairs (pgPairs).
func BenchmarkApproxConv2dResNet20ReLUSigned(b *testing.B) {
	benchConvOn(b, true, benchResNet20Convs, reluCodes, benchSignedTable())
}

// benchSignedTable is a table of random entries in a signed 8x8
// multiplier's range.
func benchSignedTable() *Prepared {
	rng := rand.New(rand.NewPCG(9, 10))
	t := new([65536]int32)
	for i := range t {
		t[i] = int32(rng.IntN(32641) - 16256)
	}
	return Prepare(t)
}

// reluCodes returns n activation codes of zero point 0 as a ReLU's output
// quantized makes them: half are 0, the others fall off exponentially
// (mean 40).
func reluCodes(rng *rand.Rand, n int) []byte {
	x := make([]byte, n)
	for i := range x {
		if rng.IntN(2) == 1 {
			x[i] = byte(min(255, 1+int(-40*math.Log(1-rng.Float64()))))
		}
	}
	return x
}

// BenchmarkApproxConv2dResNet20Pregather forces the pre-gathered path on
// one thread, for comparing with what the cost estimate picks.
func BenchmarkApproxConv2dResNet20Pregather(b *testing.B) {
	p := benchTable()
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range benchResNet20Convs {
		b.Run(c.name, func(b *testing.B) {
			g := c.g
			x, w := codes(rng, g.XLen(), 0), codes(rng, g.WLen(), 0)
			acc := make([]int32, g.YLen())
			b.ResetTimer()
			cpu := cputime.Process()
			for b.Loop() {
				if err := convWith(current(), convPregather, acc, x, w, 0, g, p, 1); err != nil {
					b.Fatal(err)
				}
			}
			reportLookups(b, g.YLen()*g.FanIn())
			cputime.Report(b, cpu)
		})
	}
}
