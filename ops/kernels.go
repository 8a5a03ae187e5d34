package ops

import (
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/kernel"
)

// preparedTable caches what the integer kernels need from a table, keyed by
// the table's fingerprint so that a new table with other products is
// prepared again while a renamed copy is not.
type preparedTable struct {
	fingerprint string
	entries     *[65536]int32
}

func (s *LayerState) prepare(t *lut.Table) *[65536]int32 {
	if s.prepared.entries == nil || s.prepared.fingerprint != t.Fingerprint() {
		s.prepared = preparedTable{fingerprint: t.Fingerprint(), entries: t.Entries()}
	}
	return s.prepared.entries
}

// lutGEMM computes acc[i*n+j] = Σ_l table[x[i*k+l]][w[j*k+l]].
func (s *LayerState) lutGEMM(acc []int32, x, w []byte, m, n, k int) error {
	kernel.GEMMRef(acc, x, w, m, n, k, s.prepare(s.Table))
	return nil
}

// lutConv2d computes the approximate grouped convolution sums; positions
// outside the input read the code pad.
func (s *LayerState) lutConv2d(acc []int32, x, w []byte, pad byte, g kernel.ConvGeom) error {
	kernel.Conv2dRef(acc, x, w, pad, g, s.prepare(s.Table))
	return nil
}
