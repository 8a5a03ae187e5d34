package ops

import (
	"github.com/goapprox/goapprox/ops/geom"
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/golden"
	"github.com/goapprox/goapprox/internal/shared"
)

// dense64 is a float64 tensor holding the float32 values v.
func dense64(shape []int, v []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(to64(v)))
}

// graphGrads64 is graphGrads with the layer built on float64 tensors
// holding the same values.
func graphGrads64(t *testing.T, lc layerCase, s *LayerState, x, w, gout []float32) (y, dx, dw []float64) {
	t.Helper()
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, dense64(lc.xs, x), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, dense64(lc.ws, w), gorgonia.WithName("w"))
	out, err := lc.build(xn, wn, s)
	if err != nil {
		t.Fatal(err)
	}
	gn := gorgonia.NodeFromAny(g, dense64(out.Shape(), gout), gorgonia.WithName("gout"))
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, gn))))
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	if _, err := gorgonia.Grad(loss, xn, wn); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	get := func(v gorgonia.Value, err error) []float64 {
		if err != nil {
			t.Fatal(err)
		}
		return append([]float64(nil), v.Data().([]float64)...)
	}
	return get(yv, nil), get(xn.Grad()), get(wn.Grad())
}

// vectorCase is a linear layer whose weight is a vector: one output.
func vectorCase() layerCase {
	return layerCase{"linear/vector", []int{5, 7}, []int{7},
		func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Linear(x, w, s, InOut) },
		func(x, w []float32) []float64 { return refLinear(x, w, 5, 1, 7) }, 0}
}

// assertRel64 checks got against want within tol relative to the largest
// |want|.
func assertRel64(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s has %d elements, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	if scale == 0 {
		scale = 1
	}
	for i := range want {
		if d := math.Abs(got[i] - want[i]); !(d <= tol*scale) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %.3g > %.1g × %.3g)", what, i, got[i], want[i], d, tol, scale)
		}
	}
}

// TestFloat64MatchesFloat32 runs every layer kind in every mode on float64
// tensors holding float32 values and compares with the float32 layer and
// with float64 references: Approximate outputs are the float32 outputs
// before their final rounding (so rounding them gives the float32 bits),
// Float and Quantized outputs are the float64 products of the (fake-
// quantized) values, and the straight-through gradients agree.
func TestFloat64MatchesFloat32(t *testing.T) {
	r := rand.New(rand.NewSource(64))
	for _, lc := range append(layerCases(), vectorCase()) {
		for _, mode := range []Mode{Float, Quantized, Noise, Approximate, Surrogate, Observe} {
			t.Run(lc.name+"/"+mode.String(), func(t *testing.T) {
				x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
				state := func() *LayerState {
					s := quantState(lc.name, mode, lc.ws[lc.wAxis], lc.wAxis)
					if len(lc.ws) == 1 {
						s.WParams = DefaultWeightParams()
						s.WParams.Scale[0], s.WParams.QMin, s.WParams.QMax = 0.03, -32, 31
					}
					s.Training, s.NoiseSigma, s.NoiseMu = true, 0.1, 0.01
					if mode.NeedsTable() {
						if err := s.SetTable(tableOf(t, false, true, func(a, b int) int { return a*b/3 + a - 7 })); err != nil {
							t.Fatal(err)
						}
						s.Surrogate.Rank = 2
					}
					return s
				}
				gout := randFloats(r, len(lc.ref(x, w)), 1)
				y32, dx32, dw32, _ := graphGrads(t, lc, state(), x, w, gout)
				y64, dx64, dw64 := graphGrads64(t, lc, state(), x, w, gout)
				s := state()
				switch mode {
				case Approximate:
					for i := range y32 {
						if float32(y64[i]) != y32[i] {
							t.Fatalf("y[%d]: float64 %v rounds to %v, float32 layer %v", i, y64[i], float32(y64[i]), y32[i])
						}
					}
				case Float, Observe:
					assertRel64(t, "y", y64, lc.ref(x, w), 1e-14)
				case Quantized:
					xfq, _ := refFakeQuant(s.XParams, x, lc.xs)
					wfq, _ := refFakeQuant(s.WParams, w, lc.ws)
					assertRel64(t, "y", y64, lc.ref(xfq, wfq), 1e-6)
				default:
					assertRel64(t, "y", y64, to64(y32), 1e-5)
				}
				assertRel64(t, "dx", dx64, to64(dx32), 1e-5)
				assertRel64(t, "dw", dw64, to64(dw32), 1e-5)
			})
		}
	}
}

