package ops

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/quantize"
	"github.com/goapprox/goapprox/surrogate"
)

// directCase is one layer evaluated directly (no graph).
type directCase struct {
	name   string
	xs, ws []int
	wAxis  int
	run    func(t *testing.T, s *LayerState, x, w []float32) []float32
}

func directCases() []directCase {
	lin := func(layout WeightLayout) func(*testing.T, *LayerState, []float32, []float32) []float32 {
		return func(t *testing.T, s *LayerState, x, w []float32) []float32 {
			ws := []int{7, 13}
			if layout == InOut {
				ws = []int{13, 7}
			}
			y, _ := runLinear(t, s, layout, x, w, []int{6, 13}, ws)
			return y
		}
	}
	conv := func(args ConvArgs, ws []int) func(*testing.T, *LayerState, []float32, []float32) []float32 {
		return func(t *testing.T, s *LayerState, x, w []float32) []float32 {
			y, _ := runConv(t, s, args, x, w, convCase.xs, ws)
			return y
		}
	}
	dw := ConvArgs{Pad: [2]int{1, 1}, Groups: 4}
	return []directCase{
		{"linear/outin", []int{6, 13}, []int{7, 13}, 0, lin(OutIn)},
		{"linear/inout", []int{6, 13}, []int{13, 7}, 1, lin(InOut)},
		{"conv/grouped-dilated", convCase.xs, convCase.ws, 0, conv(convCase.args, convCase.ws)},
		{"conv/depthwise", convCase.xs, []int{4, 1, 3, 3}, 0, conv(dw, []int{4, 1, 3, 3})},
	}
}

// unsignedState returns a state with unsigned activations and weights,
// non-zero zero points everywhere (activation 23, weights around 128 per
// channel), for unsigned tables such as mitchell.
func unsignedState(id string, outChannels, wAxis int) *LayerState {
	s := NewLayerState(id, 1)
	s.XParams = quantize.PerTensor(0.04, 23, 0, 255)
	scales, zps := make([]float32, outChannels), make([]int32, outChannels)
	for i := range scales {
		scales[i] = 0.01 + 0.002*float32(i)
		zps[i] = 126 + int32(i%5)
	}
	s.WParams = quantize.PerChannel(wAxis, scales, zps, 0, 255)
	return s
}

func parseTable(t *testing.T, spec string) *lut.Table {
	t.Helper()
	tab, err := multiplier.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// runMode runs a copy of s in mode m (and, for Surrogate, with the given
// rank), leaving s unchanged.
func runMode(t *testing.T, c directCase, s *LayerState, m Mode, rank int, x, w []float32) []float32 {
	t.Helper()
	s.Mode, s.Surrogate.Rank = m, rank
	return c.run(t, s, x, w)
}

// TestSurrogateFullRankEqualsApproximate: at full rank the surrogate
// reproduces the table, so Surrogate mode must give Approximate mode's
// outputs up to float32 rounding of the sums, for linear and grouped,
// dilated and depthwise convolutions with non-zero zero points (padding
// reads the activation zero point) and per-channel weights.
func TestSurrogateFullRankEqualsApproximate(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	tables := []struct {
		name  string
		tab   *lut.Table
		state func(id string, outChannels, wAxis int) *LayerState
	}{
		{"mitchell", parseTable(t, "mitchell"), unsignedState},
		{"non-commutative", tableOf(t, false, true, func(x, w int) int { return x*w + (x^w)&7 - 3 }),
			func(id string, oc, axis int) *LayerState { return exactState(id, oc, axis) }},
	}
	for _, tc := range tables {
		for _, c := range directCases() {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				s := tc.state(c.name, c.ws[c.wAxis], c.wAxis)
				if err := s.SetTable(tc.tab); err != nil {
					t.Fatal(err)
				}
				x, w := randFloats(r, prod(c.xs), 2), randFloats(r, prod(c.ws), 0.5)
				approx := runMode(t, c, s, Approximate, 0, x, w)
				sur := runMode(t, c, s, Surrogate, 256, x, w)
				quant := runMode(t, c, s, Quantized, 0, x, w)
				if maxDiff(approx, quant) == 0 {
					t.Fatal("the table changes nothing here: test too weak")
				}
				assertRel(t, "surrogate at full rank", sur, approx, 1e-5)
			})
		}
	}
}

