package metrics

import (
	"fmt"
	"math"

	"github.com/goapprox/goapprox/lut"
)

// Metrics are the error metrics of one table. JSON field names are the
// lower-case metric names.
type Metrics struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	SignedX     bool   `json:"signed_x"`
	SignedW     bool   `json:"signed_w"`
	Weighted    bool   `json:"weighted"` // computed under operand distributions

	MAE  float64 `json:"mae"`
	WCE  float64 `json:"wce"`
	EP   float64 `json:"ep"`
	MRE  float64 `json:"mre"`
	WCRE float64 `json:"wcre"`
	MSE  float64 `json:"mse"`
	Bias float64 `json:"bias"` // mean error
	Var  float64 `json:"var"`  // variance of the error
	Std  float64 `json:"std"`  // standard deviation of the error
	NMAE float64 `json:"nmae"` // MAE / 2^16
	NWCE float64 `json:"nwce"` // WCE / 2^16
	NMED float64 `json:"nmed"` // MAE / max|exact|
}

// Compute returns the metrics of t over all 65,536 operand pairs, each
// counted once, against the exact product of t's operand signedness.
func Compute(t *lut.Table) Metrics {
	uniform := make([]float64, 256)
	for i := range uniform {
		uniform[i] = 1.0 / 256 // a power of two: the uniform sums stay exact
	}
	m := compute(t, uniform, uniform)
	m.Weighted = false
	return m
}

// Weighted returns the metrics of t when the activation operand follows the
// histogram px and the weight operand, independently, the histogram pw: the
// pair (x, w) has probability px[x]pw[w]. Both histograms have 256 bins
// indexed like the table's axes, by the code's low byte (code & 0xFF), so on
// a signed axis bin 255 is the code -1. They need not be normalised; they
// must be non-negative, finite, and not all zero.
func Weighted(t *lut.Table, px, pw []float64) (Metrics, error) {
	nx, err := normalise("activation (x)", px)
	if err != nil {
		return Metrics{}, err
	}
	nw, err := normalise("weight (w)", pw)
	if err != nil {
		return Metrics{}, err
	}
	return compute(t, nx, nw), nil
}

// ErrorMoments returns the mean and variance of the product error of t
// under the operand histograms px and pw (see Weighted).
func ErrorMoments(t *lut.Table, px, pw []float64) (mean, variance float64, err error) {
	m, err := Weighted(t, px, pw)
	if err != nil {
		return 0, 0, err
	}
	return m.Bias, m.Var, nil
}

// Histogram counts codes into 256 bins by their low byte: the histogram
// Weighted expects.
func Histogram(codes []int32) []float64 {
	h := make([]float64, 256)
	for _, c := range codes {
		h[lut.Index(c)]++
	}
	return h
}

func normalise(what string, h []float64) ([]float64, error) {
	if len(h) != 256 {
		return nil, fmt.Errorf("metrics: the %s histogram has %d bins; it needs 256, one per operand byte", what, len(h))
	}
	sum := 0.0
	for i, v := range h {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metrics: the %s histogram bin %d is %v; bins must be finite and non-negative", what, i, v)
		}
		sum += v
	}
	if sum == 0 {
		return nil, fmt.Errorf("metrics: the %s histogram is all zero", what)
	}
	n := make([]float64, 256)
	for i, v := range h {
		n[i] = v / sum
	}
	return n, nil
}

// compute evaluates the metrics with pair probabilities px[x]*pw[w] (each
// summing to 1).
func compute(t *lut.Table, px, pw []float64) Metrics {
	m := Metrics{
		Name: t.Name(), Fingerprint: t.Fingerprint(),
		SignedX: t.SignedX(), SignedW: t.SignedW(), Weighted: true,
	}
	e, signs := t.Entries(), t.Signs()
	var maxExact int64
	var relMass float64 // probability of the pairs with exact != 0
	for xi := 0; xi < 256; xi++ {
		x := int64(signs.X.Value(xi))
		for wi := 0; wi < 256; wi++ {
			exact := x * int64(signs.W.Value(wi))
			maxExact = max(maxExact, abs(exact))
			p := px[xi] * pw[wi]
			if p == 0 {
				continue
			}
			err := float64(int64(e[xi<<8|wi]) - exact)
			ae := math.Abs(err)
			m.MAE += p * ae
			m.WCE = max(m.WCE, ae)
			m.MSE += p * err * err
			m.Bias += p * err
			if err != 0 {
				m.EP += p
			}
			if exact != 0 {
				rel := ae / float64(abs(exact))
				m.MRE += p * rel
				m.WCRE = max(m.WCRE, rel)
				relMass += p
			}
		}
	}
	if relMass > 0 {
		m.MRE /= relMass
	}
	// Second pass for the variance: MSE - Bias^2 cancels badly when the bias is large.
	for xi := 0; xi < 256; xi++ {
		x := int64(signs.X.Value(xi))
		for wi := 0; wi < 256; wi++ {
			if p := px[xi] * pw[wi]; p != 0 {
				d := float64(int64(e[xi<<8|wi])-x*int64(signs.W.Value(wi))) - m.Bias
				m.Var += p * d * d
			}
		}
	}
	m.Std = math.Sqrt(m.Var)
	m.NMAE = m.MAE / (1 << 16)
	m.NWCE = m.WCE / (1 << 16)
	m.NMED = m.MAE / float64(maxExact)
	return m
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
