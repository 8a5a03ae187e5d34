package ops

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/quantize"
)

// layerCase is one layer to differentiate: its input and weight shapes, and
// how to build it and evaluate it by reference.
type layerCase struct {
	name   string
	xs, ws []int
	build  func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error)
	ref    func(x, w []float32) []float64 // float64 reference of the float product
	wAxis  int                            // output-channel axis of the weights
}

func layerCases() []layerCase {
	g, _ := convCase.args.geom(convCase.xs, convCase.ws)
	dw := ConvArgs{Pad: [2]int{2, 1}, Dilation: [2]int{2, 1}, Groups: 4}
	gdw, _ := dw.geom([]int{1, 4, 6, 5}, []int{8, 1, 3, 3})
	return []layerCase{
		{"linear/outin", []int{4, 6}, []int{5, 6},
			func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Linear(x, w, s, OutIn) },
			func(x, w []float32) []float64 { return refLinear(x, w, 4, 5, 6) }, 0},
		{"linear/inout", []int{4, 6}, []int{6, 5},
			func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Linear(x, w, s, InOut) },
			func(x, w []float32) []float64 { return refLinear(x, transpose(w, 6, 5), 4, 5, 6) }, 1},
		{"conv/grouped-dilated", convCase.xs, convCase.ws,
			func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) {
				return Conv2d(x, w, s, convCase.args)
			},
			func(x, w []float32) []float64 { return refConv(x, w, g, 0) }, 0},
		{"conv/depthwise-multiplier2", []int{1, 4, 6, 5}, []int{8, 1, 3, 3},
			func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Conv2d(x, w, s, dw) },
			func(x, w []float32) []float64 { return refConv(x, w, gdw, 0) }, 0},
	}
}

// transpose returns the c×r transpose of an r×c matrix.
func transpose(a []float32, r, c int) []float32 {
	t := make([]float32, len(a))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = a[i*c+j]
		}
	}
	return t
}

// graphGrads builds L = sum(y ⊙ gout) for one layer and returns y, dL/dx,
// dL/dw from a TapeMachine, plus the layer's output node.
func graphGrads(t *testing.T, lc layerCase, s *LayerState, x, w, gout []float32) (y, dx, dw []float32, out *gorgonia.Node) {
	t.Helper()
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, x), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, w), gorgonia.WithName("w"))
	out, err := lc.build(xn, wn, s)
	if err != nil {
		t.Fatal(err)
	}
	gn := gorgonia.NodeFromAny(g, denseOf(out.Shape(), gout), gorgonia.WithName("gout"))
	y, dx, dw = runLoss(t, g, out, gn, xn, wn)
	return y, dx, dw, out
}

// finiteDiff returns the central-difference gradient of f at v.
func finiteDiff(f func([]float32) float64, v []float32, h float32) []float32 {
	g := make([]float32, len(v))
	p := append([]float32(nil), v...)
	for i := range v {
		p[i] = v[i] + h
		up := f(p)
		p[i] = v[i] - h
		down := f(p)
		p[i] = v[i]
		g[i] = float32((up - down) / (2 * float64(h)))
	}
	return g
}

func dot(a []float64, b []float32) float64 {
	var s float64
	for i := range a {
		s += a[i] * float64(b[i])
	}
	return s
}

func TestFloatGradientsFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for _, lc := range layerCases() {
		t.Run(lc.name, func(t *testing.T) {
			x, w := randFloats(r, prod(lc.xs), 1), randFloats(r, prod(lc.ws), 1)
			gout := randFloats(r, len(lc.ref(x, w)), 1)
			s := NewLayerState(lc.name, 1)
			y, dx, dw, _ := graphGrads(t, lc, s, x, w, gout)
			assertRel(t, "y", y, to32(lc.ref(x, w)), 1e-5)
			// True finite differences of the float op itself: its own
			// forward is differenced, in float32, so the tolerance is loose.
			run := func(xv, wv []float32) float64 {
				yv, _, _, _ := forwardOnly(t, lc, NewLayerState(lc.name, 1), xv, wv)
				return dot(to64(yv), gout)
			}
			assertRel(t, "dx", dx, finiteDiff(func(v []float32) float64 { return run(v, w) }, x, 1e-2), 2e-3)
			assertRel(t, "dw", dw, finiteDiff(func(v []float32) float64 { return run(x, v) }, w, 1e-2), 2e-3)
		})
	}
}

// forwardOnly evaluates the layer through a graph without gradients.
func forwardOnly(t *testing.T, lc layerCase, s *LayerState, x, w []float32) ([]float32, *gorgonia.Node, *gorgonia.ExprGraph, gorgonia.VM) {
	t.Helper()
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, x), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, w), gorgonia.WithName("w"))
	out, err := lc.build(xn, wn, s)
	if err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return copyFloats(out.Value()), out, g, m
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// quantState is a state whose ranges clamp some of the test values, so the
// masks matter: 6-bit activations and weights, non-zero zero points, and
// per-channel weight scales.
func quantState(id string, mode Mode, outChannels, wAxis int) *LayerState {
	s := NewLayerState(id, 7)
	s.Mode = mode
	s.XParams = quantize.PerTensor(0.05, 10, 0, 63)
	scales, zps := make([]float32, outChannels), make([]int32, outChannels)
	for i := range scales {
		scales[i] = 0.03 + 0.004*float32(i)
		zps[i] = int32(i%3) - 1
	}
	s.WParams = quantize.PerChannel(wAxis, scales, zps, -32, 31)
	return s
}