// TestFloat64FloatModeIsGorgonias checks that a float64 layer in Float mode
// computes gorgonia's own products bit for bit: Mul(x, W), Mul(X, theta)
// and Conv2d.
func TestFloat64FloatModeIsGorgonias(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	run := func(g *gorgonia.ExprGraph, n *gorgonia.Node) []float64 {
		var v gorgonia.Value
		gorgonia.Read(n, &v)
		m := gorgonia.NewTapeMachine(g)
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return append([]float64(nil), v.Data().([]float64)...)
	}
	same := func(what string, got, want []float64) {
		t.Helper()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s[%d] = %v, gorgonia %v", what, i, got[i], want[i])
			}
		}
	}
	cases := []struct {
		name       string
		xs, ws     []int
		plain, ops func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error)
	}{
		{"x·W", []int{70, 90}, []int{90, 80},
			func(x, w *gorgonia.Node, _ *LayerState) (*gorgonia.Node, error) { return gorgonia.Mul(x, w) },
			func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Linear(x, w, s, InOut) }},
		{"X·theta", []int{150, 5}, []int{5},
			func(x, w *gorgonia.Node, _ *LayerState) (*gorgonia.Node, error) { return gorgonia.Mul(x, w) },
			func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Linear(x, w, s, InOut) }},
		{"conv", []int{3, 4, 13, 11}, []int{6, 4, 3, 3},
			func(x, w *gorgonia.Node, _ *LayerState) (*gorgonia.Node, error) {
				return gorgonia.Conv2d(x, w, tensor.Shape{3, 3}, []int{1, 2}, []int{2, 1}, []int{1, 1})
			},
			func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) {
				return Conv2d(x, w, s, ConvArgs{Pad: [2]int{1, 2}, Stride: [2]int{2, 1}})
			}},
	}
	for _, c := range cases {
		x, w := randFloats(r, prod(c.xs), 1), randFloats(r, prod(c.ws), 1)
		var outs [2][]float64
		for i, f := range []func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error){c.plain, c.ops} {
			g := gorgonia.NewGraph()
			xn := gorgonia.NodeFromAny(g, dense64(c.xs, x), gorgonia.WithName("x"))
			wn := gorgonia.NodeFromAny(g, dense64(c.ws, w), gorgonia.WithName("w"))
			y, err := f(xn, wn, NewLayerState("l", 1))
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 && len(c.ws) == 1 {
				y = gorgonia.Must(gorgonia.Reshape(y, tensor.Shape{c.xs[0]}))
			}
			outs[i] = run(g, y)
		}
		same(c.name, outs[1], outs[0])
	}
}

