package quantize

import (
	"math"
	"math/rand/v2"
	"testing"
)

// largeTensor returns n values (enough for the observers' parallel scans)
// with outliers, NaN, ±Inf and signed zeros, the zeros placed late so that
// the order in which parts are merged would show in the sign of a zero
// bound.
func largeTensor(n int, zerosOnly bool) []float32 {
	r := rand.New(rand.NewPCG(9, 9))
	v := make([]float32, n)
	for i := range v {
		switch {
		case zerosOnly:
			v[i] = 0
		case r.IntN(1000) == 0:
			v[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 40, -35}[r.IntN(5)]
		default:
			v[i] = float32(r.NormFloat64())
		}
	}
	if zerosOnly {
		v[n-7] = float32(math.Copysign(0, -1))
	}
	return v
}

// TestScansSplitLikeSerial checks that the parallel scans of a per-tensor
// observer (range, non-finite count, histogram counts) equal the serial
// fold over the whole tensor bit for bit, on sizes around the split.
func TestScansSplitLikeSerial(t *testing.T) {
	for _, n := range []int{2*scanChunk - 1, 2 * scanChunk, 5*scanChunk + 13} {
		for _, zeros := range []bool{false, true} {
			values := largeTensor(n, zeros)
			lo, hi, bad := channelRanges(values, n, 1)
			wantLo, wantHi, wantBad := finiteRange(values, float32(math.Inf(1)), float32(math.Inf(-1)))
			if math.Float32bits(lo[0]) != math.Float32bits(wantLo) || math.Float32bits(hi[0]) != math.Float32bits(wantHi) || bad != wantBad {
				t.Fatalf("n=%d zeros=%v: range [%g, %g] with %d non-finite, want [%g, %g] with %d", n, zeros, lo[0], hi[0], bad, wantLo, wantHi, wantBad)
			}

			o, err := NewHistogram(Scheme{Bits: 8}, DefaultHistogramBins)
			if err != nil {
				t.Fatal(err)
			}
			// A first, narrower tensor, so that the large one widens the
			// histogram and adds to counts already there.
			o.Observe(values[:1000], []int{1000})
			o.Observe(values, []int{n})
			ref, _ := NewHistogram(Scheme{Bits: 8}, DefaultHistogramBins)
			ref.Observe(values[:1000], []int{1000})
			rlo, rhi, rbad := finiteRange(values, float32(math.Inf(1)), float32(math.Inf(-1)))
			ref.nonFinite += rbad
			if seen(rlo, rhi) {
				ref.ch[0].widen(rlo, rhi, ref.bins)
			}
			ref.ch[0].add(values, [][]uint32{make([]uint32, countWays*ref.bins)})
			if o.nonFinite != ref.nonFinite {
				t.Fatalf("n=%d zeros=%v: %d non-finite, want %d", n, zeros, o.nonFinite, ref.nonFinite)
			}
			got, want := o.ch[0], ref.ch[0]
			if got.lo != want.lo || got.hi != want.hi || len(got.counts) != len(want.counts) {
				t.Fatalf("n=%d zeros=%v: histogram spans [%g, %g], want [%g, %g]", n, zeros, got.lo, got.hi, want.lo, want.hi)
			}
			total := 0.0
			for i := range want.counts {
				if math.Float64bits(got.counts[i]) != math.Float64bits(want.counts[i]) {
					t.Fatalf("n=%d zeros=%v: bin %d holds %g, want %g", n, zeros, i, got.counts[i], want.counts[i])
				}
				total += got.counts[i]
			}
			// Widening spreads counts in fractions; their sum keeps the mass.
			if want := float64(1000 + n - int(ref.nonFinite)); math.Abs(total-want) > 1e-6*want {
				t.Fatalf("n=%d zeros=%v: %g values counted, want %g", n, zeros, total, want)
			}
			p1, err1 := o.Params()
			p2, err2 := ref.Params()
			if err1 != nil || err2 != nil || p1.Scale[0] != p2.Scale[0] || p1.ZeroPoint[0] != p2.ZeroPoint[0] {
				t.Fatalf("n=%d zeros=%v: params %v (%v), want %v (%v)", n, zeros, p1, err1, p2, err2)
			}
		}
	}
}

// TestCountIntoMatchesAddEach checks the interleaved counting against
// adding values one by one, from empty bins (whole counts, so equal), on
// lengths around the interleaving and with non-finite values and the top
// of the range.
func TestCountIntoMatchesAddEach(t *testing.T) {
	values := largeTensor(10007, false)
	for _, n := range []int{0, 1, 3, 4, 5, 4099, 10007} {
		v := values[:n]
		lo, hi, _ := finiteRange(v, float32(math.Inf(1)), float32(math.Inf(-1)))
		if !seen(lo, hi) {
			lo, hi = 0, 1
		}
		for _, span := range [][2]float32{{lo, hi}, {hi, hi}} {
			a := histChannel{lo: span[0], hi: span[1], counts: make([]float64, 64)}
			b := histChannel{lo: span[0], hi: span[1], counts: make([]float64, 64)}
			sets := make([]uint32, countWays*64)
			a.countInto(sets, v)
			a.merge([][]uint32{sets})
			b.addEach(v)
			for i := range b.counts {
				if a.counts[i] != b.counts[i] {
					t.Fatalf("n=%d span %v: bin %d holds %g, want %g", n, span, i, a.counts[i], b.counts[i])
				}
			}
		}
	}
}