// TestQuantizedGradientsAreStraightThrough checks, in every quantized
// mode, that the gradients equal the finite-difference gradient of the
// exact product of the fixed fake-quantized tensors, masked where the
// value was clamped; the table does not change them.
func TestQuantizedGradientsAreStraightThrough(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	for _, lc := range layerCases() {
		for _, mode := range []Mode{Quantized, Approximate, Surrogate} {
			t.Run(lc.name+"/"+mode.String(), func(t *testing.T) {
				x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
				outCh := lc.ws[lc.wAxis]
				s := quantState(lc.name, mode, outCh, lc.wAxis)
				if mode.NeedsTable() {
					// A table far from exact: gradients must not notice it.
					if err := s.SetTable(tableOf(t, false, true, func(a, b int) int { return a*b/3 + a - 7 })); err != nil {
						t.Fatal(err)
					}
					s.Surrogate.Rank = 1
				}
				gout := randFloats(r, len(lc.ref(x, w)), 1)
				_, dx, dw, _ := graphGrads(t, lc, s, x, w, gout)
				xfq, xmask := refFakeQuant(s.XParams, x, lc.xs)
				wfq, wmask := refFakeQuant(s.WParams, w, lc.ws)
				wantDX := finiteDiff(func(v []float32) float64 { return dot(lc.ref(v, wfq), gout) }, xfq, 1e-2)
				wantDW := finiteDiff(func(v []float32) float64 { return dot(lc.ref(xfq, v), gout) }, wfq, 1e-2)
				applyMask(wantDX, xmask, 1)
				applyMask(wantDW, wmask, 1)
				if countFalse(xmask) == 0 || countFalse(wmask) == 0 {
					t.Fatal("test values are never clamped: the masks are untested")
				}
				assertRel(t, "dx", dx, wantDX, 1e-5)
				assertRel(t, "dw", dw, wantDW, 1e-5)
			})
		}
	}
}

func countFalse(m []bool) int {
	n := 0
	for _, v := range m {
		if !v {
			n++
		}
	}
	return n
}

// TestNoiseGradientFlowsThroughStd checks Noise mode in training: y =
// yq + n·std(yq)·sigma + mu with the recorded draws n, and its gradient,
// including the flow through std(yq), against finite differences of that
// formula in float64.
func TestNoiseGradientFlowsThroughStd(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, lc := range layerCases() {
		t.Run(lc.name, func(t *testing.T) {
			x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
			s := quantState(lc.name, Noise, lc.ws[lc.wAxis], lc.wAxis)
			s.Training, s.NoiseSigma, s.NoiseMu = true, 0.3, 0.05
			gout := randFloats(r, len(lc.ref(x, w)), 1)
			y, dx, dw, out := graphGrads(t, lc, s, x, w, gout)
			var noise []float32
			switch op := out.Op().(type) {
			case *LinearOp:
				noise = op.rec.noise.n
			case *Conv2dOp:
				noise = op.rec.noise.n
			}
			noisy := func(yq []float64) []float64 {
				var mean, ss float64
				for _, v := range yq {
					mean += v
				}
				mean /= float64(len(yq))
				for _, v := range yq {
					ss += (v - mean) * (v - mean)
				}
				std := math.Sqrt(ss / float64(len(yq)-1))
				out := make([]float64, len(yq))
				for i, v := range yq {
					out[i] = v + float64(noise[i])*std*s.NoiseSigma + s.NoiseMu
				}
				return out
			}
			xfq, xmask := refFakeQuant(s.XParams, x, lc.xs)
			wfq, wmask := refFakeQuant(s.WParams, w, lc.ws)
			assertRel(t, "y", y, to32(noisy(lc.ref(xfq, wfq))), 1e-5)
			wantDX := finiteDiff(func(v []float32) float64 { return dot(noisy(lc.ref(v, wfq)), gout) }, xfq, 1e-2)
			wantDW := finiteDiff(func(v []float32) float64 { return dot(noisy(lc.ref(xfq, v)), gout) }, wfq, 1e-2)
			applyMask(wantDX, xmask, 1)
			applyMask(wantDW, wmask, 1)
			assertRel(t, "dx", dx, wantDX, 1e-4)
			assertRel(t, "dw", dw, wantDW, 1e-4)
			// Without the std term the gradient would differ: make sure
			// the test sees it.
			plain := finiteDiff(func(v []float32) float64 { return dot(lc.ref(v, wfq), gout) }, xfq, 1e-2)
			applyMask(plain, xmask, 1)
			if maxDiff(plain, wantDX) < 1e-3 {
				t.Fatal("the std(y) term does not change the gradient here: test too weak")
			}
		})
	}
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestGroupedConv2dGradients checks the plain float grouped convolution op
// and its gradients against the reference.
func TestGroupedConv2dGradients(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	g, _ := convCase.args.geom(convCase.xs, convCase.ws)
	x, w := randFloats(r, g.XLen(), 1), randFloats(r, g.WLen(), 1)
	gout := randFloats(r, g.YLen(), 1)
	lc := layerCase{xs: convCase.xs, ws: convCase.ws,
		build: func(x, w *gorgonia.Node, _ *LayerState) (*gorgonia.Node, error) {
			return GroupedConv2d(x, w, convCase.args)
		}}
	y, dx, dw, _ := graphGrads(t, lc, nil, x, w, gout)
	assertRel(t, "y", y, to32(refConv(x, w, g, 0)), 1e-5)
	wantDX := finiteDiff(func(v []float32) float64 { return dot(refConv(v, w, g, 0), gout) }, x, 1e-2)
	wantDW := finiteDiff(func(v []float32) float64 { return dot(refConv(x, v, g, 0), gout) }, w, 1e-2)
	assertRel(t, "dx", dx, wantDX, 1e-5)
	assertRel(t, "dw", dw, wantDW, 1e-5)
}
