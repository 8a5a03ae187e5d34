package ops

import (
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/ops/kernel"
)

// preparedTable caches the kernels' arrangement of a table (about 800 KiB,
// built in about a millisecond), keyed by the table's fingerprint so that a
// table with other products is prepared again while a renamed copy is not.
type preparedTable struct {
	fingerprint string
	p           *kernel.Prepared
}

func (s *LayerState) prepare(t *lut.Table) *kernel.Prepared {
	if s.prepared.p == nil || s.prepared.fingerprint != t.Fingerprint() {
		s.prepared = preparedTable{fingerprint: t.Fingerprint(), p: kernel.Prepare(t.Entries())}
	}
	return s.prepared.p
}

// lutGEMM computes acc[i*n+j] = Σ_l table[x[i*k+l]][w[j*k+l]].
func (s *LayerState) lutGEMM(acc []int32, x, w []byte, m, n, k int) error {
	return kernel.GEMM(acc, x, w, m, n, k, s.prepare(s.Table), s.threads())
}

// lutConv2d computes the approximate grouped convolution sums; positions
// outside the input read the code pad.
func (s *LayerState) lutConv2d(acc []int32, x, w []byte, pad byte, g geom.Conv) error {
	return kernel.Conv2d(acc, x, w, pad, g, s.prepare(s.Table), s.threads())
}

// lutConv2dRescaled is lutConv2d writing the sums rescaled per output
// channel by r to y.
func (s *LayerState) lutConv2dRescaled(y []float32, x, w []byte, pad byte, g geom.Conv, r kernel.Rescale) error {
	return kernel.Conv2dRescaled(y, x, w, pad, g, s.prepare(s.Table), s.threads(), r)
}
