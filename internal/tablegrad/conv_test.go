package tablegrad

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
)

func convGeom(n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups int) geom.Conv {
	return geom.Conv{N: n, C: c, H: h, W: w, O: o, KH: kh, KW: kw, StrideH: sh, StrideW: sw,
		PadH: ph, PadW: pw, DilH: dh, DilW: dw, Groups: groups}
}

// testConvs cover every convolution kind: plain, stride 2, padding,
// dilation, mixed strides, grouped, depthwise, 1x1, and a kernel as large
// as the padded input.
var testConvs = []struct {
	name string
	g    geom.Conv
}{
	{"plain", convGeom(2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1)},
	{"pad", convGeom(2, 2, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"stride2-pad", convGeom(2, 3, 9, 8, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1)},
	{"stride2-5x5-pad2", convGeom(1, 2, 11, 10, 3, 5, 5, 2, 2, 2, 2, 1, 1, 1)},
	{"dilation2", convGeom(2, 2, 9, 9, 3, 3, 3, 1, 1, 2, 1, 2, 2, 1)},
	{"mixed", convGeom(1, 2, 10, 9, 3, 3, 2, 2, 1, 1, 0, 1, 2, 1)},
	{"groups", convGeom(2, 6, 6, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 3)},
	{"depthwise", convGeom(2, 5, 8, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5)},
	{"depthwise-s2", convGeom(2, 4, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4)},
	{"depthwise-mult2", convGeom(1, 3, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 3)},
	{"1x1", convGeom(3, 5, 4, 5, 17, 1, 1, 1, 1, 0, 0, 1, 1, 1)},
	{"whole", convGeom(2, 2, 3, 3, 9, 5, 5, 1, 1, 1, 1, 1, 1, 1)},
	{"lenet-conv2-small", convGeom(2, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1)},
	// Eight output channels per group: whole vector blocks in every run,
	// the runs cut short at the padded borders.
	{"pad-og8", convGeom(2, 3, 7, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"groups-og8", convGeom(2, 4, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2)},
	{"5x5-pad2-og8", convGeom(1, 2, 9, 11, 8, 5, 5, 1, 1, 2, 2, 1, 1, 1)},
	{"stride2-og8", convGeom(2, 3, 9, 10, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1)},
	{"dilation2-og16", convGeom(1, 2, 9, 9, 16, 3, 3, 1, 1, 2, 2, 2, 2, 1)},
	// ResNet-like layers at small sizes: rows of two, four and eight
	// vector blocks, odd sizes, strides 1 and 2, images over several
	// tasks.
	{"resnet-og16", convGeom(2, 16, 7, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"resnet-s2-og32", convGeom(2, 16, 9, 7, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1)},
	{"resnet-og64", convGeom(2, 8, 7, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"shortcut-1x1-s2-og32", convGeom(2, 16, 7, 7, 32, 1, 1, 2, 2, 0, 0, 1, 1, 1)},
	// Tap sums: a group of 48 channels (a padded column block), ten taps
	// (a last walk of two), and more output positions per image than
	// one walk sums; rows longer than a walk sums (a walk is then one
	// row), the 1x3 kernel's taps in one plane.
	{"og48-k10-long", convGeom(1, 10, 21, 30, 48, 1, 1, 1, 1, 0, 0, 1, 1, 1)},
	{"og16-wide-rows", convGeom(2, 2, 3, 301, 16, 1, 3, 1, 1, 1, 1, 1, 1, 1)},
	{"groups-og24-s2", convGeom(3, 6, 11, 13, 48, 3, 3, 2, 2, 1, 1, 1, 1, 2)},
}

// stConv returns the straight-through convolution gradients from the
// operand values the codes stand for, directly over outputs and taps
// (padding is real 0 and so contributes nothing), in float64, with the
// sums of the magnitudes of their terms.
func stConv(dy []float32, x, w []byte, g geom.Conv, s lut.Signs, q *Quant) (dx, dw, dxMag, dwMag []float64) {
	dx, dw = make([]float64, g.XLen()), make([]float64, g.WLen())
	dxMag, dwMag = make([]float64, g.XLen()), make([]float64, g.WLen())
	oh, ow, cg, og := g.OutH(), g.OutW(), g.InPerGroup(), g.OutPerGroup()
	sx, zx := float64(q.XScale), float64(q.XZero)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			sw, zw := float64(q.WScale[min(o, len(q.WScale)-1)]), float64(q.WZero[min(o, len(q.WZero)-1)])
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					d := float64(dy[((n*g.O+o)*oh+oy)*ow+ox])
					for c := 0; c < cg; c++ {
						ci := o/og*cg + c
						for ky := 0; ky < g.KH; ky++ {
							for kx := 0; kx < g.KW; kx++ {
								iy, ix := oy*g.StrideH-g.PadH+ky*g.DilH, ox*g.StrideW-g.PadW+kx*g.DilW
								if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
									continue
								}
								xi := ((n*g.C+ci)*g.H+iy)*g.W + ix
								wi := ((o*cg+c)*g.KH+ky)*g.KW + kx
								xv, wv := float64(s.X.Value(int(x[xi]))), float64(s.W.Value(int(w[wi])))
								dx[xi] += d * sw * (wv - zw)
								dxMag[xi] += math.Abs(d*sw) * (math.Abs(wv) + math.Abs(zw))
								dw[wi] += sx * d * (xv - zx)
								dwMag[wi] += math.Abs(sx*d) * (math.Abs(xv) + math.Abs(zx))
							}
						}
					}
				}
			}
		}
	}
	// The fast weight gradient also sums the padded positions' terms (the
	// zero point's code minus the zero point): zero in exact arithmetic,
	// but they count towards the rounding.
	for o := 0; o < g.O; o++ {
		for i := 0; i < g.WLen()/g.O; i++ {
			var sum float64
			for n := 0; n < g.N; n++ {
				for p := 0; p < oh*ow; p++ {
					sum += math.Abs(sx * float64(dy[(n*g.O+o)*oh*ow+p]))
				}
			}
			dwMag[o*g.WLen()/g.O+i] += sum * 2 * math.Abs(zx)
		}
	}
	return dx, dw, dxMag, dwMag
}

