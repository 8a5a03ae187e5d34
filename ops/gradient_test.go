package ops

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/internal/tablegrad"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/quantize"
)

func TestParseGradient(t *testing.T) {
	good := []struct {
		in   string
		want Gradient
		str  string
	}{
		{"", Gradient{}, "ste"},
		{"ste", Gradient{}, "ste"},
		{"table", Gradient{Kind: TableGradient, Window: DefaultGradientWindow}, "table:window=32"},
		{"table:window=0", Gradient{Kind: TableGradient}, "table:window=0"},
		{"table:window=127", Gradient{Kind: TableGradient, Window: 127}, "table:window=127"},
	}
	for _, c := range good {
		g, err := ParseGradient(c.in)
		if err != nil {
			t.Fatalf("ParseGradient(%q): %v", c.in, err)
		}
		if g != c.want || g.String() != c.str {
			t.Errorf("ParseGradient(%q) = %+v (%s), want %+v (%s)", c.in, g, g, c.want, c.str)
		}
		if back, err := ParseGradient(g.String()); err != nil || back != g {
			t.Errorf("%s does not read back: %+v, %v", g, back, err)
		}
	}
	bad := map[string]string{
		"table:window=-1":  "-1",
		"table:window=128": "128",
		"table:window=x":   "not an integer",
		"table:h=3":        "window=H",
		"ste:window=2":     "no options",
		"exact":            "unknown gradient",
	}
	for in, want := range bad {
		if _, err := ParseGradient(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseGradient(%q) = %v, want an error mentioning %q", in, err, want)
		}
	}
}

func TestSetGradientRejectsBadWindows(t *testing.T) {
	s := NewLayerState("fc", 1)
	for _, g := range []Gradient{
		{Kind: TableGradient, Window: -1},
		{Kind: TableGradient, Window: 128},
		{Kind: StraightThrough, Window: 3},
		{Kind: GradientKind(7)},
	} {
		err := s.SetGradient(g)
		if err == nil || !strings.Contains(err.Error(), `layer "fc"`) {
			t.Errorf("SetGradient(%+v) = %v, want an error naming the layer", g, err)
		}
		if s.Gradient != (Gradient{}) {
			t.Fatalf("a rejected gradient was set: %+v", s.Gradient)
		}
		// Set directly, it stops the next run.
		s.Gradient = g
		if err := s.Validate(); err == nil {
			t.Errorf("Validate accepted gradient %+v", g)
		}
		s.Gradient = Gradient{}
	}
	if err := s.SetGradient(Gradient{Kind: TableGradient, Window: 16}); err != nil || s.Gradient.Window != 16 {
		t.Fatalf("SetGradient(table, 16) = %v, state %+v", err, s.Gradient)
	}
}

// TestTableGradientsNeedApproximateMode checks the run-time error of table
// gradients on a layer whose forward pass did not use its table.
func TestTableGradientsNeedApproximateMode(t *testing.T) {
	r := rand.New(rand.NewSource(30))
	table := tableOf(t, false, true, func(a, b int) int { return a*b/3 + a - 7 })
	for _, lc := range append(layerCases(), vectorCase()) {
		for _, mode := range []Mode{Float, Quantized, Surrogate} {
			t.Run(lc.name+"/"+mode.String(), func(t *testing.T) {
				s := quantState(lc.name, mode, lc.ws[lc.wAxis], lc.wAxis)
				if len(lc.ws) == 1 {
					s.WParams = quantize.PerTensor(0.03, -1, -32, 31)
				}
				if err := s.SetTable(table); err != nil {
					t.Fatal(err)
				}
				if err := s.SetGradient(Gradient{Kind: TableGradient, Window: 2}); err != nil {
					t.Fatal(err)
				}
				x, w := randFloats(r, prod(lc.xs), 1), randFloats(r, prod(lc.ws), 1)
				err := gradErr(t, lc, s, x, w)
				if err == nil || !strings.Contains(err.Error(), "table gradients need Approximate mode") ||
					!strings.Contains(err.Error(), mode.String()) {
					t.Fatalf("got %v, want the error that table gradients need Approximate mode", err)
				}
			})
		}
	}
}

