package surrogate

import (
	"fmt"

	"github.com/goapprox/goapprox/lut"
)

// Surrogate approximates a multiplier table as the exact product plus r
// rank-1 error terms:
//
//	table[x][w] ≈ x·w + Σ_{i<r} u_i[x]·v_i[w]
//
// with x and w the operand values of the codes (lut.Operand). It is
// immutable and safe for concurrent use. Build one with Fit, FitFidelity or
// Spectrum.Surrogate.
type Surrogate struct {
	table              *lut.Table
	rank               int
	residual, fidelity float64
	weighted           bool
	// x[t][code] and w[t][code] are the operand transforms of term t: term 0
	// is the exact product (the operand values), term i+1 is u_i, v_i with
	// the singular value folded in.
	x, w     [][256]float64
	x32, w32 [][256]float32
}

// Table returns the table the surrogate approximates.
func (s *Surrogate) Table() *lut.Table { return s.table }

// Rank returns the number r of error terms; products cost r+1 GEMMs' worth
// of arithmetic.
func (s *Surrogate) Rank() int { return s.rank }

// Residual returns the mean squared error per product of the surrogate
// against the table, under the code weighting it was fitted with
// (Spectrum.Residual).
func (s *Surrogate) Residual() float64 { return s.residual }

// Fidelity returns the share of the table's error the surrogate reproduces
// under the code weighting it was fitted with (Spectrum.Fidelity).
func (s *Surrogate) Fidelity() float64 { return s.fidelity }

// Weighted reports whether the surrogate was fitted to code histograms
// rather than to all code pairs equally.
func (s *Surrogate) Weighted() bool { return s.weighted }

// Factors returns u_i and v_i, the activation and weight factors of error
// term i (0 <= i < Rank()), indexed by code byte, singular value included.
func (s *Surrogate) Factors(i int) (u, v [256]float64, err error) {
	if i < 0 || i >= s.rank {
		return u, v, fmt.Errorf("surrogate: term %d does not exist; the surrogate has %d terms", i, s.rank)
	}
	return s.x[i+1], s.w[i+1], nil
}

// At returns the surrogate's product of activation code x and weight code w
// (code bytes, as lut.Index gives them), in float64.
func (s *Surrogate) At(x, w byte) float64 {
	var sum float64
	for t := range s.x {
		sum += s.x[t][x] * s.w[t][w]
	}
	return sum
}
