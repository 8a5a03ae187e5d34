package quantize

import (
	"math"
	"math/rand/v2"
	"testing"
)

// quantErrorRef is quantError as first written (math.Min/Max and a closure
// per integral); the faster version must return the very same bits, so the
// clipping search takes the same steps.
func quantErrorRef(counts []float64, width float64, start, end, codes int) float64 {
	dst := width * float64(end-start+1) / float64(codes)
	if dst == 0 {
		return 0
	}
	half := dst / 2
	sq := func(a, b float64) float64 { return (b*b*b - a*a*a) / 3 }
	interval := func(x float64) int {
		return int(math.Min(math.Max(math.Floor(x/dst), 0), float64(codes-1)))
	}
	sum := 0.0
	for i, c := range counts {
		if c == 0 {
			continue
		}
		a := float64(i-start) * width
		b := a + width
		ia, ib := interval(a), interval(b)
		ca := (float64(ia) + 0.5) * dst
		cb := (float64(ib) + 0.5) * dst
		var e float64
		if ia == ib {
			e = sq(a-ca, b-ca)
		} else {
			e = sq(a-ca, half) + float64(ib-ia-1)*sq(-half, half) + sq(-half, b-cb)
		}
		sum += c / width * e
	}
	return sum
}

func TestQuantErrorSameBitsAsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 2 + r.IntN(300)
		counts := make([]float64, n)
		for i := range counts {
			if r.IntN(3) > 0 {
				counts[i] = float64(r.IntN(1000)) * r.Float64()
			}
		}
		width := math.Exp(r.NormFloat64() * 3)
		start := r.IntN(n)
		end := start + r.IntN(n-start)
		codes := []int{2, 3, 16, 127, 128, 255, 256}[r.IntN(7)]
		got := quantError(counts, width, start, end, codes)
		want := quantErrorRef(counts, width, start, end, codes)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("trial %d: %v, reference %v", trial, got, want)
		}
	}
}

// TestHistogramParamsCache interleaves observations (widening and not),
// freezing and Params calls, and compares every answer with an observer
// restored from the same state, which has no cached range.
func TestHistogramParamsCache(t *testing.T) {
	for _, s := range []Scheme{
		{Bits: 8, CustomRange: true, QMin: 0, QMax: 127},
		{Bits: 8, Signed: true, Symmetric: true, PerChannel: true, Axis: 0},
	} {
		h, _ := NewHistogram(s, 256)
		r := rand.New(rand.NewPCG(3, 4))
		for step := range 40 {
			// Mostly narrow batches inside the range seen so far, which
			// move the clipping range without widening the histogram;
			// every seventh batch widens it.
			scale := 0.3
			if step%7 == 0 {
				scale = 4
			}
			v := make([]float32, 3*500)
			for i := range v {
				v[i] = float32(r.NormFloat64() * scale)
				if step%7 != 0 {
					v[i] = min(max(v[i], -1), 1)
				}
			}
			switch step % 10 {
			case 5:
				h.Freeze()
			case 8:
				h.Unfreeze()
			}
			h.Observe(v, []int{3, 500})
			for range 2 {
				got, err := h.Params()
				if err != nil {
					t.Fatal(err)
				}
				state, err := h.State()
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := ObserverFromState(state)
				if err != nil {
					t.Fatal(err)
				}
				want, err := fresh.Params()
				if err != nil {
					t.Fatal(err)
				}
				for c := range want.Scale {
					if got.Scale[c] != want.Scale[c] || got.ZeroPoint[c] != want.ZeroPoint[c] {
						t.Fatalf("%s step %d channel %d: cached params %g/%d, uncached %g/%d", s, step, c, got.Scale[c], got.ZeroPoint[c], want.Scale[c], want.ZeroPoint[c])
					}
				}
			}
		}
	}
}