// gradErr runs forward and backward of the layer and returns the error.
func gradErr(t *testing.T, lc layerCase, s *LayerState, x, w []float32) error {
	t.Helper()
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, x), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, w), gorgonia.WithName("w"))
	out, err := lc.build(xn, wn, s)
	if err != nil {
		t.Fatal(err)
	}
	loss := gorgonia.Must(gorgonia.Sum(out))
	if _, err := gorgonia.Grad(loss, xn, wn); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	return m.RunAll()
}

// TestExactTableGradientsAreStraightThrough checks that the exact
// multiplier's slopes, taken by the same code as any table's, give the
// straight-through gradients (masks, zero points and per-channel scales
// included), for every window, in float32 and float64.
func TestExactTableGradientsAreStraightThrough(t *testing.T) {
	r := rand.New(rand.NewSource(31))
	exact := lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed})
	for _, lc := range append(layerCases(), vectorCase()) {
		for _, h := range []lut.Window{0, 3, 16} {
			t.Run(lc.name+"/window="+h.String(), func(t *testing.T) {
				x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
				gout := randFloats(r, len(lc.ref(x, w)), 1)
				state := func(g Gradient) *LayerState {
					s := quantState(lc.name, Approximate, lc.ws[lc.wAxis], lc.wAxis)
					if len(lc.ws) == 1 {
						s.WParams = quantize.PerTensor(0.03, -1, -32, 31)
					}
					if err := s.SetTable(exact); err != nil {
						t.Fatal(err)
					}
					if err := s.SetGradient(g); err != nil {
						t.Fatal(err)
					}
					return s
				}
				table := Gradient{Kind: TableGradient, Window: h}
				if len(lc.ws) > 1 {
					_, dx, dw, _ := graphGrads(t, lc, state(Gradient{}), x, w, gout)
					_, tdx, tdw, _ := graphGrads(t, lc, state(table), x, w, gout)
					assertRel(t, "dx", tdx, dx, 1e-6)
					assertRel(t, "dw", tdw, dw, 1e-6)
				}
				_, dx, dw := graphGrads64(t, lc, state(Gradient{}), x, w, gout)
				_, tdx, tdw := graphGrads64(t, lc, state(table), x, w, gout)
				assertRel64(t, "float64 dx", tdx, dx, 1e-6)
				assertRel64(t, "float64 dw", tdw, dw, 1e-6)
			})
		}
	}
}

