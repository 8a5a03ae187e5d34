package floatkernel

import (
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/ops/geom"
)

// zooDepthwise are the depthwise layers of the zoo's MobileNetV2 (batch 64,
// 28x28 inputs), whose forward and backward BenchmarkMobileNetV2Layers
// times inside the model.
var zooDepthwise = []struct {
	name string
	g    geom.Conv
}{
	{"b1.dw", dwGeom(64, 16, 28, 1)},
	{"b2.dw-s2", dwGeom(64, 64, 28, 2)},
	{"b3.dw", dwGeom(64, 96, 14, 1)},
	{"b4.dw-s2", dwGeom(64, 96, 14, 2)},
	{"b5.dw", dwGeom(64, 128, 7, 1)},
}

func dwGeom(n, c, hw, stride int) geom.Conv {
	return geom.Conv{N: n, C: c, H: hw, W: hw, O: c, KH: 3, KW: 3, StrideH: stride, StrideW: stride,
		PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: c}
}

// BenchmarkDepthwise times forward, backward-data and backward-weight of
// the zoo's depthwise layers, with process CPU time per op, and the forms
// a quantized layer's gradients take: the data gradient with the
// straight-through mask, the weight gradient from the input's codes.
func BenchmarkDepthwise(b *testing.B) {
	impl := gonum.Implementation{}
	for _, c := range zooDepthwise {
		g := c.g
		r := rand.New(rand.NewSource(1))
		x, w, y := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
		mask, codes := make([]bool, g.XLen()), make([]byte, g.XLen())
		r.Read(codes)
		for i := range mask {
			mask[i] = r.Intn(4) > 0
		}
		ws := new(Workspace)
		run := func(what string, f func() error) {
			b.Run(c.name+"/"+what, func(b *testing.B) {
				cpu := cputime.Process()
				defer func() { cputime.Report(b, cpu) }()
				for b.Loop() {
					if err := f(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		run("forward", func() error { return Conv2d(impl, y, x, w, g, 0, ws) })
		run("backward-data", func() error { return Conv2dBackwardData(impl, x, y, w, g, 0, ws) })
		run("backward-weight", func() error { return Conv2dBackwardWeight(impl, w, y, x, g, 0, ws) })
		run("backward-data-masked", func() error { return Conv2dBackwardDataMasked(impl, x, y, w, mask, g, 0, ws) })
		run("backward-weight-codes", func() error {
			return Conv2dBackwardWeightCodes(impl, w, y, codes, false, 3, 0.02, g, 0, ws)
		})
	}
}
