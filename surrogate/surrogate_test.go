package surrogate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/ops/kernel"
)

func mustParse(t testing.TB, spec string) *lut.Table {
	t.Helper()
	tab, err := multiplier.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func mustAnalyze(t testing.TB, tab *lut.Table, xh, wh *[256]int64) *Spectrum {
	t.Helper()
	s, err := Analyze(tab, xh, wh)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSurrogate(t testing.TB, s *Spectrum, r int) *Surrogate {
	t.Helper()
	sg, err := s.Surrogate(r)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// sharedTable reads an EvoApproxLib table from ../shared next to the module
// root, or skips the test when it is absent.
func sharedTable(t testing.TB, name string) *lut.Table {
	t.Helper()
	tab, err := lut.Load(shared.RequireLUT(t, name), lut.Both(lut.Unsigned))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestRankOneErrorByHand builds a table whose error is exactly the rank-1
// pattern (x mod 3)·(w mod 5) and checks that the decomposition finds rank
// 1, reproduces every entry with one term and has full fidelity there.
func TestRankOneErrorByHand(t *testing.T) {
	for _, signed := range []bool{false, true} {
		tab, err := lut.Tabulate("rank1", lut.Both(lut.SignednessOf(signed)), func(x, w int) int {
			return x*w + ((x%3+3)%3)*((w%5+5)%5)
		})
		if err != nil {
			t.Fatal(err)
		}
		s := mustAnalyze(t, tab, nil, nil)
		if s.Rank() != 1 {
			t.Fatalf("signed=%v: rank %d, want 1", signed, s.Rank())
		}
		// Mean of ((x mod 3)(w mod 5))² over all code pairs: it factors into
		// the mean of (x mod 3)² times the mean of (w mod 5)².
		var sx, sw float64
		for c := range 256 {
			a := float64((lut.SignednessOf(signed).Value(c)%3 + 3) % 3)
			b := float64((lut.SignednessOf(signed).Value(c)%5 + 5) % 5)
			sx += a * a
			sw += b * b
		}
		want := sx / 256 * sw / 256
		if got := s.Residual(0); math.Abs(got-want) > 1e-9*want {
			t.Errorf("signed=%v: Residual(0) = %v, want %v", signed, got, want)
		}
		if f := s.Fidelity(1); math.Abs(f-1) > 1e-12 {
			t.Errorf("signed=%v: Fidelity(1) = %v, want 1", signed, f)
		}
		sg := mustSurrogate(t, s, 5) // asks for more than the rank: keeps 1 term
		if sg.Rank() != 1 {
			t.Errorf("signed=%v: surrogate keeps %d terms, want 1", signed, sg.Rank())
		}
		u, v, err := sg.Factors(0)
		if err != nil {
			t.Fatal(err)
		}
		for x := range 256 {
			for w := range 256 {
				want := float64(((lut.SignednessOf(signed).Value(x)%3 + 3) % 3) * ((lut.SignednessOf(signed).Value(w)%5 + 5) % 5))
				if d := math.Abs(u[x]*v[w] - want); d > 1e-9 {
					t.Fatalf("signed=%v: u[%d]v[%d] = %v, want %v", signed, x, w, u[x]*v[w], want)
				}
			}
		}
	}
}

// TestResidualIsMeasuredError checks Residual(r), computed from singular
// values, against the weighted mean squared error of the surrogate's
// products computed entry by entry, for uniform and histogram weights.
func TestResidualIsMeasuredError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var xh, wh [256]int64
	for i := range 128 { // activations 0..127 only, skewed towards 0
		xh[i] = int64(rng.IntN(1000) * (128 - i))
	}
	for i := range 256 {
		wh[i] = int64(rng.IntN(100))
	}
	for _, spec := range []string{"trunc:t=4", "mitchell", "drum:k=4,signed=true"} {
		tab := mustParse(t, spec)
		for _, weighted := range []bool{false, true} {
			var s *Spectrum
			p, q := uniform(), uniform()
			if weighted {
				s = mustAnalyze(t, tab, &xh, &wh)
				p, q = probabilities(&xh), probabilities(&wh)
			} else {
				s = mustAnalyze(t, tab, nil, nil)
			}
			for _, r := range []int{0, 1, 3, 8} {
				sg := mustSurrogate(t, s, r)
				var got float64
				e := tab.Entries()
				for x := range 256 {
					for w := range 256 {
						d := float64(e[x<<8|w]) - sg.At(byte(x), byte(w))
						got += p[x] * q[w] * d * d
					}
				}
				if want := s.Residual(r); math.Abs(got-want) > 1e-8*s.Residual(0) {
					t.Errorf("%s weighted=%v r=%d: measured error %v, Residual %v", spec, weighted, r, got, want)
				}
				if kept := sg.Rank(); kept != min(r, s.Rank()) || sg.Residual() != s.Residual(kept) || sg.Fidelity() != s.Fidelity(kept) {
					t.Errorf("%s r=%d: surrogate keeps %d terms, reports residual %v fidelity %v, spectrum %v %v", spec, r, kept, sg.Residual(), sg.Fidelity(), s.Residual(kept), s.Fidelity(kept))
				}
			}
		}
	}
}

func uniform() [256]float64 {
	var p [256]float64
	for i := range p {
		p[i] = 1.0 / 256
	}
	return p
}

// probabilities repeats the documented mixing rule: 99% histogram, 1% uniform.
func probabilities(h *[256]int64) [256]float64 {
	var total float64
	for _, c := range h {
		total += float64(c)
	}
	var p [256]float64
	for i, c := range h {
		p[i] = 0.99*float64(c)/total + 0.01/256
	}
	return p
}

// TestWeightedBeatsUniformOnItsDistribution: under the weighted norm the
// weighted fit is optimal (Eckart–Young), so it must not lose to the
// uniform fit; for activations skewed towards small codes and weights
// around 0 (as after ReLU and in trained layers) it wins clearly on
// Mitchell's multiplier (measured: about 2.2x lower error at r = 1, 2, 4).
func TestWeightedBeatsUniformOnItsDistribution(t *testing.T) {
	var xh, wh [256]int64
	for i := range 128 {
		xh[i] = int64(1e6 * math.Exp(-float64(i)/16))
	}
	for i := range 256 {
		v := float64(int8(byte(i))) / 30
		wh[i] = int64(1e6 * math.Exp(-v*v/2))
	}
	p, q := probabilities(&xh), probabilities(&wh)
	for _, spec := range []string{"mitchell", "trunc:t=8", "loa:l=6"} {
		tab := mustParse(t, spec)
		sw := mustAnalyze(t, tab, &xh, &wh)
		su := mustAnalyze(t, tab, nil, nil)
		for _, r := range []int{1, 2, 4} {
			a, b := mustSurrogate(t, sw, r), mustSurrogate(t, su, r)
			var ea, eb float64
			e := tab.Entries()
			for x := range 256 {
				for w := range 256 {
					da := float64(e[x<<8|w]) - a.At(byte(x), byte(w))
					db := float64(e[x<<8|w]) - b.At(byte(x), byte(w))
					ea += p[x] * q[w] * da * da
					eb += p[x] * q[w] * db * db
				}
			}
			if ea > eb*(1+1e-9) {
				t.Errorf("%s r=%d: weighted fit error %v above the uniform fit's %v on the weighted distribution", spec, r, ea, eb)
			}
			if spec == "mitchell" && ea > 0.6*eb {
				t.Errorf("%s r=%d: weighted fit error %v not clearly below the uniform fit's %v", spec, r, ea, eb)
			}
		}
	}
}

func TestExactTable(t *testing.T) {
	for _, signed := range []bool{false, true} {
		tab := lut.ExactTable(lut.Both(lut.SignednessOf(signed)))
		sg, err := FitFidelity(tab, 1)
		if err != nil {
			t.Fatal(err)
		}
		if sg.Rank() != 0 || sg.Fidelity() != 1 || sg.Residual() != 0 {
			t.Fatalf("signed=%v: exact table gives rank %d fidelity %v residual %v, want 0, 1, 0", signed, sg.Rank(), sg.Fidelity(), sg.Residual())
		}
		rng := rand.New(rand.NewPCG(3, 4))
		m, n, k := 7, 5, 301
		x, w := randomCodes(rng, m*k), randomCodes(rng, n*k)
		want := make([]int32, m*n)
		kernel.GEMMRef(want, x, w, m, n, k, tab.Entries())
		got := make([]float64, m*n)
		if err := sg.GEMM64(got, x, w, m, n, k); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != float64(want[i]) { // integers below 2^53: exact
				t.Fatalf("signed=%v: acc[%d] = %v, want %d", signed, i, got[i], want[i])
			}
		}
	}
}

func randomCodes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

// testTables are the tables the kernel tests run: built-ins of both
// signednesses and, when ../shared is present, a real EvoApproxLib one.
func testTables(t *testing.T) []*lut.Table {
	tabs := []*lut.Table{
		mustParse(t, "mitchell"),
		mustParse(t, "trunc:t=6"),
		mustParse(t, "drum:k=4,signed=true"),
		mustParse(t, "loa:l=6"),
	}
	if !testing.Short() {
		tabs = append(tabs, sharedTableOrNil(t, "mul8u_L40")...)
	}
	return tabs
}

func sharedTableOrNil(t *testing.T, name string) []*lut.Table {
	var tab *lut.Table
	t.Run("load-"+name, func(t *testing.T) { tab = sharedTable(t, name) })
	if tab == nil {
		return nil
	}
	return []*lut.Table{tab}
}

// TestGEMMFullRank: at full rank the float64 surrogate reproduces the
// reference LUT kernel's integers after rounding, and the float32 one lies
// within float32 rounding of the k·(r+1)-term sum.
func TestGEMMFullRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {2, 31, 150}, {0, 4, 3}, {4, 3, 0}}
	for _, tab := range testTables(t) {
		s := mustAnalyze(t, tab, nil, nil)
		sg := mustSurrogate(t, s, s.Rank())
		maxAbs := float64(tab.MaxAbs())
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			x, w := randomCodes(rng, m*k), randomCodes(rng, n*k)
			want := make([]int32, m*n)
			kernel.GEMMRef(want, x, w, m, n, k, tab.Entries())
			got := make([]float64, m*n)
			got32 := make([]float32, m*n)
			for i := range got {
				got[i], got32[i] = math.NaN(), float32(math.NaN())
			}
			if err := sg.GEMM64(got, x, w, m, n, k); err != nil {
				t.Fatal(err)
			}
			if err := sg.GEMM(got32, x, w, m, n, k); err != nil {
				t.Fatal(err)
			}
			tol32 := 1e-5 * float64(k) * maxAbs
			for i := range want {
				if d := math.Abs(got[i] - float64(want[i])); !(d < 1e-3) {
					t.Fatalf("%s %v: float64 acc[%d] = %v, want %d", tab.Name(), sh, i, got[i], want[i])
				}
				if d := math.Abs(float64(got32[i]) - float64(want[i])); !(d <= tol32) {
					t.Fatalf("%s %v: float32 acc[%d] = %v, want %d within %v", tab.Name(), sh, i, got32[i], want[i], tol32)
				}
			}
		}
	}
}