// TestTableGradientsAgainstDefinition checks the layers' table gradients
// with a non-linear table against tablegrad's direct loops over the
// definition, fed with the codes and masks of the inputs.
func TestTableGradientsAgainstDefinition(t *testing.T) {
	r := rand.New(rand.NewSource(32))
	table := tableOf(t, false, true, func(a, b int) int { return a*b/3 + (a*a)%17 - b*b/40 + 5 })
	const h = 3
	slopes, err := lut.Gradient(table, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, lc := range layerCases() {
		t.Run(lc.name, func(t *testing.T) {
			x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
			gout := randFloats(r, len(lc.ref(x, w)), 1)
			s := quantState(lc.name, Approximate, lc.ws[lc.wAxis], lc.wAxis)
			if err := s.SetTable(table); err != nil {
				t.Fatal(err)
			}
			if err := s.SetGradient(Gradient{Kind: TableGradient, Window: h}); err != nil {
				t.Fatal(err)
			}
			_, dx, dw, _ := graphGrads(t, lc, s, x, w, gout)

			var xq, wq quantized
			xq.bytes, xq.mask = make([]byte, len(x)), make([]bool, len(x))
			wq.bytes, wq.mask = make([]byte, len(w)), make([]bool, len(w))
			quantizeTensor(&xq, s.XParams, x, lc.xs, nil, 1)
			quantizeTensor(&wq, s.WParams, w, lc.ws, nil, 1)
			if countFalse(xq.mask) == 0 || countFalse(wq.mask) == 0 {
				t.Fatal("test values are never clamped: the masks are untested")
			}
			q := &tablegrad.Quant{XScale: s.XParams.Scale[0], XZero: s.XParams.ZeroPoint[0],
				WScale: s.WParams.Scale, WZero: s.WParams.ZeroPoint}
			wantDX, wantDW := make([]float32, len(x)), make([]float32, len(w))
			if len(lc.xs) == 2 {
				m, k := lc.xs[0], lc.xs[1]
				inOut := lc.wAxis == 1
				n := lc.ws[lc.wAxis]
				wRows := wq.bytes
				if inOut {
					wRows = make([]byte, len(w))
					for l := 0; l < k; l++ {
						for j := 0; j < n; j++ {
							wRows[j*k+l] = wq.bytes[l*n+j]
						}
					}
				}
				check(t, tablegrad.GEMMDataRef(wantDX, gout, xq.bytes, wRows, m, n, k, slopes, q))
				check(t, tablegrad.GEMMWeightRef(wantDW, gout, xq.bytes, wRows, m, n, k, inOut, slopes, q))
			} else {
				g := convGeom(t, lc)
				check(t, tablegrad.Conv2dDataRef(wantDX, gout, xq.bytes, wq.bytes, g, slopes, q))
				check(t, tablegrad.Conv2dWeightRef(wantDW, gout, xq.bytes, wq.bytes, g, slopes, q))
			}
			applyMask(wantDX, xq.mask, 1)
			applyMask(wantDW, wq.mask, 1)
			assertRel(t, "dx", dx, wantDX, 1e-5)
			assertRel(t, "dw", dw, wantDW, 1e-5)
			// The straight-through gradients differ: the table matters.
			ste := quantState(lc.name, Approximate, lc.ws[lc.wAxis], lc.wAxis)
			if err := ste.SetTable(table); err != nil {
				t.Fatal(err)
			}
			_, sdx, _, _ := graphGrads(t, lc, ste, x, w, gout)
			if maxDiff(sdx, dx) < 1e-3 {
				t.Fatal("table gradients equal straight-through gradients with a non-linear table")
			}
			// float64 layers compute the same through float32 copies.
			_, dx64, dw64 := graphGrads64(t, lc, s, x, w, gout)
			assertRel64(t, "float64 dx", dx64, to64(dx), 1e-6)
			assertRel64(t, "float64 dw", dw64, to64(dw), 1e-6)
		})
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// convGeom returns the geometry of a convolution case, read from the
// graph's own ops.
func convGeom(t *testing.T, lc layerCase) geom.Conv {
	t.Helper()
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, make([]float32, prod(lc.xs))), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, make([]float32, prod(lc.ws))), gorgonia.WithName("w"))
	out, err := lc.build(xn, wn, NewLayerState("geom", 1))
	if err != nil {
		t.Fatal(err)
	}
	op := out.Op().(*Conv2dOp)
	gm, err := op.Args.geom(lc.xs, lc.ws)
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

// TestTableGradientsIndependentOfThreadCount runs table gradients with 1,
// 2 and 3 threads: the gradients must be identical bit for bit.
func TestTableGradientsIndependentOfThreadCount(t *testing.T) {
	r := rand.New(rand.NewSource(33))
	table := tableOf(t, false, true, func(a, b int) int { return a*b/3 + a - 7 })
	for _, lc := range append(layerCases(), bigLayerCases()...) {
		t.Run(lc.name, func(t *testing.T) {
			x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
			gout := randFloats(r, outLen(t, lc), 1)
			var ref [2][]float32
			for _, threads := range []int{1, 2, 3} {
				s := quantState(lc.name, Approximate, lc.ws[lc.wAxis], lc.wAxis)
				s.Threads = threads
				check(t, s.SetTable(table))
				check(t, s.SetGradient(Gradient{Kind: TableGradient, Window: 5}))
				_, dx, dw, _ := graphGrads(t, lc, s, x, w, gout)
				got := [2][]float32{dx, dw}
				if threads == 1 {
					ref = got
					continue
				}
				for k, what := range []string{"dx", "dw"} {
					for i := range got[k] {
						if math.Float32bits(got[k][i]) != math.Float32bits(ref[k][i]) {
							t.Fatalf("%s[%d] = %g with %d threads, %g with 1", what, i, got[k][i], threads, ref[k][i])
						}
					}
				}
			}
		})
	}
}

// TestGradientIsPartOfTheHash checks that layers differing only in their
// gradient never merge into one node, and that straight-through layers hash
// as they did before the option existed.
func TestGradientIsPartOfTheHash(t *testing.T) {
	g := gorgonia.NewGraph()
	r := rand.New(rand.NewSource(34))
	xl := gorgonia.NodeFromAny(g, denseOf([]int{2, 5}, randFloats(r, 10, 1)), gorgonia.WithName("xl"))
	wl := gorgonia.NodeFromAny(g, denseOf([]int{3, 5}, randFloats(r, 15, 1)), gorgonia.WithName("wl"))
	x := gorgonia.NodeFromAny(g, denseOf([]int{1, 2, 5, 5}, randFloats(r, 50, 1)), gorgonia.WithName("x"))
	w := gorgonia.NodeFromAny(g, denseOf([]int{2, 2, 3, 3}, randFloats(r, 36, 1)), gorgonia.WithName("w"))
	state := func(grad Gradient) *LayerState {
		s := NewLayerState("L", 1)
		s.Mode = Approximate
		check(t, s.SetTable(lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed})))
		check(t, s.SetGradient(grad))
		return s
	}
	grads := []Gradient{{}, {Kind: TableGradient}, {Kind: TableGradient, Window: 4}}
	lin, conv := map[*gorgonia.Node]bool{}, map[*gorgonia.Node]bool{}
	linHash, convHash := map[uint32]bool{}, map[uint32]bool{}
	for _, grad := range grads {
		a, err := Linear(xl, wl, state(grad), OutIn)
		check(t, err)
		b, err := Conv2d(x, w, state(grad), ConvArgs{})
		check(t, err)
		lin[a], conv[b] = true, true
		linHash[a.Op().Hashcode()], convHash[b.Op().Hashcode()] = true, true
		for wrt := range 2 {
			lg := &LinearGradOp{State: state(grad), WRT: wrt}
			cg := &Conv2dGradOp{State: state(grad), WRT: wrt}
			linHash[lg.Hashcode()], convHash[cg.Hashcode()] = true, true
		}
	}
	if len(lin) != len(grads) || len(conv) != len(grads) {
		t.Errorf("layers differing only in their gradient merged: %d linear and %d conv nodes for %d gradients", len(lin), len(conv), len(grads))
	}
	if want := 3 * len(grads); len(linHash) != want || len(convHash) != want {
		t.Errorf("%d linear and %d conv op hashes, want %d each", len(linHash), len(convHash), want)
	}
	// A straight-through state hashes as a state without the field.
	ste, plain := state(Gradient{}), NewLayerState("L", 1)
	plain.Mode = Approximate
	check(t, plain.SetTable(ste.Table))
	if (&LinearOp{State: ste}).Hashcode() != (&LinearOp{State: plain}).Hashcode() {
		t.Error("a straight-through layer's hash changed")
	}
}

