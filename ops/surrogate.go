package ops

import (
	"encoding/binary"
	"fmt"
	"hash"
	"math"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/surrogate"
)

// SurrogateSettings choose the error surrogate (package surrogate) a layer
// uses in Surrogate mode. The zero value is the exact product alone (rank
// 0) fitted with uniform code weights.
type SurrogateSettings struct {
	// Rank is the number of rank-1 error terms, 0..256. Ranks above the
	// numerical rank of the table's error add nothing and are cut to it.
	Rank int
	// Fidelity, when above 0, chooses the rank instead of Rank: the
	// smallest whose fidelity (surrogate.Spectrum.Fidelity, the share of
	// the table's error reproduced under the fit's code weighting) reaches
	// it. It must lie in [0, 1].
	Fidelity float64
	// Weighted fits the surrogate to the code frequencies XHist and WHist
	// (typically a snapshot of the layer's recorded histograms) rather than
	// to all code pairs equally, so the codes a layer really sees are
	// approximated most closely. The histograms are a copy, not the
	// layer's live counters: a fit must not change while they count.
	Weighted     bool
	XHist, WHist [256]int64
}

// Validate reports settings no surrogate can be fitted with.
func (c SurrogateSettings) Validate() error {
	if c.Rank < 0 || c.Rank > 256 {
		return fmt.Errorf("surrogate rank %d must lie in 0..256", c.Rank)
	}
	if !(c.Fidelity >= 0 && c.Fidelity <= 1) {
		return fmt.Errorf("surrogate fidelity target %v must lie in [0, 1] (0: use the rank)", c.Fidelity)
	}
	if c.Weighted {
		if err := checkHistogram(&c.XHist, "activation"); err != nil {
			return err
		}
		if err := checkHistogram(&c.WHist, "weight"); err != nil {
			return err
		}
	}
	return nil
}

func checkHistogram(h *[256]int64, what string) error {
	var total int64
	for code, n := range h {
		if n < 0 {
			return fmt.Errorf("surrogate %s histogram has a negative count %d at code %d", what, n, code)
		}
		total += n
	}
	if total == 0 {
		return fmt.Errorf("surrogate %s histogram is empty: record code histograms (RecordHistograms) over some batches first, or fit with uniform weights", what)
	}
	return nil
}

func (c SurrogateSettings) String() string {
	s := fmt.Sprintf("rank %d", c.Rank)
	if c.Fidelity > 0 {
		s = fmt.Sprintf("fidelity %g", c.Fidelity)
	}
	if c.Weighted {
		return s + ", histogram-weighted"
	}
	return s + ", uniform"
}

// writeHash hashes every field of the settings exactly.
func (c SurrogateSettings) writeHash(h hash.Hash) {
	fmt.Fprintf(h, "sur{rank=%d fid=%x weighted=%t", c.Rank, math.Float64bits(c.Fidelity), c.Weighted)
	if c.Weighted {
		var b [8]byte
		for _, hist := range []*[256]int64{&c.XHist, &c.WHist} {
			for _, n := range hist {
				binary.LittleEndian.PutUint64(b[:], uint64(n))
				h.Write(b[:])
			}
		}
	}
	h.Write([]byte("} "))
}

// tableKey identifies what a surrogate depends on in a table: its products
// and how its operands are read (the fingerprint ignores signedness, which
// changes the error E = table - x·w).
type tableKey struct {
	fingerprint      string
	signedX, signedW bool
}

func keyOf(t *lut.Table) tableKey {
	return tableKey{t.Fingerprint(), t.SignedX(), t.SignedW()}
}

// surrogateCache keeps the decomposition of the layer's table (about 43 ms)
// and the surrogate built from it, so that Surrogate mode fits once per
// table and settings, never per run. A rank or fidelity change reuses the
// decomposition; a new table or weighting makes a new one.
type surrogateCache struct {
	table    tableKey
	weights  SurrogateSettings // only Weighted and the histograms matter
	spectrum *surrogate.Spectrum

	settings SurrogateSettings
	fitted   *surrogate.Surrogate
}

// FitSurrogate returns the surrogate of the layer's table under its
// Surrogate settings, fitting it unless the same table and settings were
// fitted before. Surrogate mode calls it on every run; call it yourself to
// fit ahead of time or to read the rank and fidelity a target chose.
func (s *LayerState) FitSurrogate() (*surrogate.Surrogate, error) {
	if s.Table == nil {
		return nil, fmt.Errorf("ops: layer %q: a surrogate needs a table: call SetTable", s.ID)
	}
	set := s.Surrogate
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	c := &s.surrogate
	key := keyOf(s.Table)
	if c.fitted != nil && c.table == key && c.settings == set {
		return c.fitted, nil
	}
	weights := SurrogateSettings{Weighted: set.Weighted}
	if set.Weighted {
		weights.XHist, weights.WHist = set.XHist, set.WHist
	}
	if c.spectrum == nil || c.table != key || c.weights != weights {
		var xh, wh *[256]int64
		if set.Weighted {
			xh, wh = &weights.XHist, &weights.WHist
		}
		sp, err := surrogate.Analyze(s.Table, xh, wh)
		if err != nil {
			return nil, fmt.Errorf("ops: layer %q: %w", s.ID, err)
		}
		*c = surrogateCache{table: key, weights: weights, spectrum: sp}
	}
	rank := set.Rank
	if set.Fidelity > 0 {
		r, err := c.spectrum.RankFor(set.Fidelity)
		if err != nil {
			return nil, fmt.Errorf("ops: layer %q: %w", s.ID, err)
		}
		rank = r
	}
	sg, err := c.spectrum.Surrogate(rank)
	if err != nil {
		return nil, fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	c.settings, c.fitted = set, sg
	return sg, nil
}

// surrogateGEMM computes the surrogate of lutGEMM's sums, in float32.
func (s *LayerState) surrogateGEMM(acc []float32, x, w []byte, m, n, k int) error {
	sg, err := s.FitSurrogate()
	if err != nil {
		return err
	}
	return sg.GEMM(acc, x, w, m, n, k)
}

// surrogateConv2d computes the surrogate of lutConv2d's sums, in float32;
// positions outside the input read the code pad.
func (s *LayerState) surrogateConv2d(acc []float32, x, w []byte, pad byte, g geom.Conv) error {
	sg, err := s.FitSurrogate()
	if err != nil {
		return err
	}
	return sg.Conv2d(acc, x, w, pad, g)
}