// TestErrorFallsWithRank measures the accumulator error against the LUT
// kernel on uniform random codes for widely spaced ranks. The error of a
// sum is not guaranteed to fall with every single rank (the per-product
// criterion does not weigh bias specially), but across these gaps it must.
func TestErrorFallsWithRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m, n, k := 24, 20, 64
	for _, tab := range testTables(t) {
		x, w := randomCodes(rng, m*k), randomCodes(rng, n*k)
		ref := make([]int32, m*n)
		kernel.GEMMRef(ref, x, w, m, n, k, tab.Entries())
		s := mustAnalyze(t, tab, nil, nil)
		prev := math.Inf(1)
		// Ranks at or above the table's rank all give the full-rank result.
		ranks := []int{0}
		for _, r := range []int{2, 16, 64} {
			if r < s.Rank() {
				ranks = append(ranks, r)
			}
		}
		for _, r := range append(ranks, s.Rank()) {
			sg := mustSurrogate(t, s, r)
			got := make([]float64, m*n)
			if err := sg.GEMM64(got, x, w, m, n, k); err != nil {
				t.Fatal(err)
			}
			var sq float64
			for i := range ref {
				d := got[i] - float64(ref[i])
				sq += d * d
			}
			rms := math.Sqrt(sq / float64(len(ref)))
			if r > 0 && rms >= prev {
				t.Errorf("%s: RMS error %v at rank %d is not below %v at the previous rank", tab.Name(), rms, r, prev)
			}
			prev = rms
		}
		if prev > 1e-6 {
			t.Errorf("%s: full-rank RMS error %v", tab.Name(), prev)
		}
	}
}

