package nn

import (
	"fmt"
	"testing"

	"github.com/goapprox/goapprox/internal/cputime"
	"gorgonia.org/tensor"
)

// BenchmarkMaxPoolOps runs the 2×2/2 max pool's forward op and its
// gradient op directly (no graph) on LeNet-5's two pooled activations:
// conv1's 64×6×28×28 and conv2's 64×16×10×10.
func BenchmarkMaxPoolOps(b *testing.B) {
	for _, shape := range []tensor.Shape{{64, 6, 28, 28}, {64, 16, 10, 10}} {
		b.Run(fmt.Sprint(shape), func(b *testing.B) {
			x := randTensor(1, 1, shape...)
			dy := randTensor(2, 1, shape[0], shape[1], shape[2]/2, shape[3]/2)
			fwd := &MaxPool2DOp{geom: poolGeom{kh: 2, kw: 2, sh: 2, sw: 2}}
			grad := &maxPoolGradOp{fwd: fwd}
			b.ReportAllocs()
			start := cputime.Process()
			defer cputime.Report(b, start)
			for b.Loop() {
				if _, err := fwd.Do(x); err != nil {
					b.Fatal(err)
				}
				if _, err := grad.Do(x, dy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