// TestSurrogateOfExactTableEqualsQuantized: an exact table has no error,
// so its surrogate at any rank is the exact product of the codes.
func TestSurrogateOfExactTableEqualsQuantized(t *testing.T) {
	r := rand.New(rand.NewSource(22))
	for _, c := range directCases() {
		s := exactState(c.name, c.ws[c.wAxis], c.wAxis)
		x, w := randFloats(r, prod(c.xs), 2), randFloats(r, prod(c.ws), 0.5)
		quant := runMode(t, c, s, Quantized, 0, x, w)
		for _, rank := range []int{0, 3, 256} {
			sur := runMode(t, c, s, Surrogate, rank, x, w)
			assertRel(t, c.name+" exact table, surrogate", sur, quant, 1e-5)
		}
	}
}

// TestSurrogateErrorFallsWithRank: on mitchell, whose error has rank 127,
// the distance of Surrogate mode to Approximate mode, relative to the
// multiplier's own deviation from the exact product, starts at 1 (rank 0
// is the exact product) and falls as the rank grows.
func TestSurrogateErrorFallsWithRank(t *testing.T) {
	r := rand.New(rand.NewSource(23))
	tab := parseTable(t, "mitchell")
	sp, err := surrogate.Analyze(tab, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Rank() != 127 {
		t.Fatalf("mitchell's error has rank %d; this test wants a high-rank table", sp.Rank())
	}
	for _, c := range directCases() {
		s := unsignedState(c.name, c.ws[c.wAxis], c.wAxis)
		if err := s.SetTable(tab); err != nil {
			t.Fatal(err)
		}
		x, w := randFloats(r, prod(c.xs), 3), randFloats(r, prod(c.ws), 0.8)
		approx := runMode(t, c, s, Approximate, 0, x, w)
		quant := runMode(t, c, s, Quantized, 0, x, w)
		own := rms(diff(approx, quant))
		prev := math.Inf(1)
		for _, rank := range []int{0, 1, 4, 16, 127} {
			rel := rms(diff(runMode(t, c, s, Surrogate, rank, x, w), approx)) / own
			t.Logf("%s rank %3d: |surrogate - LUT| / |LUT - exact| = %.4f", c.name, rank, rel)
			switch {
			case rank == 0 && math.Abs(rel-1) > 1e-4:
				t.Errorf("%s rank 0: relative error %.5f, want 1 (the exact product)", c.name, rel)
			case rank == 127 && rel > 1e-4:
				t.Errorf("%s full rank: relative error %.5f, want about 0", c.name, rel)
			case rel >= prev:
				t.Errorf("%s rank %d: relative error %.4f did not fall (previous %.4f)", c.name, rank, rel, prev)
			}
			prev = rel
		}
	}
}

func diff(a, b []float32) []float64 {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = float64(a[i]) - float64(b[i])
	}
	return d
}

func rms(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}

