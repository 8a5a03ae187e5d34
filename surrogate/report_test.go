package surrogate

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/kernel"
)

var report = flag.Bool("report", false, "print the fidelity table of docs/surrogate.md (Fidelity per multiplier)")

// reportRanks are the ranks of the fidelity table.
var reportRanks = []int{1, 2, 4, 8}

// realisticCodes draws MNIST-like operands: activations are half zeros (as
// after ReLU), the rest uniform in 1..127; weights are normal around the
// weight zero point (128 for unsigned tables, 0 for signed ones) with
// standard deviation 40 codes, clipped to the code range.
func realisticCodes(rng *rand.Rand, m, n, k int, signedW bool) (x, w []byte) {
	x = make([]byte, m*k)
	for i := range x {
		if rng.IntN(2) == 1 {
			x[i] = byte(1 + rng.IntN(127))
		}
	}
	w = make([]byte, n*k)
	for i := range w {
		v := math.Round(rng.NormFloat64() * 40)
		if signedW {
			w[i] = byte(int8(max(-128, min(127, v))))
		} else {
			w[i] = byte(max(0, min(255, v+128)))
		}
	}
	return x, w
}

func histogram(codes []byte) *[256]int64 {
	var h [256]int64
	for _, c := range codes {
		h[c]++
	}
	return &h
}

// accError returns the RMS difference of the float32 surrogate GEMM from
// the LUT accumulator, relative to the RMS error of the exact product.
func accError(t *testing.T, sg *Surrogate, x, w []byte, m, n, k int, ref, exact []int32) float64 {
	got := make([]float32, m*n)
	if err := sg.GEMM(got, x, w, m, n, k); err != nil {
		t.Fatal(err)
	}
	var num, den float64
	for i := range ref {
		d := float64(got[i]) - float64(ref[i])
		e := float64(exact[i]) - float64(ref[i])
		num += d * d
		den += e * e
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// TestFidelityReport prints, for each multiplier, the surrogate's table
// fidelity and its accumulator error against the LUT kernel on a LeNet-5
// fc1-sized product (64x400x120) with realistic operands. It runs only with
// -args -report and asserts only that full rank reproduces the table.
func TestFidelityReport(t *testing.T) {
	if !*report {
		t.Skip("run with -args -report to print the fidelity table")
	}
	specs := []string{"trunc:t=4", "trunc:t=8", "mitchell", "drum:k=4", "drum:k=6", "kulkarni", "loa:l=6", "roba", "mitchell:signed=true", "drum:k=4,signed=true"}
	var tables []*lut.Table
	for _, s := range specs {
		tables = append(tables, mustParse(t, s))
	}
	for _, name := range []string{"mul8u_L40", "mul8u_17KS", "mul8u_2AC", "mul8u_DM1", "mul8u_7C1"} {
		tables = append(tables, sharedTableOrNil(t, name)...)
	}
	m, n, k := 64, 120, 400
	var b strings.Builder
	fmt.Fprintf(&b, "| multiplier | rank(E) | LUT err | fidelity r=1/2/4/8 | acc err, uniform fit, r=1/2/4/8 | acc err, histogram fit, r=1/2/4/8 |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|\n")
	for ti, tab := range tables {
		rng := rand.New(rand.NewPCG(uint64(ti), 77))
		x, w := realisticCodes(rng, m, n, k, tab.SignedW())
		ref, exact := make([]int32, m*n), make([]int32, m*n)
		kernel.GEMMRef(ref, x, w, m, n, k, tab.Entries())
		kernel.GEMMRef(exact, x, w, m, n, k, lut.ExactTable(lut.Signs{X: tab.Signs().X, W: tab.Signs().W}).Entries())
		var lutErr, refNorm float64
		for i := range ref {
			d := float64(ref[i]) - float64(exact[i])
			lutErr += d * d
			refNorm += float64(exact[i]) * float64(exact[i])
		}
		// Histograms from an independent sample of the same distribution:
		// the fit learns the distribution, not the operands it is scored on.
		hx, hw := realisticCodes(rand.New(rand.NewPCG(uint64(ti), 78)), m, n, k, tab.SignedW())
		su := mustAnalyze(t, tab, nil, nil)
		sh := mustAnalyze(t, tab, histogram(hx), histogram(hw))
		var fid, eu, eh []string
		for _, r := range reportRanks {
			fid = append(fid, fmt.Sprintf("%.3f", su.Fidelity(r)))
			eu = append(eu, fmtErr(accError(t, mustSurrogate(t, su, r), x, w, m, n, k, ref, exact)))
			eh = append(eh, fmtErr(accError(t, mustSurrogate(t, sh, r), x, w, m, n, k, ref, exact)))
		}
		fmt.Fprintf(&b, "| %s | %d | %.2g | %s | %s | %s |\n", tab.Name(), su.Rank(), math.Sqrt(lutErr/refNorm),
			strings.Join(fid, " / "), strings.Join(eu, " / "), strings.Join(eh, " / "))
		full := mustSurrogate(t, su, su.Rank())
		got := make([]float64, m*n)
		if err := full.GEMM64(got, x, w, m, n, k); err != nil {
			t.Fatal(err)
		}
		for i := range ref {
			if math.Abs(got[i]-float64(ref[i])) > 1e-3 {
				t.Fatalf("%s: full rank acc[%d] = %v, LUT %d", tab.Name(), i, got[i], ref[i])
			}
		}
	}
	t.Logf("\n%s", b.String())
}

func fmtErr(e float64) string {
	if e < 1e-4 {
		return "0"
	}
	return fmt.Sprintf("%.3f", e)
}
