package f32

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goapprox/goapprox/internal/asm"
)

// TestAdamMatchesTwin checks that Adam gives the Go loop's bits for every
// length around the vector width and random ones, with non-finite
// gradients among the values, and the same Σ(w-w).
func TestAdamMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := AdamStep{LR: 1e-3, BC1: 1 - math.Pow(0.9, 3), BC2: 1 - math.Pow(0.999, 3), Eps: 1e-8, B1: 0.9, C1: 0.1, B2: 0.999, C2: 0.001}
	for _, n := range lengths(r) {
		w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range n {
			w[i], g[i], m[i], v[i] = r.Float32()*2-1, float32(r.NormFloat64()), float32(r.NormFloat64())*0.1, r.Float32()*0.01
		}
		if n > 5 {
			g[n/2] = float32(math.Inf(1))
		}
		want := [4][]float32{clone(w), clone(g), clone(m), clone(v)}
		wantCheck := adamGo(s, want[0], want[1], want[2], want[3])
		forEachSetting(t, func(t *testing.T) {
			got := [4][]float32{clone(w), clone(g), clone(m), clone(v)}
			check := Adam(s, got[0], got[1], got[2], got[3])
			if !sameBit(check, wantCheck) {
				t.Fatalf("n=%d: check %v, twin %v", n, check, wantCheck)
			}
			for k, name := range []string{"w", "g", "m", "v"} {
				if i := sameBits(got[k], want[k]); i >= 0 {
					t.Fatalf("n=%d asm=%v: %s[%d] = %v, twin %v", n, asm.Enabled(), name, i, got[k][i], want[k][i])
				}
			}
		})
	}
}

// TestAdamByHand checks one element against the update written out.
func TestAdamByHand(t *testing.T) {
	s := AdamStep{LR: 0.1, BC1: 0.1, BC2: 0.001, Eps: 1e-8, B1: 0.9, C1: 0.1, B2: 0.999, C2: 0.001}
	w, g, m, v := []float32{1, 1, 1, 1, 1}, []float32{2, 2, 2, 2, 2}, make([]float32, 5), make([]float32, 5)
	forEachSetting(t, func(t *testing.T) {
		copy(w, []float32{1, 1, 1, 1, 1})
		clear(m)
		clear(v)
		if check := Adam(s, w, g, m, v); check != 0 {
			t.Fatalf("check %v for finite weights", check)
		}
		// m = 0.2, v = 0.004, mHat = 2, vHat = 4, step = 0.1·2/(2+1e-8).
		want := float32(1 - 0.1*2/(2+1e-8))
		for i := range w {
			if m[i] != float32(0.1*2) || v[i] != float32(float32(0.001*2)*2) || w[i] != want {
				t.Fatalf("element %d: w %v m %v v %v, want w %v m 0.2 v 0.004", i, w[i], m[i], v[i], want)
			}
		}
	})
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

func sameBit(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