func convGeoms() []geom.Conv {
	return []geom.Conv{
		{N: 1, C: 1, H: 1, W: 1, O: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 3, C: 3, H: 9, W: 7, O: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 2, C: 6, H: 11, W: 10, O: 4, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadH: 2, PadW: 1, DilH: 2, DilW: 1, Groups: 2},
		{N: 5, C: 7, H: 8, W: 9, O: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 7}, // depthwise
		{N: 2, C: 4, H: 5, W: 5, O: 8, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1, Groups: 4}, // depthwise, multiplier 2
	}
}

// TestConv2dFullRank checks the convolution against the reference LUT
// convolution at full rank, with a non-zero padding code (whose row of the
// error is not zero, so padding read as 0 would fail).
func TestConv2dFullRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tab := range testTables(t) {
		s := mustAnalyze(t, tab, nil, nil)
		full := mustSurrogate(t, s, s.Rank())
		low := mustSurrogate(t, s, 3)
		for gi, g := range convGeoms() {
			x, w := randomCodes(rng, g.XLen()), randomCodes(rng, g.WLen())
			pad := byte(37 + gi)
			want := make([]int32, g.YLen())
			kernel.Conv2dRef(want, x, w, pad, g, tab.Entries())
			got := make([]float64, g.YLen())
			if err := full.Conv2d64(got, x, w, pad, g); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if d := math.Abs(got[i] - float64(want[i])); !(d < 1e-3) {
					t.Fatalf("%s geometry %d: acc[%d] = %v, want %d", tab.Name(), gi, i, got[i], want[i])
				}
			}
			// The float32 path at a low rank agrees with the float64 one.
			a64 := make([]float64, g.YLen())
			a32 := make([]float32, g.YLen())
			if err := low.Conv2d64(a64, x, w, pad, g); err != nil {
				t.Fatal(err)
			}
			if err := low.Conv2d(a32, x, w, pad, g); err != nil {
				t.Fatal(err)
			}
			tol := 1e-5 * float64(g.FanIn()) * float64(tab.MaxAbs())
			for i := range a64 {
				if d := math.Abs(float64(a32[i]) - a64[i]); !(d <= tol) {
					t.Fatalf("%s geometry %d: float32 acc[%d] = %v, float64 %v", tab.Name(), gi, i, a32[i], a64[i])
				}
			}
		}
	}
}

