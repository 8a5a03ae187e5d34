package errmodel

import (
	"fmt"
	"math"

	"github.com/goapprox/goapprox/lut"
)

// Moments are the mean and standard deviation of an error.
type Moments struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// mixture pools components of equal weight (the paper's Eq. 15-16 with
// equal weights): mean = E[m], variance = E[v] + Var[m]. The spread of the
// means is accumulated with Welford's update, so that equal means pool to
// exactly zero spread instead of a cancellation residue.
type mixture struct {
	n        float64
	mean     float64 // running mean of the component means
	m2       float64 // running Σ (m − mean)²
	sumOfVar float64 // Σ v
}

func (x *mixture) add(mean, variance float64) {
	x.n++
	d := mean - x.mean
	x.mean += d / x.n
	x.m2 += d * (mean - x.mean)
	x.sumOfVar += variance
}

func (x *mixture) moments() Moments {
	if x.n == 0 {
		return Moments{}
	}
	return Moments{Mean: x.mean, Std: math.Sqrt(math.Max(0, (x.sumOfVar+x.m2)/x.n))}
}

// errorMap returns e(x, w) = lut[x][w] − x·w for every table index pair,
// with the codes read by the table's signedness.
func errorMap(t *lut.Table) *[lut.Size]float64 {
	var e [lut.Size]float64
	entries := t.Entries()
	for xi := range 256 {
		x := t.Signs().X.Value(xi)
		for wi := range 256 {
			w := t.Signs().W.Value(wi)
			e[xi*256+wi] = float64(entries[xi*256+wi]) - float64(x*w)
		}
	}
	return &e
}

// columns holds m(w) and v(w), the mean and variance over the activation
// distribution of the error in each table column w.
type columns struct {
	mean, variance [256]float64
}

// columnMoments computes the column moments of e under the activation
// probabilities px (normalised, 256 bins). Bins of zero probability are
// skipped, so a receptive field's sparse histogram costs only its distinct
// codes.
func columnMoments(e *[lut.Size]float64, px *[256]float64) columns {
	var c columns
	for xi, p := range px {
		if p == 0 {
			continue
		}
		row := e[xi*256 : xi*256+256]
		for wi, v := range row {
			c.mean[wi] += p * v
		}
	}
	for xi, p := range px {
		if p == 0 {
			continue
		}
		row := e[xi*256 : xi*256+256]
		for wi, v := range row {
			d := v - c.mean[wi]
			c.variance[wi] += p * d * d
		}
	}
	return c
}

// sumOver returns the mean and variance of Σ_k e(x_k, w_k) when the K
// weight codes have the counts hw (Σ hw = K) and each activation is drawn
// independently from the distribution the columns were computed under:
// mean Σ_w hw(w)·m(w), variance Σ_w hw(w)·v(w).
func (c *columns) sumOver(hw *[256]float64) (mean, variance float64) {
	for wi, n := range hw {
		if n == 0 {
			continue
		}
		mean += n * c.mean[wi]
		variance += n * c.variance[wi]
	}
	return mean, variance
}

// sumRandomWeights returns the mean and variance of Σ_k e(x_k, w_k) when
// each of the K weights is also drawn independently, from pw (normalised):
// per product μe = Σ pw·m and σe² = Σ pw·(v + m²) − μe², times K.
func (c *columns) sumRandomWeights(pw *[256]float64, k int) (mean, variance float64) {
	var mu, second float64
	for wi, p := range pw {
		if p == 0 {
			continue
		}
		mu += p * c.mean[wi]
		second += p * (c.variance[wi] + c.mean[wi]*c.mean[wi])
	}
	kf := float64(k)
	return kf * mu, kf * math.Max(0, second-mu*mu)
}

// normalise checks a 256-bin histogram (non-negative, finite, not all zero)
// and returns it scaled to sum to 1.
func normalise(what string, h []float64) (*[256]float64, error) {
	if len(h) != 256 {
		return nil, fmt.Errorf("errmodel: %s histogram has %d bins, want 256 (one per code byte, code & 0xFF)", what, len(h))
	}
	var p [256]float64
	var sum float64
	for i, v := range h {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("errmodel: %s histogram bin %d is %g; counts must be finite and non-negative", what, i, v)
		}
		sum += v
	}
	if sum == 0 {
		return nil, fmt.Errorf("errmodel: %s histogram is empty: record histograms on a run in Quantized or Approximate mode first", what)
	}
	for i, v := range h {
		p[i] = v / sum
	}
	return &p, nil
}

// countsOf converts int64 counts (as ops.LayerState records them) to float64.
func countsOf(h [256]int64) []float64 {
	out := make([]float64, 256)
	for i, v := range h {
		out[i] = float64(v)
	}
	return out
}