// TestGoldenFloat64 runs the golden vectors on float64 tensors: the same
// integer accumulators, outputs that round to the float32 layer's, and the
// expected outputs and gradients.
func TestGoldenFloat64(t *testing.T) {
	golden.RunCases(t, shared.RequireOperators(t), func(t *testing.T, c *golden.Case, table []int32) {
		xs, ws := tensor.Shape(c.X.Shape), tensor.Shape(c.W.Shape)
		x64, w64 := to64(c.X.Float32), to64(c.W.Float32)
		y64 := make([]float64, tensor.Shape(c.Y.Shape).TotalSize())
		rec := new(runRecord)
		s := goldenState(t, c, table)
		var err error
		switch c.Meta.Kind {
		case "linear":
			err = linearForwardG(s, OutIn, rec, y64, x64, w64, xs, ws)
		case "conv2d":
			var g geom.Conv
			if g, err = convArgs(c.Meta).geom(xs, ws); err == nil {
				err = convForwardG(s, rec, y64, x64, w64, g)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range c.Acc.Int32 {
			if rec.acc[i] != a {
				t.Fatalf("acc[%d] = %d, want %d", i, rec.acc[i], a)
			}
		}
		_, y32 := goldenForward(t, c, goldenState(t, c, table))
		for i := range y32 {
			if float32(y64[i]) != y32[i] {
				t.Fatalf("y[%d] = %v rounds to %v, the float32 layer gives %v", i, y64[i], float32(y64[i]), y32[i])
			}
		}
		assertRel64(t, "y", y64, to64(c.Y.Float32), 1e-6)
		assertRel64(t, "y against the exact statement", y64, exactStatement(c, s, rec.acc), 1e-15)

		lc := layerCase{xs: c.X.Shape, ws: c.W.Shape, build: func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) {
			if c.Meta.Kind == "linear" {
				return Linear(x, w, s, OutIn)
			}
			return Conv2d(x, w, s, convArgs(c.Meta))
		}}
		gy, gx, gw := graphGrads64(t, lc, goldenState(t, c, table), c.X.Float32, c.W.Float32, c.GradOut.Float32)
		assertRel64(t, "y (graph)", gy, y64, 0)
		assertRel64(t, "grad_x", gx, to64(c.GradX.Float32), 1e-5)
		assertRel64(t, "grad_w", gw, to64(c.GradW.Float32), 1e-5)
	})
}

// TestFakeQuantFloat64 checks the float64 fake quantization and its
// gradient against the float32 op on the same values: the same codes, the
// dequantized value exact in float64.
func TestFakeQuantFloat64(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	shape := []int{3, 4, 5}
	x := randFloats(r, prod(shape), 2)
	s := quantState("fq", Quantized, 4, 1)
	for _, p := range []struct{ name string }{{"tensor"}, {"channel"}} {
		params := s.XParams
		if p.name == "channel" {
			params = s.WParams
		}
		want, mask := refFakeQuant(params, x, shape)
		g := gorgonia.NewGraph()
		xn := gorgonia.NodeFromAny(g, dense64(shape, x), gorgonia.WithName("x"))
		y, err := FakeQuant(xn, params)
		if err != nil {
			t.Fatal(err)
		}
		loss := gorgonia.Must(gorgonia.Sum(y))
		var yv gorgonia.Value
		gorgonia.Read(y, &yv)
		if _, err := gorgonia.Grad(loss, xn); err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		m.Close()
		got := yv.Data().([]float64)
		dx, _ := xn.Grad()
		for i := range want {
			ch := 0
			if params.IsPerChannel() {
				ch = (i / 5) % 4
			}
			code := params.Code(x[i], ch)
			exact := float64(code-params.ZeroPoint[ch]) * float64(params.Scale[ch])
			if got[i] != exact || float32(got[i]) != want[i] {
				t.Fatalf("%s: y[%d] = %v, want %v (float32 %v)", p.name, i, got[i], exact, want[i])
			}
			wantGrad := 0.0
			if mask[i] {
				wantGrad = 1
			}
			if d := dx.Data().([]float64)[i]; d != wantGrad {
				t.Fatalf("%s: dx[%d] = %v, want %v", p.name, i, d, wantGrad)
			}
		}
	}
}

// TestFloat64IndependentOfThreadCount runs the float64 layers forward and
// backward in every mode with 1 and 3 threads: outputs and gradients must
// be identical bit for bit, and equal the float32 layers' to rounding.
func TestFloat64IndependentOfThreadCount(t *testing.T) {
	r := rand.New(rand.NewSource(23))
	table := tableOf(t, false, true, func(a, b int) int { return a*b/3 + a - 7 })
	for _, lc := range append(bigLayerCases(), vectorCase()) {
		x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
		gout := randFloats(r, outLen(t, lc), 1)
		for _, mode := range []Mode{Float, Quantized, Noise, Approximate} {
			t.Run(lc.name+"/"+mode.String(), func(t *testing.T) {
				state := func(threads int) *LayerState {
					s := quantState(lc.name, mode, lc.ws[lc.wAxis], lc.wAxis)
					if len(lc.ws) == 1 {
						s.WParams = DefaultWeightParams()
						s.WParams.Scale[0] = 0.02
					}
					s.Threads, s.Training, s.NoiseSigma = threads, true, 0.1
					if err := s.SetTable(table); err != nil {
						t.Fatal(err)
					}
					return s
				}
				y1, dx1, dw1 := graphGrads64(t, lc, state(1), x, w, gout)
				y3, dx3, dw3 := graphGrads64(t, lc, state(3), x, w, gout)
				for k, pair := range [3][2][]float64{{y1, y3}, {dx1, dx3}, {dw1, dw3}} {
					for i := range pair[0] {
						if math.Float64bits(pair[0][i]) != math.Float64bits(pair[1][i]) {
							t.Fatalf("output %d[%d] = %v with 3 threads, %v with 1", k, i, pair[1][i], pair[0][i])
						}
					}
				}
				y32, _, _, _ := graphGrads(t, lc, state(2), x, w, gout)
				assertRel64(t, "y against float32", y1, to64(y32), 1e-5)
			})
		}
	}
}

// TestGenericConvAgainstNaive checks the generic convolution (float64, and
// float32 Float mode with FloatLikeGorgonia) forward and backward against
// textbook loops on random geometries: odd sizes, strides, padding,
// dilation, groups.
func TestGenericConvAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(31))
	tested := 0
	for i := range 40 {
		groups := 1 + r.Intn(3)
		a := ConvArgs{Stride: [2]int{1 + r.Intn(3), 1 + r.Intn(2)}, Pad: [2]int{r.Intn(3), r.Intn(2)},
			Dilation: [2]int{1 + r.Intn(2), 1 + r.Intn(3)}, Groups: groups}
		xs := []int{1 + r.Intn(3), groups * (1 + r.Intn(3)), 3 + r.Intn(9), 3 + r.Intn(9)}
		ws := []int{groups * (1 + r.Intn(4)), xs[1] / groups, 1 + r.Intn(3), 1 + r.Intn(3)}
		g, err := a.geom(xs, ws)
		if err != nil || g.OutH() < 1 || g.OutW() < 1 {
			continue
		}
		x, w := randFloats(r, prod(xs), 1), randFloats(r, prod(ws), 1)
		dy := randFloats(r, g.YLen(), 1)
		want := refConv(x, w, g, 0)
		// The adjoints by their definition: Σ y·dy is linear in x and w.
		wantDX, wantDW := make([]float64, len(x)), make([]float64, len(w))
		for j := range x {
			e := make([]float32, len(x))
			e[j] = 1
			wantDX[j] = dot(refConv(e, w, g, 0), dy)
		}
		for j := range w {
			e := make([]float32, len(w))
			e[j] = 1
			wantDW[j] = dot(refConv(x, e, g, 0), dy)
		}
		rec := &runRecord{ran: true, mode: Float}
		y := make([]float64, g.YLen())
		convFloatG(generic[float64](rec), y, to64(x), to64(w), g, 1+i%3)
		assertRel64(t, "y", y, want, 1e-12)
		dx, dw := make([]float64, len(x)), make([]float64, len(w))
		convBackwardG(rec, 0, dx, to64(x), to64(w), to64(dy), g, new([2]operandG[float64]), 2)
		convBackwardG(rec, 1, dw, to64(x), to64(w), to64(dy), g, new([2]operandG[float64]), 3)
		assertRel64(t, "dx", dx, wantDX, 1e-12)
		assertRel64(t, "dw", dw, wantDW, 1e-12)
		y32 := make([]float32, g.YLen())
		convFloatG(generic[float32](rec), y32, x, w, g, 2)
		assertRel64(t, "y (float32)", to64(y32), want, 1e-5)
		tested++
	}
	if tested < 20 {
		t.Fatalf("only %d of 40 random geometries were valid", tested)
	}
}

