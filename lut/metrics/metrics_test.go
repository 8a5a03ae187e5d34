package metrics

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/lut"
)

// perturbed returns the exact table of the given signedness with delta[i]
// added to entry i (i = xi*256+wi).
func perturbed(t *testing.T, signed bool, delta map[int]int32) *lut.Table {
	t.Helper()
	e := *lut.ExactTable(lut.Both(lut.SignednessOf(signed))).Entries()
	for i, d := range delta {
		e[i] += d
	}
	tab, err := lut.FromEntries("perturbed", lut.Both(lut.SignednessOf(signed)), e[:])
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func check(t *testing.T, what string, got, want Metrics) {
	t.Helper()
	pairs := []struct {
		name      string
		got, want float64
	}{
		{"MAE", got.MAE, want.MAE}, {"WCE", got.WCE, want.WCE}, {"EP", got.EP, want.EP},
		{"MRE", got.MRE, want.MRE}, {"WCRE", got.WCRE, want.WCRE}, {"MSE", got.MSE, want.MSE},
		{"Bias", got.Bias, want.Bias}, {"Var", got.Var, want.Var}, {"Std", got.Std, want.Std},
		{"NMAE", got.NMAE, want.NMAE}, {"NWCE", got.NWCE, want.NWCE}, {"NMED", got.NMED, want.NMED},
	}
	for _, p := range pairs {
		if !near(p.got, p.want) {
			t.Errorf("%s: %s = %.17g, want %.17g", what, p.name, p.got, p.want)
		}
	}
}

func TestExactTablesHaveZeroError(t *testing.T) {
	for _, signed := range []bool{false, true} {
		check(t, "exact", Compute(lut.ExactTable(lut.Both(lut.SignednessOf(signed)))), Metrics{})
	}
}

func TestEvoApproxExactMultiplier(t *testing.T) {
	tab, err := lut.Load(shared.RequireLUT(t, "mul8u_1JFF"), lut.Both(lut.Unsigned))
	if err != nil {
		t.Fatal(err)
	}
	m := Compute(tab)
	check(t, "mul8u_1JFF", m, Metrics{})
	if m.Name != "mul8u_1JFF" {
		t.Errorf("name %q", m.Name)
	}
	// And a real approximate one is not exact: its error is visible.
	other, err := lut.Load(shared.RequireLUT(t, "mul8u_2AC"), lut.Both(lut.Unsigned))
	if err != nil {
		t.Fatal(err)
	}
	if m := Compute(other); m.MAE == 0 || m.EP == 0 {
		t.Errorf("mul8u_2AC has MAE %g EP %g, want > 0", m.MAE, m.EP)
	}
}

func TestOneWrongEntry(t *testing.T) {
	// Unsigned exact table with [2][3] = 7 instead of 6: one pair of 65,536 has
	// error +1; 255*255 pairs have a non-zero exact product.
	const n = 65536.0
	got := Compute(perturbed(t, false, map[int]int32{2*256 + 3: 1}))
	check(t, "[2][3]+1", got, Metrics{
		MAE: 1 / n, WCE: 1, EP: 1 / n, MRE: (1.0 / 6) / (255 * 255), WCRE: 1.0 / 6,
		MSE: 1 / n, Bias: 1 / n, Var: 1/n - 1/(n*n), Std: math.Sqrt(1/n - 1/(n*n)),
		NMAE: 1 / n / n, NWCE: 1 / n, NMED: 1 / n / (255 * 255),
	})
	// An error where the exact product is 0 counts in EP but not in MRE/WCRE.
	got = Compute(perturbed(t, false, map[int]int32{0: -4}))
	check(t, "[0][0]-4", got, Metrics{
		MAE: 4 / n, WCE: 4, EP: 1 / n, MSE: 16 / n, Bias: -4 / n,
		Var: 16/n - 16/(n*n), Std: math.Sqrt(16/n - 16/(n*n)), NMAE: 4 / n / n, NWCE: 4 / n, NMED: 4 / n / (255 * 255),
	})
}

func TestConstantOffset(t *testing.T) {
	// Every signed product off by -2: bias -2, no spread.
	delta := map[int]int32{}
	for i := 0; i < lut.Size; i++ {
		delta[i] = -2
	}
	got := Compute(perturbed(t, true, delta))
	// MRE: mean of 2/|x*w| over the 255*255 pairs of non-zero signed operands.
	var sum float64
	for x := -128; x < 128; x++ {
		for w := -128; w < 128; w++ {
			if x != 0 && w != 0 {
				sum += 2 / math.Abs(float64(x*w))
			}
		}
	}
	check(t, "all-2", got, Metrics{
		MAE: 2, WCE: 2, EP: 1, MRE: sum / (255 * 255), WCRE: 2, MSE: 4, Bias: -2,
		NMAE: 2.0 / 65536, NWCE: 2.0 / 65536, NMED: 2.0 / 16384, // max |signed product| = 128*128
	})
}

func TestWeighted(t *testing.T) {
	tab := perturbed(t, false, map[int]int32{2*256 + 3: 1, 0: 5})
	px, pw := make([]float64, 256), make([]float64, 256)
	px[2], px[3] = 3, 3 // unnormalised: half the mass on x=2, half on x=3
	pw[3] = 1
	got, err := Weighted(tab, px, pw)
	if err != nil {
		t.Fatal(err)
	}
	// Pairs (2,3) error +1 and (3,3) error 0, each with probability 1/2. The
	// error at (0,0) has probability 0 and must not reach WCE.
	check(t, "weighted", got, Metrics{
		MAE: 0.5, WCE: 1, EP: 0.5, MRE: 0.5 / 6, WCRE: 1.0 / 6, MSE: 0.5, Bias: 0.5, Var: 0.25, Std: 0.5,
		NMAE: 0.5 / 65536, NWCE: 1.0 / 65536, NMED: 0.5 / 65025,
	})
	if !got.Weighted {
		t.Error("Weighted flag not set")
	}
	mean, variance, err := ErrorMoments(tab, px, pw)
	if err != nil || mean != 0.5 || variance != 0.25 {
		t.Errorf("ErrorMoments = %g, %g, %v; want 0.5, 0.25", mean, variance, err)
	}

	// Uniform histograms reproduce the unweighted metrics.
	flat := make([]float64, 256)
	for i := range flat {
		flat[i] = 7
	}
	w, _ := Weighted(tab, flat, flat)
	check(t, "uniform", w, Compute(tab))
}

func TestWeightedSignedBinsAreLowBytes(t *testing.T) {
	// Signed table, error +2 at x = w = -1, which is index 255 on both axes.
	tab := perturbed(t, true, map[int]int32{255*256 + 255: 2})
	h := Histogram([]int32{-1, -1})
	if h[255] != 2 {
		t.Fatalf("Histogram put code -1 in the wrong bin: bin 255 = %g", h[255])
	}
	mean, variance, err := ErrorMoments(tab, h, h)
	if err != nil || mean != 2 || variance != 0 {
		t.Errorf("ErrorMoments at (-1,-1) = %g, %g, %v; want 2, 0", mean, variance, err)
	}
}

func TestWeightedRejectsBadHistograms(t *testing.T) {
	tab := lut.ExactTable(lut.Both(lut.Unsigned))
	good := make([]float64, 256)
	good[1] = 1
	nan := append([]float64(nil), good...)
	nan[7] = math.NaN()
	neg := append([]float64(nil), good...)
	neg[9] = -1
	for _, c := range []struct {
		h    []float64
		want string
	}{
		{good[:255], "255 bins"}, {nan, "bin 7 is NaN"}, {neg, "bin 9 is -1"}, {make([]float64, 256), "all zero"},
	} {
		if _, err := Weighted(tab, good, c.h); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}

func TestJSONFieldNames(t *testing.T) {
	b, err := json.Marshal(Compute(lut.ExactTable(lut.Both(lut.Unsigned))))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "mae", "wce", "ep", "mre", "wcre", "mse", "bias", "std", "var", "nmed"} {
		if !strings.Contains(string(b), `"`+k+`":`) {
			t.Errorf("JSON %s lacks field %q", b, k)
		}
	}
}

func BenchmarkCompute(b *testing.B) {
	t := lut.ExactTable(lut.Both(lut.Signed))
	for b.Loop() {
		Compute(t)
	}
}
