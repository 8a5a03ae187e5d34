package surrogate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/goapprox/goapprox/lut"
)

// uniformShare is the part of each weighting that is spread evenly over all
// 256 codes. A code that never occurred in a histogram would otherwise get
// weight 0, its factors would be unconstrained (and could not be unscaled),
// and one unseen code at run time could give an arbitrarily wrong product.
const uniformShare = 0.01

// Spectrum is the singular value decomposition of a table's error
// E[x][w] = table[x][w] - x·w, weighted by how often each activation code x
// and weight code w occurs. It is computed once per table and weighting;
// Surrogate(r) then builds surrogates of any rank without a new
// decomposition.
//
// The weighted problem is: minimise Σ_xw p(x) q(w) (E[x][w] - Ê[x][w])² over
// Ê of rank r, with p and q the activation and weight code distributions.
// Because the weight p(x)q(w) is separable, it is solved exactly by the SVD
// of diag(√p)·E·diag(√q) (Eckart–Young), then unscaled.
type Spectrum struct {
	table    *lut.Table
	sigma    []float64 // singular values of the weighted error, descending
	u, v     *mat.Dense
	sx, sw   [256]float64 // √p, √q
	rank     int
	weighted bool
}

// Analyze decomposes the error of table t. xHist and wHist count how often
// each activation and weight code byte occurs (as ops.LayerState.XHist and
// WHist record them); nil means every code is equally likely. Each
// histogram is mixed with 1% of the uniform distribution so that codes not
// seen are still approximated (less closely).
func Analyze(t *lut.Table, xHist, wHist *[256]int64) (*Spectrum, error) {
	if t == nil {
		return nil, fmt.Errorf("surrogate: Analyze needs a table, got nil")
	}
	p, err := distribution(xHist, "activation")
	if err != nil {
		return nil, err
	}
	q, err := distribution(wHist, "weight")
	if err != nil {
		return nil, err
	}
	s := &Spectrum{table: t, weighted: xHist != nil || wHist != nil}
	for i := range 256 {
		s.sx[i] = math.Sqrt(p[i])
		s.sw[i] = math.Sqrt(q[i])
	}
	e := t.Entries()
	weighted := mat.NewDense(256, 256, nil)
	for x := range 256 {
		xv := float64(t.Signs().X.Value(x))
		for w := range 256 {
			wv := float64(t.Signs().W.Value(w))
			err := float64(e[x<<8|w]) - xv*wv
			weighted.Set(x, w, s.sx[x]*err*s.sw[w])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(weighted, mat.SVDThin) {
		return nil, fmt.Errorf("surrogate: the SVD of the error of table %q did not converge", t.Name())
	}
	s.sigma = svd.Values(nil)
	s.u, s.v = new(mat.Dense), new(mat.Dense)
	svd.UTo(s.u)
	svd.VTo(s.v)
	// Numerical rank: singular values below this are rounding noise of a
	// 256x256 float64 decomposition, and terms for them would only cost time.
	tol := s.sigma[0] * 256 * 0x1p-52
	for s.rank < len(s.sigma) && s.sigma[s.rank] > tol {
		s.rank++
	}
	return s, nil
}

// distribution turns a histogram into probabilities mixed with the uniform
// distribution (see uniformShare); nil gives the uniform distribution.
func distribution(h *[256]int64, what string) ([256]float64, error) {
	var p [256]float64
	var total float64
	if h != nil {
		for i, c := range h {
			if c < 0 {
				return p, fmt.Errorf("surrogate: the %s histogram has a negative count %d at code %d", what, c, i)
			}
			total += float64(c)
		}
	}
	if total == 0 {
		if h != nil {
			return p, fmt.Errorf("surrogate: the %s histogram is empty; record codes first or pass nil for uniform weights", what)
		}
		for i := range p {
			p[i] = 1.0 / 256
		}
		return p, nil
	}
	for i, c := range h {
		p[i] = (1-uniformShare)*float64(c)/total + uniformShare/256
	}
	return p, nil
}

// Table returns the table whose error was decomposed.
func (s *Spectrum) Table() *lut.Table { return s.table }

// Rank returns the numerical rank of the (weighted) error: the number of
// terms a surrogate needs to reproduce the table up to float rounding.
// It is 0 for an exact table.
func (s *Spectrum) Rank() int { return s.rank }

// Values returns the singular values of the weighted error, largest first.
func (s *Spectrum) Values() []float64 { return append([]float64(nil), s.sigma...) }

// Residual returns the mean squared error per product of a rank-r surrogate
// against the table, in squared product units, averaged over the code
// distribution given to Analyze (uniform: over all 65536 pairs). Residual(0)
// is the mean squared error of the exact product against the table, i.e.
// of the multiplier itself. It is the tail energy Σ_{i≥r} σ_i².
func (s *Spectrum) Residual(r int) float64 {
	r = max(0, min(r, len(s.sigma)))
	var sum float64
	// Sum smallest first so small tails are not lost against big values.
	for i := len(s.sigma) - 1; i >= r; i-- {
		sum += s.sigma[i] * s.sigma[i]
	}
	return sum
}

// Fidelity returns the share of the table's error that a rank-r surrogate
// reproduces: 1 - Residual(r)/Residual(0), in [0, 1]. It is 0 for r = 0
// (the exact product alone) unless the table is exact, and 1 at full rank.
// An exact table has fidelity 1 at every rank.
func (s *Spectrum) Fidelity(r int) float64 {
	total := s.Residual(0)
	if total == 0 {
		return 1
	}
	return 1 - s.Residual(r)/total
}

// RankFor returns the smallest rank whose fidelity is at least target,
// which must lie in [0, 1].
func (s *Spectrum) RankFor(target float64) (int, error) {
	if !(target >= 0 && target <= 1) {
		return 0, fmt.Errorf("surrogate: fidelity target %v must lie in [0, 1] (share of the table's error reproduced)", target)
	}
	for r := 0; r < s.rank; r++ {
		if s.Fidelity(r) >= target {
			return r, nil
		}
	}
	return s.rank, nil
}

// Surrogate builds the rank-r surrogate of the table. r must lie in
// 0..256; ranks above Rank() add nothing, so the surrogate keeps
// min(r, Rank()) terms (see Surrogate.Rank).
func (s *Spectrum) Surrogate(r int) (*Surrogate, error) {
	if r < 0 || r > 256 {
		return nil, fmt.Errorf("surrogate: rank %d must lie in 0..256", r)
	}
	r = min(r, s.rank)
	t := s.table
	sg := &Surrogate{
		table:    t,
		rank:     r,
		residual: s.Residual(r),
		fidelity: s.Fidelity(r),
		weighted: s.weighted,
		x:        make([][256]float64, r+1),
		w:        make([][256]float64, r+1),
	}
	for c := range 256 {
		sg.x[0][c] = float64(t.Signs().X.Value(c))
		sg.w[0][c] = float64(t.Signs().W.Value(c))
	}
	for i := range r {
		// Split σ evenly between the factors so both operand transforms
		// have similar magnitudes, which keeps float32 rounding balanced.
		root := math.Sqrt(s.sigma[i])
		for c := range 256 {
			sg.x[i+1][c] = root * s.u.At(c, i) / s.sx[c]
			sg.w[i+1][c] = root * s.v.At(c, i) / s.sw[c]
		}
	}
	sg.x32, sg.w32 = narrow(sg.x), narrow(sg.w)
	return sg, nil
}

func narrow(f [][256]float64) [][256]float32 {
	out := make([][256]float32, len(f))
	for i := range f {
		for c := range 256 {
			out[i][c] = float32(f[i][c])
		}
	}
	return out
}

// Fit returns the rank-r surrogate of t under uniform code weights (see
// Analyze to weight by recorded code histograms).
func Fit(t *lut.Table, r int) (*Surrogate, error) {
	s, err := Analyze(t, nil, nil)
	if err != nil {
		return nil, err
	}
	return s.Surrogate(r)
}

// FitFidelity returns the surrogate of t of the smallest rank whose
// fidelity (Spectrum.Fidelity, uniform code weights) is at least target.
func FitFidelity(t *lut.Table, target float64) (*Surrogate, error) {
	s, err := Analyze(t, nil, nil)
	if err != nil {
		return nil, err
	}
	r, err := s.RankFor(target)
	if err != nil {
		return nil, err
	}
	return s.Surrogate(r)
}