// TestSurrogateFitIsCached checks that Surrogate mode fits once per table
// and settings: a second run reuses the surrogate, a new rank reuses the
// decomposition, a new table or weighting makes a new one. It also checks
// the fidelity target against the surrogate package's own choice.
func TestSurrogateFitIsCached(t *testing.T) {
	mitchell, drum := parseTable(t, "mitchell"), parseTable(t, "drum:k=4")
	s := unsignedState("cache", 1, 0)
	if err := s.SetTable(mitchell); err != nil {
		t.Fatal(err)
	}
	s.Surrogate.Rank = 4
	a, err := s.FitSurrogate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.FitSurrogate()
	if a != b || a.Rank() != 4 || a.Table() != mitchell || a.Weighted() {
		t.Fatalf("second fit: %p (rank %d), first %p: want the same rank-4 uniform surrogate", b, b.Rank(), a)
	}
	sp := s.surrogate.spectrum
	s.Surrogate.Rank = 8
	c, _ := s.FitSurrogate()
	if c == a || c.Rank() != 8 || s.surrogate.spectrum != sp {
		t.Error("a rank change should build a new surrogate from the same decomposition")
	}
	// A renamed copy has the same products: no new decomposition.
	if err := s.SetTable(mitchell.WithName("renamed")); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.FitSurrogate(); d != c {
		t.Error("a renamed copy of the table was fitted again")
	}
	if err := s.SetTable(drum); err != nil {
		t.Fatal(err)
	}
	d, _ := s.FitSurrogate()
	if s.surrogate.spectrum == sp || d.Table() != drum || d.Rank() != 2 {
		t.Errorf("new table: got a rank-%d surrogate of %s; want drum's (error rank 2)", d.Rank(), d.Table().Name())
	}

	// A fidelity target picks the smallest rank reaching it.
	if err := s.SetTable(mitchell); err != nil {
		t.Fatal(err)
	}
	s.Surrogate = SurrogateSettings{Rank: 3, Fidelity: 0.99}
	f, err := s.FitSurrogate()
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := surrogate.Analyze(mitchell, nil, nil)
	want, _ := ref.RankFor(0.99)
	if f.Rank() != want || f.Fidelity() < 0.99 || ref.Fidelity(want-1) >= 0.99 {
		t.Errorf("fidelity 0.99 chose rank %d (fidelity %.4f); want rank %d", f.Rank(), f.Fidelity(), want)
	}

	// Weighted: the layer's recorded histograms give the package's
	// weighted fit; changing them refits.
	var xh, wh [256]int64
	for c := range 256 {
		xh[c], wh[c] = int64(c%7), int64(1+c%3)
	}
	s.Surrogate = SurrogateSettings{Rank: 2, Weighted: true, XHist: xh, WHist: wh}
	g, err := s.FitSurrogate()
	if err != nil {
		t.Fatal(err)
	}
	wsp, _ := surrogate.Analyze(mitchell, &xh, &wh)
	wref, _ := wsp.Surrogate(2)
	if !g.Weighted() || g.At(200, 17) != wref.At(200, 17) || g.At(3, 250) != wref.At(3, 250) {
		t.Errorf("weighted fit: At(200,17) = %g, want %g", g.At(200, 17), wref.At(200, 17))
	}
	s.Surrogate.XHist[5]++
	if h, _ := s.FitSurrogate(); h == g {
		t.Error("changed histograms did not refit")
	}
}

func TestSurrogateBadSettingsGiveErrors(t *testing.T) {
	s := unsignedState("bad", 1, 0)
	s.Mode = Surrogate
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "needs a table") {
		t.Errorf("Surrogate mode without a table: %v", err)
	}
	if err := s.SetTable(parseTable(t, "mitchell")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  SurrogateSettings
		want string
	}{
		{SurrogateSettings{Rank: 257}, "0..256"},
		{SurrogateSettings{Rank: -1}, "0..256"},
		{SurrogateSettings{Fidelity: math.NaN()}, "[0, 1]"},
		{SurrogateSettings{Fidelity: 1.5}, "[0, 1]"},
		{SurrogateSettings{Weighted: true}, "RecordHistograms"},
	} {
		s.Surrogate = c.set
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("settings %+v: Validate gave %v, want an error mentioning %q", c.set, err, c.want)
		}
		y := make([]float32, 1)
		if _, err := linearForward(s, OutIn, new(runRecord), y, []float32{1}, []float32{1}, []int{1, 1}, []int{1, 1}); err == nil {
			t.Errorf("settings %+v: a forward run succeeded", c.set)
		}
	}
}

// TestSurrogateSettingsInHash builds pairs of layers on the same inputs
// that differ only in their surrogate settings or in Approximate versus
// Surrogate mode, and checks that Gorgonia keeps them apart and that they
// compute different outputs.
func TestSurrogateSettingsInHash(t *testing.T) {
	g := gorgonia.NewGraph()
	r := rand.New(rand.NewSource(24))
	lc := layerCases()[2] // grouped, dilated conv
	xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, randFloats(r, prod(lc.xs), 3)), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, randFloats(r, prod(lc.ws), 0.8)), gorgonia.WithName("w"))
	tab := parseTable(t, "mitchell")
	state := func(mode Mode, set SurrogateSettings) *LayerState {
		s := unsignedState("L", lc.ws[0], 0)
		s.Mode, s.Surrogate = mode, set
		if err := s.SetTable(tab); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var hist [256]int64
	for c := range hist {
		hist[c] = int64(c%11 + 1)
	}
	other := hist
	other[0] += 1000
	pairs := []struct {
		name string
		a, b *LayerState
	}{
		{"rank", state(Surrogate, SurrogateSettings{Rank: 1}), state(Surrogate, SurrogateSettings{Rank: 8})},
		{"mode", state(Approximate, SurrogateSettings{Rank: 1}), state(Surrogate, SurrogateSettings{Rank: 1})},
		{"fidelity", state(Surrogate, SurrogateSettings{Fidelity: 0.5}), state(Surrogate, SurrogateSettings{Fidelity: 0.999})},
		{"weighting", state(Surrogate, SurrogateSettings{Rank: 1}), state(Surrogate, SurrogateSettings{Rank: 1, Weighted: true, XHist: hist, WHist: hist})},
		{"histograms", state(Surrogate, SurrogateSettings{Rank: 1, Weighted: true, XHist: hist, WHist: hist}),
			state(Surrogate, SurrogateSettings{Rank: 1, Weighted: true, XHist: other, WHist: hist})},
	}
	var outs []*gorgonia.Node
	for _, p := range pairs {
		a, err := lc.build(xn, wn, p.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := lc.build(xn, wn, p.b)
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Errorf("%s: the two layers were merged into one node", p.name)
		}
		outs = append(outs, a, b)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		if maxDiff(outs[2*i].Value().Data().([]float32), outs[2*i+1].Value().Data().([]float32)) == 0 {
			t.Errorf("%s: the two layers computed the same output", p.name)
		}
	}
}

