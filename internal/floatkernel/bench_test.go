package floatkernel

import (
	"fmt"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/ops/geom"
)

// BenchmarkMatMul compares this package's product (packed micro-kernel
// where available) with gonum's Sgemm on LeNet-5 shapes and 512³, in
// GFLOP/s.
func BenchmarkMatMul(b *testing.B) {
	impl := gonum.Implementation{}
	for _, sz := range [][3]int{{64, 120, 400}, {16, 100, 150}, {512, 512, 512}} {
		m, n, k := sz[0], sz[1], sz[2]
		r := rand.New(rand.NewSource(1))
		a, bb, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
		flops := 2 * float64(m*n*k)
		b.Run(fmt.Sprintf("%dx%dx%d/matmul", m, n, k), func(b *testing.B) {
			cpu := cputime.Process()
			defer func() { cputime.Report(b, cpu) }()
			for b.Loop() {
				MatMul(impl, false, false, m, n, k, 1, a, bb, 0, c, 0)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("%dx%dx%d/gonum", m, n, k), func(b *testing.B) {
			cpu := cputime.Process()
			defer func() { cputime.Report(b, cpu) }()
			for b.Loop() {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkConv times forward, backward-data and backward-weight on
// LeNet-5's conv2 (batch 64) and a MobileNetV2 depthwise layer (batch 8).
func BenchmarkConv(b *testing.B) {
	impl := gonum.Implementation{}
	geoms := map[string]geom.Conv{
		"lenet-conv2":      {N: 64, C: 6, H: 14, W: 14, O: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
		"lenet-conv1":      {N: 64, C: 1, H: 28, W: 28, O: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1, Groups: 1},
		"mbv2-depthwise":   {N: 8, C: 144, H: 56, W: 56, O: 144, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 144},
		"mbv2-pointwise":   {N: 8, C: 144, H: 28, W: 28, O: 24, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
		"resnet20-s1":      {N: 32, C: 16, H: 32, W: 32, O: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		"resnet20-s2":      {N: 32, C: 32, H: 16, W: 16, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		"resnet20-s3":      {N: 32, C: 64, H: 8, W: 8, O: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		"resnet20-s2-down": {N: 32, C: 16, H: 32, W: 32, O: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		"resnet20-s3-down": {N: 32, C: 32, H: 16, W: 16, O: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	}
	for _, name := range []string{"lenet-conv1", "lenet-conv2", "mbv2-depthwise", "mbv2-pointwise", "resnet20-s1", "resnet20-s2", "resnet20-s3", "resnet20-s2-down", "resnet20-s3-down"} {
		g := geoms[name]
		r := rand.New(rand.NewSource(1))
		x, w, y := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
		// Results go to their own buffers: fed back as operands, they
		// would grow to infinities, which move the rules to other paths.
		yOut, dx, dw := make([]float32, g.YLen()), make([]float32, g.XLen()), make([]float32, g.WLen())
		ws := new(Workspace)
		macs := float64(g.YLen() * g.FanIn())
		run := func(what string, f func() error) {
			b.Run(name+"/"+what, func(b *testing.B) {
				b.ReportAllocs()
				cpu := cputime.Process()
				defer func() { cputime.Report(b, cpu) }()
				for b.Loop() {
					if err := f(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
		run("forward", func() error { return Conv2d(impl, yOut, x, w, g, 0, ws) })
		run("backward-data", func() error { return Conv2dBackwardData(impl, dx, y, w, g, 0, ws) })
		run("backward-weight", func() error { return Conv2dBackwardWeight(impl, dw, y, x, g, 0, ws) })
		if dotPtrsKernel != nil && !isDepthwise(g) {
			// The weight gradient through im2col, as before the wide layout.
			run("backward-weight-im2col", func() error {
				saved := dotPtrsKernel
				dotPtrsKernel = nil
				defer func() { dotPtrsKernel = saved }()
				return Conv2dBackwardWeight(impl, dw, y, x, g, 0, ws)
			})
		}
		if _, _, ok := winogradGeom(g, 2); ok {
			// Winograd's and the direct path, forced, side by side.
			for _, p := range []struct {
				name string
				id   path
			}{{"direct", pathDirect}, {"winograd", pathWinograd}, {"winograd4", pathWinograd4}} {
				run("forward-"+p.name, func() error { conv2dVia(p.id, impl, yOut, x, w, g, 0, ws); return nil })
				run("backward-data-"+p.name, func() error { backwardDataVia(p.id, impl, dx, y, w, g, 0, ws); return nil })
			}
			// The weight gradient's: tap-major and Winograd's.
			for _, p := range []struct {
				name string
				id   path
			}{{"taps", pathTaps}, {"winograd", pathWinograd}, {"winograd4", pathWinograd4}} {
				run("backward-weight-"+p.name, func() error { backwardWeightVia(p.id, impl, dw, y, x, g, 0, ws); return nil })
			}
		}
		if !isDepthwise(g) {
			// The same through gonum's BLAS, for comparison.
			run("forward-gonum", func() error { return Conv2d(blasOnly{}, yOut, x, w, g, 0, ws) })
			run("backward-data-gonum", func() error { return Conv2dBackwardData(blasOnly{}, dx, y, w, g, 0, ws) })
			run("backward-weight-gonum", func() error { return Conv2dBackwardWeight(blasOnly{}, dw, y, x, g, 0, ws) })
		}
	}
}