// TestConvExactTableIsStraightThrough: as for the GEMM, every kind of
// convolution, every signedness.
func TestConvExactTableIsStraightThrough(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range allSigns {
		tab := Prepare(mustGradient(t, lut.ExactTable(s), 2))
		for _, c := range testConvs {
			g := c.g
			x, w, dy := codes(rng, g.XLen()), codes(rng, g.WLen()), floats(rng, g.YLen())
			q := randomQuant(rng, g.O, true)
			if s.X == lut.Unsigned {
				q.XZero = int32(rng.IntN(256))
			}
			dx, dw := make([]float32, g.XLen()), make([]float32, g.WLen())
			if err := Conv2dData(dx, dy, x, w, g, tab, q, 0, nil); err != nil {
				t.Fatal(err)
			}
			if err := Conv2dWeight(dw, dy, x, w, g, tab, q, 0, nil); err != nil {
				t.Fatal(err)
			}
			wantX, wantW, magX, magW := stConv(dy, x, w, g, s, q)
			check(t, fmt.Sprintf("%v %s", s, c.name), dx, dw, wantX, wantW, magX, magW)
		}
	}
}

// convMagnitudes is gemmMagnitudes for a convolution, over the same terms
// as the references.
func convMagnitudes(gr *lut.Gradients, dy []float32, x, w []byte, g geom.Conv, q *Quant) (mx, mw []float64) {
	p, _ := resolve(q, g.O, nil, nil)
	mx, mw = make([]float64, g.XLen()), make([]float64, g.WLen())
	oh, ow, cg, og := g.OutH(), g.OutW(), g.InPerGroup(), g.OutPerGroup()
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					d := math.Abs(float64(dy[((n*g.O+o)*oh+oy)*ow+ox]))
					for c := 0; c < cg; c++ {
						ci := o/og*cg + c
						for ky := 0; ky < g.KH; ky++ {
							for kx := 0; kx < g.KW; kx++ {
								iy, ix := oy*g.StrideH-g.PadH+ky*g.DilH, ox*g.StrideW-g.PadW+kx*g.DilW
								wi := ((o*cg+c)*g.KH+ky)*g.KW + kx
								a, inside := int(p.pad), iy >= 0 && iy < g.H && ix >= 0 && ix < g.W
								xi := ((n*g.C+ci)*g.H+iy)*g.W + ix
								if inside {
									a = int(x[xi])
								}
								at := a<<8 | int(w[wi])
								mw[wi] += p.sx * d * (math.Abs(float64(gr.W[at])) + math.Abs(p.zx))
								if inside {
									mx[xi] += d * p.scale(o) * (math.Abs(float64(gr.X[at])) + math.Abs(p.zero(o)))
								}
							}
						}
					}
				}
			}
		}
	}
	return mx, mw
}