// exactStatement computes y = (acc − zx·Σw_q − zw[o]·Σx_q + K·zx·zw[o])·sx·
// sw[o] in float64 from a case's accumulators and the codes of its inputs
// (quantize.Params.Code), padding counted as the code zx: the statement
// the approximate ops implement, computed independently of them.
func exactStatement(c *golden.Case, s *LayerState, acc []int32) []float64 {
	xp, wp := s.XParams, s.WParams
	zx, sx := float64(xp.ZeroPoint[0]), float64(xp.Scale[0])
	xq := make([]float32, len(c.X.Float32))
	for i, v := range c.X.Float32 {
		xq[i] = float32(xp.Code(v, 0))
	}
	ch := func(o int) (zw, sw float64) {
		if wp.IsPerChannel() {
			return float64(wp.ZeroPoint[o]), float64(wp.Scale[o])
		}
		return float64(wp.ZeroPoint[0]), float64(wp.Scale[0])
	}
	outs := c.W.Shape[0]
	k := len(c.W.Float32) / outs
	wSum := make([]float64, outs)
	for o := range outs {
		for j := range k {
			wSum[o] += float64(wp.Code(c.W.Float32[o*k+j], min(o, len(wp.Scale)-1)))
		}
	}
	y := make([]float64, len(acc))
	if c.Meta.Kind == "linear" {
		for i := range len(acc) / outs {
			var xSum float64
			for _, v := range xq[i*k : (i+1)*k] {
				xSum += float64(v)
			}
			for o := range outs {
				zw, sw := ch(o)
				y[i*outs+o] = (float64(acc[i*outs+o]) + (-zx*wSum[o] - zw*xSum + float64(k)*zx*zw)) * sx * sw
			}
		}
		return y
	}
	g, _ := convArgs(c.Meta).geom(c.X.Shape, c.W.Shape)
	ones := make([]float32, len(c.W.Float32))
	for i := range ones {
		ones[i] = 1
	}
	win := refConv(xq, ones, g, float32(zx)) // Σx_q over each receptive field
	spatial := g.OutH() * g.OutW()
	for i := range y {
		o := (i / spatial) % g.O
		zw, sw := ch(o)
		y[i] = (float64(acc[i]) + (-zx*wSum[o] - zw*win[i] + float64(k)*zx*zw)) * sx * sw
	}
	return y
}
