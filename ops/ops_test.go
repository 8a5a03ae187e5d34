package ops

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/quantize"
)

// --- independent references -------------------------------------------

// refLinear returns y = x·Wᵀ (x m×k, W n×k) in float64.
func refLinear(x, w []float32, m, n, k int) []float64 {
	y := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for l := 0; l < k; l++ {
				y[i*n+j] += float64(x[i*k+l]) * float64(w[j*k+l])
			}
		}
	}
	return y
}

// refConv is the textbook grouped convolution in float64; pad is the value
// read outside the input.
func refConv(x, w []float32, g geom.Conv, pad float32) []float64 {
	oh, ow := g.OutH(), g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	y := make([]float64, g.YLen())
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					for c := 0; c < cg; c++ {
						for ky := 0; ky < g.KH; ky++ {
							for kx := 0; kx < g.KW; kx++ {
								iy := oy*g.StrideH - g.PadH + ky*g.DilH
								ix := ox*g.StrideW - g.PadW + kx*g.DilW
								v := pad
								if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
									v = x[((n*g.C+(o/og)*cg+c)*g.H+iy)*g.W+ix]
								}
								s += float64(v) * float64(w[((o*cg+c)*g.KH+ky)*g.KW+kx])
							}
						}
					}
					y[((n*g.O+o)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return y
}

// refFakeQuant fake-quantizes with the quantize package's own routine.
func refFakeQuant(p quantize.Params, v []float32, shape []int) ([]float32, []bool) {
	out, mask := make([]float32, len(v)), make([]bool, len(v))
	p.FakeQuant(out, v, mask, shape)
	return out, mask
}

func randFloats(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

func to64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}

func to32(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

func denseOf(shape []int, data []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
}

// --- fake quantization ------------------------------------------------

func TestFakeQuantHandComputed(t *testing.T) {
	// 3-bit affine codes 0..7, scale 0.5, zero point 1.
	p := quantize.PerTensor(0.5, 1, 0, 7)
	x := []float32{-1, -0.25, 0.3, 0.75, 1.25, 3.0, 5}
	// -1/0.5 = -2 → -1 → clamped to 0 → -0.5; -0.5 rounds to -0 → code 1 → 0;
	// 0.6 → 1 → 2 → 0.5; 1.5 → 2 → 3 → 1; 2.5 → 2 (half to even) → 3 → 1;
	// 6 → 7 → 3; 10 → 11 → clamped to 7 → 3.
	want := []float32{-0.5, 0, 0.5, 1, 1, 3, 3}
	wantGrad := []float32{0, 1, 1, 1, 1, 1, 0}
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, denseOf([]int{7}, x), gorgonia.WithName("x"))
	y, err := FakeQuant(xn, p)
	if err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(y, &yv)
	loss, _ := gorgonia.Sum(y)
	if _, err := gorgonia.Grad(loss, xn); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	dx, _ := xn.Grad()
	for i := range want {
		if got := yv.Data().([]float32)[i]; got != want[i] {
			t.Errorf("fq(%g) = %g, want %g", x[i], got, want[i])
		}
		if got := dx.Data().([]float32)[i]; got != wantGrad[i] {
			t.Errorf("grad at %g = %g, want %g", x[i], got, wantGrad[i])
		}
	}
}

func TestFakeQuantPerChannelAnyAxis(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	shape := []int{2, 3, 4}
	x := randFloats(r, 24, 2)
	for axis := 0; axis < 3; axis++ {
		n := shape[axis]
		scales, zps := make([]float32, n), make([]int32, n)
		for i := range scales {
			scales[i] = 0.05 + 0.03*float32(i)
			zps[i] = int32(i) - 1
		}
		p := quantize.PerChannel(axis, scales, zps, -8, 7) // 4-bit signed
		g := gorgonia.NewGraph()
		xn := gorgonia.NodeFromAny(g, denseOf(shape, x), gorgonia.WithName("x"))
		y, err := FakeQuant(xn, p)
		if err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		want, _ := refFakeQuant(p, x, shape)
		got := y.Value().Data().([]float32)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("axis %d: fq[%d] = %g, want %g", axis, i, got[i], want[i])
			}
		}
		m.Close()
	}
}

// --- approximate products ---------------------------------------------

// convCase is a convolution with non-trivial arguments used by several tests.
var convCase = struct {
	xs, ws []int
	args   ConvArgs
}{[]int{2, 4, 7, 6}, []int{6, 2, 3, 3}, ConvArgs{Stride: [2]int{2, 1}, Pad: [2]int{1, 2}, Dilation: [2]int{1, 2}, Groups: 2}}