// TestSurrogateModeSwitch runs one compiled TapeMachine with gradients,
// switching between Approximate and Surrogate modes (and ranks) through the
// shared state: each run matches a direct evaluation, and the gradients
// are the same straight-through gradients in both modes.
func TestSurrogateModeSwitch(t *testing.T) {
	r := rand.New(rand.NewSource(25))
	for _, lc := range layerCases() {
		t.Run(lc.name, func(t *testing.T) {
			x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
			s := quantState(lc.name, Approximate, lc.ws[lc.wAxis], lc.wAxis)
			if err := s.SetTable(parseTable(t, "mitchell:signed=true")); err != nil {
				t.Fatal(err)
			}
			g := gorgonia.NewGraph()
			xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, x), gorgonia.WithName("x"))
			wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, w), gorgonia.WithName("w"))
			out, err := lc.build(xn, wn, s)
			if err != nil {
				t.Fatal(err)
			}
			gn := gorgonia.NodeFromAny(g, denseOf(out.Shape(), randFloats(r, out.Shape().TotalSize(), 1)), gorgonia.WithName("gout"))
			loss, err := gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, gn)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := gorgonia.Grad(loss, xn, wn); err != nil {
				t.Fatal(err)
			}
			m := gorgonia.NewTapeMachine(g)
			defer m.Close()
			run := func() (y, dx, dw []float32) {
				t.Helper()
				m.Reset()
				if err := m.RunAll(); err != nil {
					t.Fatal(err)
				}
				gx, _ := xn.Grad()
				gw, _ := wn.Grad()
				return copyFloats(out.Value()), copyFloats(gx), copyFloats(gw)
			}
			direct := func(mode Mode, rank int) []float32 {
				d := *s
				d.Mode, d.Surrogate.Rank = mode, rank
				y := make([]float32, out.Shape().TotalSize())
				var err error
				if len(lc.xs) == 2 { // linear cases
					layout := OutIn
					if lc.wAxis == 1 {
						layout = InOut
					}
					_, err = linearForward(&d, layout, new(runRecord), y, x, w, lc.xs, lc.ws)
				} else {
					conv := out.Op().(*Conv2dOp)
					cg, _ := conv.Args.geom(lc.xs, lc.ws)
					_, err = convForward(&d, new(runRecord), y, x, w, cg)
				}
				if err != nil {
					t.Fatal(err)
				}
				return y
			}
			yA, dxA, dwA := run()
			assertRel(t, "approximate", yA, direct(Approximate, 0), 1e-6)
			s.Mode, s.Surrogate.Rank = Surrogate, 1
			y1, dx1, dw1 := run()
			assertRel(t, "surrogate rank 1", y1, direct(Surrogate, 1), 1e-6)
			if maxDiff(y1, yA) == 0 {
				t.Error("rank 1 gives Approximate mode's output: the switch did nothing")
			}
			if maxDiff(dx1, dxA) != 0 || maxDiff(dw1, dwA) != 0 {
				t.Error("gradients differ between Approximate and Surrogate modes; both are straight-through")
			}
			s.Surrogate.Rank = 256
			yF, _, _ := run()
			assertRel(t, "surrogate full rank", yF, yA, 1e-5)
			s.Mode = Approximate
			yA2, _, _ := run()
			if maxDiff(yA2, yA) != 0 {
				t.Error("back in Approximate mode the output changed")
			}
		})
	}
}