// TestConv2dIsGEMMOfUnfoldedCodes cross-checks the convolution of a rank-2
// surrogate against its GEMM on codes unfolded independently here, one
// output at a time (a 1x1 spatial case needs no unfolding).
func TestConv2dIsGEMMOfUnfoldedCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	sg, err := Fit(mustParse(t, "kulkarni"), 2)
	if err != nil {
		t.Fatal(err)
	}
	g := geom.Conv{N: 2, C: 6, H: 1, W: 1, O: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 2}
	x, w := randomCodes(rng, g.XLen()), randomCodes(rng, g.WLen())
	conv := make([]float64, g.YLen())
	if err := sg.Conv2d64(conv, x, w, 0, g); err != nil {
		t.Fatal(err)
	}
	for img := range g.N {
		for o := range g.O {
			grp := o / 2
			one := make([]float64, 1)
			if err := sg.GEMM64(one, x[img*6+grp*3:img*6+grp*3+3], w[o*3:o*3+3], 1, 1, 3); err != nil {
				t.Fatal(err)
			}
			if got := conv[img*g.O+o]; math.Abs(got-one[0]) > 1e-9*math.Abs(one[0])+1e-9 {
				t.Errorf("image %d channel %d: conv %v, gemm %v", img, o, got, one[0])
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	tab := mustParse(t, "mitchell")
	var empty, negative [256]int64
	negative[3] = -1
	if _, err := Analyze(nil, nil, nil); err == nil {
		t.Error("Analyze(nil) gave no error")
	}
	if _, err := Analyze(tab, &empty, nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty histogram: %v", err)
	}
	if _, err := Analyze(tab, nil, &negative); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative histogram: %v", err)
	}
	if _, err := Fit(tab, -1); err == nil {
		t.Error("rank -1 gave no error")
	}
	if _, err := Fit(tab, 257); err == nil {
		t.Error("rank 257 gave no error")
	}
	for _, target := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := FitFidelity(tab, target); err == nil {
			t.Errorf("target %v gave no error", target)
		}
	}
	sg, err := Fit(tab, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sg.Factors(2); err == nil {
		t.Error("Factors(2) of a rank-2 surrogate gave no error")
	}
	acc := make([]float32, 6)
	if err := sg.GEMM(acc, make([]byte, 5), make([]byte, 9), 2, 3, 3); err == nil || !strings.Contains(err.Error(), "activations") {
		t.Errorf("short activations: %v", err)
	}
	if err := sg.GEMM(acc, make([]byte, 6), make([]byte, 8), 2, 3, 3); err == nil || !strings.Contains(err.Error(), "weights") {
		t.Errorf("short weights: %v", err)
	}
	if err := sg.GEMM(acc[:5], make([]byte, 6), make([]byte, 9), 2, 3, 3); err == nil || !strings.Contains(err.Error(), "output") {
		t.Errorf("short output: %v", err)
	}
	if err := sg.GEMM(acc, nil, nil, -1, 3, 3); err == nil {
		t.Error("negative m gave no error")
	}
	g := geom.Conv{N: 1, C: 3, H: 4, W: 4, O: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 2}
	if err := sg.Conv2d(make([]float32, 100), make([]byte, 100), make([]byte, 100), 0, g); err == nil || !strings.Contains(err.Error(), "groups") {
		t.Errorf("groups not dividing channels: %v", err)
	}
	g.Groups = 1
	if err := sg.Conv2d(make([]float32, g.YLen()), make([]byte, g.XLen()-1), make([]byte, g.WLen()), 0, g); err == nil || !strings.Contains(err.Error(), "activations") {
		t.Errorf("short conv activations: %v", err)
	}
	if err := sg.Conv2d(make([]float32, g.YLen()-1), make([]byte, g.XLen()), make([]byte, g.WLen()), 0, g); err == nil || !strings.Contains(err.Error(), "output") {
		t.Errorf("short conv output: %v", err)
	}
}