// runForward evaluates one layer directly (no graph) and returns y and acc.
func runLinear(t *testing.T, s *LayerState, layout WeightLayout, x, w []float32, xs, ws []int) ([]float32, []int32) {
	t.Helper()
	ys, err := linearShape(layout, []gorgonia.DimSizer{tensor.Shape(xs), tensor.Shape(ws)})
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, ys.TotalSize())
	acc, err := linearForward(s, layout, new(runRecord), y, x, w, xs, ws)
	if err != nil {
		t.Fatal(err)
	}
	return y, acc
}

func runConv(t *testing.T, s *LayerState, args ConvArgs, x, w []float32, xs, ws []int) ([]float32, []int32) {
	t.Helper()
	g, err := args.geom(xs, ws)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, g.YLen())
	rec := new(runRecord)
	acc, err := convForward(s, rec, y, x, w, g)
	if err != nil {
		t.Fatal(err)
	}
	if acc == nil && s.Mode == Approximate {
		acc = convSums(t, s, rec, g)
	}
	return y, acc
}

// convSums returns the integer sums of the approximate convolution rec
// ran, for runs whose sums the kernel rescaled as it wrote them: the same
// kernel on the codes the run quantized.
func convSums(t *testing.T, s *LayerState, rec *runRecord, g geom.Conv) []int32 {
	t.Helper()
	acc := make([]int32, g.YLen())
	if err := s.lutConv2d(acc, rec.x.q.bytes, rec.w.q.bytes, byte(rec.xp.ZeroPoint[0]), g); err != nil {
		t.Fatal(err)
	}
	return acc
}

func tableOf(t *testing.T, signedX, signedW bool, f func(x, w int) int) *lut.Table {
	t.Helper()
	tab, err := lut.Tabulate("test", lut.Signs{X: lut.SignednessOf(signedX), W: lut.SignednessOf(signedW)}, f)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestAllZeroTableGivesZero(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	s := NewLayerState("zero", 1)
	s.XParams = quantize.PerTensor(0.05, 0, 0, 127)
	s.WParams = quantize.PerTensor(0.02, 0, -128, 127)
	s.Mode = Approximate
	if err := s.SetTable(tableOf(t, false, true, func(x, w int) int { return 0 })); err != nil {
		t.Fatal(err)
	}
	y, _ := runLinear(t, s, OutIn, randFloats(r, 5*9, 1), randFloats(r, 4*9, 1), []int{5, 9}, []int{4, 9})
	y2, _ := runConv(t, s, convCase.args, randFloats(r, 2*4*7*6, 1), randFloats(r, 6*2*9, 1), convCase.xs, convCase.ws)
	for i, v := range append(y, y2...) {
		if v != 0 {
			t.Fatalf("y[%d] = %g with an all-zero table", i, v)
		}
	}
}

// exactState returns a state with non-zero zero points and per-channel
// weights, in Approximate mode with the exact table.
func exactState(id string, outChannels int, wAxis int) *LayerState {
	s := NewLayerState(id, 1)
	s.XParams = quantize.PerTensor(0.04, 23, 0, 127)
	scales, zps := make([]float32, outChannels), make([]int32, outChannels)
	for i := range scales {
		scales[i] = 0.01 + 0.002*float32(i)
		zps[i] = int32(i%5) - 2
	}
	s.WParams = quantize.PerChannel(wAxis, scales, zps, -128, 127)
	s.Mode = Approximate
	if err := s.SetTable(lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed})); err != nil {
		panic(err)
	}
	return s
}

func TestExactTableEqualsQuantized(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	check := func(name string, approx, quant []float32) {
		t.Helper()
		assertRel(t, name, approx, quant, 1e-5)
	}
	for _, layout := range []WeightLayout{OutIn, InOut} {
		s := exactState("lin", 7, layout.outAxis())
		ws := []int{7, 13}
		if layout == InOut {
			ws = []int{13, 7}
		}
		x, w := randFloats(r, 6*13, 2), randFloats(r, 7*13, 0.5)
		ya, _ := runLinear(t, s, layout, x, w, []int{6, 13}, ws)
		s.Mode = Quantized
		yq, _ := runLinear(t, s, layout, x, w, []int{6, 13}, ws)
		check("linear "+layout.String(), ya, yq)
	}
	for _, args := range []ConvArgs{convCase.args, {Pad: [2]int{1, 1}, Groups: 4}} {
		ws := []int{6, 4 / args.Normalized().Groups, 3, 3}
		if args.Groups == 4 {
			ws = []int{4, 1, 3, 3} // depthwise
		}
		s := exactState("conv", ws[0], 0)
		x := randFloats(r, 2*4*7*6, 2)
		w := randFloats(r, ws[0]*ws[1]*9, 0.5)
		ya, _ := runConv(t, s, args, x, w, convCase.xs, ws)
		s.Mode = Quantized
		yq, _ := runConv(t, s, args, x, w, convCase.xs, ws)
		check("conv "+args.String(), ya, yq)
	}
}

