package surrogate

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/ops/kernel"
)

// Benchmarks compare the surrogate with the LUT kernel on the same shapes.
// Both report Gproduct/s: products of the approximated matrix product (or
// convolution) per second / 1e9, so a surrogate of rank r does (r+1) float
// multiply-adds per product counted. Sub-benchmark "lut" is kernel.GEMM or
// kernel.Conv2d on all cores, "lut-go" the same with the portable Go kernel
// (what CPUs without AVX-512 VBMI run); "r=N" the float32 surrogate of rank N, also
// on all cores (gonum's pure-Go BLAS unless blas32.Use replaced it).

var benchGEMMs = []struct {
	name    string
	m, n, k int
}{
	{"lenet5-fc1", 64, 120, 400}, // batch 64, 400 -> 120
	{"lenet5-fc2", 64, 84, 120},
	{"512", 512, 512, 512},
}

var benchConvGeoms = []struct {
	name string
	g    geom.Conv
}{
	// LeNet-5's convolutions, batch 64: 1->6 on 28x28 with padding 2, and
	// 6->16 on 14x14 without.
	{"lenet5-conv1", geom.Conv{N: 64, C: 1, H: 28, W: 28, O: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1, Groups: 1}},
	{"lenet5-conv2", geom.Conv{N: 64, C: 6, H: 14, W: 14, O: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}},
	// A MobileNetV2 depthwise layer (features.3), batch 8.
	{"mobilenetv2-dw", geom.Conv{N: 8, C: 144, H: 56, W: 56, O: 144, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 144}},
}

var benchRanks = []int{0, 1, 2, 4, 8}

func lutName(asm bool) string {
	if asm {
		return "/lut"
	}
	return "/lut-go"
}

func reportProducts(b *testing.B, perOp int) {
	b.ReportMetric(float64(perOp)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gproduct/s")
}

func benchSpectrum(b *testing.B) *Spectrum {
	// Mitchell's error has rank 127, so every benchmarked rank is real work.
	return mustAnalyze(b, mustParse(b, "mitchell"), nil, nil)
}

func BenchmarkSurrogateGEMM(b *testing.B) {
	s := benchSpectrum(b)
	p := kernel.Prepare(s.Table().Entries())
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range benchGEMMs {
		m, n, k := sh.m, sh.n, sh.k
		x, w := randomCodes(rng, m*k), randomCodes(rng, n*k)
		for _, asm := range []bool{true, false} {
			b.Run(sh.name+lutName(asm), func(b *testing.B) {
				defer kernel.SetAssembly(kernel.SetAssembly(asm))
				acc := make([]int32, m*n)
				for b.Loop() {
					if err := kernel.GEMM(acc, x, w, m, n, k, p, 0); err != nil {
						b.Fatal(err)
					}
				}
				reportProducts(b, m*n*k)
			})
		}
		for _, r := range benchRanks {
			sg := mustSurrogate(b, s, r)
			b.Run(fmt.Sprintf("%s/r=%d", sh.name, r), func(b *testing.B) {
				acc := make([]float32, m*n)
				for b.Loop() {
					if err := sg.GEMM(acc, x, w, m, n, k); err != nil {
						b.Fatal(err)
					}
				}
				reportProducts(b, m*n*k)
			})
		}
	}
}

func BenchmarkSurrogateConv2d(b *testing.B) {
	s := benchSpectrum(b)
	p := kernel.Prepare(s.Table().Entries())
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range benchConvGeoms {
		g := c.g
		x, w := randomCodes(rng, g.XLen()), randomCodes(rng, g.WLen())
		products := g.YLen() * g.FanIn()
		for _, asm := range []bool{true, false} {
			b.Run(c.name+lutName(asm), func(b *testing.B) {
				defer kernel.SetAssembly(kernel.SetAssembly(asm))
				acc := make([]int32, g.YLen())
				for b.Loop() {
					if err := kernel.Conv2d(acc, x, w, 3, g, p, 0); err != nil {
						b.Fatal(err)
					}
				}
				reportProducts(b, products)
			})
		}
		for _, r := range benchRanks {
			sg := mustSurrogate(b, s, r)
			b.Run(fmt.Sprintf("%s/r=%d", c.name, r), func(b *testing.B) {
				acc := make([]float32, g.YLen())
				for b.Loop() {
					if err := sg.Conv2d(acc, x, w, 3, g); err != nil {
						b.Fatal(err)
					}
				}
				reportProducts(b, products)
			})
		}
	}
}

// BenchmarkAnalyze measures the one-off cost of the 256x256 decomposition.
func BenchmarkAnalyze(b *testing.B) {
	tab := mustParse(b, "mitchell")
	for b.Loop() {
		if _, err := Analyze(tab, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