// TestConvMatchesReference: random and made-up non-linear slopes on every
// kind of convolution, with and without quantization parameters (the
// padding then reads a non-zero code), the activation codes random or (with
// the made-up slopes) in runs of one code; the fast kernels agree with the
// references within float32 rounding and give the same bits on 1, 2 and 3
// threads and without the vector forms, the weight gradient by the shape's
// choice and forced by histograms and by tap sums (on the usual chunks of
// images and on chunks of one image).
func TestConvMatchesReference(t *testing.T) {
	// One workspace serves every call on two threads, whatever its shape.
	shared := new(Workspace)
	rng := rand.New(rand.NewPCG(7, 8))
	grads := []*lut.Gradients{randomGradients(rng), mustGradient(t, nonLinearTable(t, allSigns[2]), 4)}
	for gi, gr := range grads {
		tab := Prepare(gr)
		for _, c := range testConvs {
			g := c.g
			x, w, dy := codes(rng, g.XLen()), codes(rng, g.WLen()), floats(rng, g.YLen())
			if gi == 1 {
				repeatCodes(rng, x)
			}
			for _, q := range []*Quant{nil, randomQuant(rng, g.O, false), randomQuant(rng, g.O, true)} {
				name := fmt.Sprintf("grads%d/%s/quant=%v", gi, c.name, q != nil)
				wantX, wantW := make([]float32, g.XLen()), make([]float32, g.WLen())
				if err := Conv2dDataRef(wantX, dy, x, w, g, gr, q); err != nil {
					t.Fatal(err)
				}
				if err := Conv2dWeightRef(wantW, dy, x, w, g, gr, q); err != nil {
					t.Fatal(err)
				}
				magX, magW := convMagnitudes(gr, dy, x, w, g, q)
				var firstX, firstW []float32
				// The weight gradient's paths and chunks give
				// different bits; each is compared with itself.
				var firstWBy [4][]float32
				config := 0
				run := func(label string, threads int) {
					var ws *Workspace
					if threads == 2 {
						ws = shared
					}
					dx, dw := make([]float32, g.XLen()), make([]float32, g.WLen())
					if err := Conv2dData(dx, dy, x, w, g, tab, q, threads, ws); err != nil {
						t.Fatal(err)
					}
					if err := Conv2dWeight(dw, dy, x, w, g, tab, q, threads, ws); err != nil {
						t.Fatal(err)
					}
					for i := range dx {
						if !closeTo(float64(dx[i]), float64(wantX[i]), magX[i], 1e-5) {
							t.Fatalf("%s %s: dx[%d] = %v, reference %v", name, label, i, dx[i], wantX[i])
						}
					}
					for i := range dw {
						if !closeTo(float64(dw[i]), float64(wantW[i]), magW[i], 1e-5) {
							t.Fatalf("%s %s: dw[%d] = %v, reference %v", name, label, i, dw[i], wantW[i])
						}
					}
					if firstX == nil {
						firstX = dx
					}
					if i := sameBits(dx, firstX); i >= 0 {
						t.Fatalf("%s %s: dx[%d] = %v, but %v on one thread", name, label, i, dx[i], firstX[i])
					}
					firstW = firstWBy[config]
					if firstW == nil {
						firstWBy[config] = dw
						return
					}
					if i := sameBits(dw, firstW); i >= 0 {
						t.Fatalf("%s %s: dw[%d] = %v, but %v on one thread", name, label, i, dw[i], firstW[i])
					}
				}
				// The last configuration: tap sums on chunks of one
				// image, so that a task's taps span many channels.
				paths := []weightPath{weightByShape, weightByHistogram, weightByTapSums, weightByTapSums}
				for i, path := range paths {
					config = i
					chunk := minTapSumPositions
					if i == 3 {
						chunk = 1
					}
					withTapSumChunk(chunk, func() {
						withWeightPath(path, func() {
							for _, threads := range []int{1, 2, 3} {
								run(fmt.Sprintf("config=%d/threads=%d", i, threads), threads)
							}
							withoutVector(func() { run(fmt.Sprintf("config=%d/no vector", i), 2) })
						})
					})
				}
			}
		}
	}
}

// repeatCodes makes about half of c runs of one code, of random lengths
// up to a dozen, code 0 (a ReLU's zero) among them: the histogram adds keep
// a run's sums in registers.
func repeatCodes(rng *rand.Rand, c []byte) {
	for i := 0; i < len(c); {
		n := 1 + rng.IntN(12)
		if rng.IntN(2) == 0 {
			v := c[i]
			if rng.IntN(2) == 0 {
				v = 0
			}
			for j := i; j < min(i+n, len(c)); j++ {
				c[j] = v
			}
		}
		i += n
	}
}

// withWeightPath runs f with Conv2dWeight's path forced.
func withWeightPath(p weightPath, f func()) {
	saved := forcedWeightPath
	forcedWeightPath = p
	defer func() { forcedWeightPath = saved }()
	f()
}

// withTapSumChunk runs f with the tap sums' chunks of images at least
// positions output positions.
func withTapSumChunk(positions int, f func()) {
	saved := minTapSumPositions
	minTapSumPositions = positions
	defer func() { minTapSumPositions = saved }()
	f()
}