func TestOperandOrder(t *testing.T) {
	// lut[127][0] = 42 and lut[0][127] = -23, everything else 0: the
	// activation indexes the row.
	tab := tableOf(t, false, true, func(x, w int) int {
		switch {
		case x == 127 && w == 0:
			return 42
		case x == 0 && w == 127:
			return -23
		}
		return 0
	})
	s := NewLayerState("order", 1)
	s.XParams = quantize.PerTensor(1, 0, 0, 127)
	s.WParams = quantize.PerTensor(1, 0, -128, 127)
	s.Mode = Approximate
	if err := s.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	// Row 0: x = 127 meets w = 0 → 42. Row 1: x = 0 meets w = 127 → -23.
	y, acc := runLinear(t, s, OutIn, []float32{127, 0}, []float32{0}, []int{2, 1}, []int{1, 1})
	if acc[0] != 42 || acc[1] != 0 || y[0] != 42 {
		t.Errorf("x=127, w=0: acc %v y %v, want 42 (lut[x][w])", acc, y)
	}
	_, acc = runLinear(t, s, OutIn, []float32{0}, []float32{127}, []int{1, 1}, []int{1, 1})
	if acc[0] != -23 {
		t.Errorf("x=0, w=127: acc %v, want -23", acc)
	}
	// The same through a 1×1 convolution.
	_, acc = runConv(t, s, ConvArgs{}, []float32{127, 0}, []float32{0}, []int{1, 1, 1, 2}, []int{1, 1, 1, 1})
	if acc[0] != 42 || acc[1] != 0 {
		t.Errorf("conv x=(127, 0), w=0: acc %v, want [42 0]", acc)
	}
	_, acc = runConv(t, s, ConvArgs{}, []float32{0}, []float32{127}, []int{1, 1, 1, 1}, []int{1, 1, 1, 1})
	if acc[0] != -23 {
		t.Errorf("conv x=0, w=127: acc %v, want -23", acc)
	}
}

// TestApproximateAgainstNaive checks the approximate conv against a direct
// evaluation of the statement, with a non-commutative table, non-zero zero
// points and per-channel weights: y = sx·sw[o]·Σ (lut[x][w] − zx·w − zw·x +
// zx·zw), padding read as the code zx.
func TestApproximateAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	tab := tableOf(t, false, true, func(x, w int) int { return x*w + (x^w)&7 - 3 })
	s := exactState("naive", 6, 0)
	if err := s.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	x, w := randFloats(r, 2*4*7*6, 2), randFloats(r, 6*2*9, 0.5)
	y, _ := runConv(t, s, convCase.args, x, w, convCase.xs, convCase.ws)
	g, _ := convCase.args.geom(convCase.xs, convCase.ws)
	xc, wc := make([]int32, len(x)), make([]int32, len(w))
	s.XParams.Codes(xc, x, convCase.xs)
	s.WParams.Codes(wc, w, convCase.ws)
	zx := s.XParams.ZeroPoint[0]
	oh, ow, cg := g.OutH(), g.OutW(), g.InPerGroup()
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			zw := s.WParams.ZeroPoint[o]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var sum int64
					for c := 0; c < cg; c++ {
						for ky := 0; ky < g.KH; ky++ {
							for kx := 0; kx < g.KW; kx++ {
								iy, ix := oy*g.StrideH-g.PadH+ky*g.DilH, ox*g.StrideW-g.PadW+kx*g.DilW
								xv := zx
								if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
									xv = xc[((n*g.C+(o/g.OutPerGroup())*cg+c)*g.H+iy)*g.W+ix]
								}
								wv := wc[((o*cg+c)*g.KH+ky)*g.KW+kx]
								sum += int64(tab.At(xv, wv)) - int64(zx*wv) - int64(zw*xv) + int64(zx*zw)
							}
						}
					}
					want := float64(sum) * float64(s.XParams.Scale[0]) * float64(s.WParams.Scale[o])
					got := y[((n*g.O+o)*oh+oy)*ow+ox]
					if math.Abs(float64(got)-want) > 1e-6*math.Max(1, math.Abs(want)) {
						t.Fatalf("y[%d,%d,%d,%d] = %g, want %g", n, o, oy, ox, got, want)
					}
				}
			}
		}
	}
}