// TestTableGradientsFollowTheWindow checks that changing the window of a
// compiled machine's layer changes its gradients on the next run (the
// prepared slopes are cached per table and window), and that going back
// gives the first gradients again.
func TestTableGradientsFollowTheWindow(t *testing.T) {
	r := rand.New(rand.NewSource(35))
	lc := layerCases()[0]
	table := tableOf(t, false, true, func(a, b int) int { return a*b/3 + (a*a)%17 - b*b/40 + 5 })
	s := quantState(lc.name, Approximate, lc.ws[lc.wAxis], lc.wAxis)
	check(t, s.SetTable(table))
	check(t, s.SetGradient(Gradient{Kind: TableGradient, Window: 0}))
	x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, x), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, w), gorgonia.WithName("w"))
	out, err := lc.build(xn, wn, s)
	check(t, err)
	loss := gorgonia.Must(gorgonia.Sum(out))
	_, err = gorgonia.Grad(loss, xn, wn)
	check(t, err)
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	run := func() []float32 {
		check(t, m.RunAll())
		defer m.Reset()
		v, err := xn.Grad()
		check(t, err)
		return append([]float32(nil), v.Data().([]float32)...)
	}
	raw := run()
	s.Gradient.Window = 8
	smooth := run()
	if maxDiff(raw, smooth) == 0 {
		t.Fatal("the window changed nothing")
	}
	s.Gradient.Window = 0
	if again := run(); maxDiff(raw, again) != 0 {
		t.Fatalf("window 0 again gives other gradients (max diff %g)", maxDiff(raw, again))
	}
}
