package metrics_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/metrics"
	"github.com/goapprox/goapprox/lut/multiplier"
)

// builtinSpecs is every design of multiplier.List at the middle of each of
// its parameters' ranges.
func builtinSpecs() []string {
	var specs []string
	for _, d := range multiplier.List() {
		var ps []string
		for _, p := range d.Params {
			ps = append(ps, fmt.Sprintf("%s=%d", p.Key, (p.Min+p.Max)/2))
		}
		s := d.Name
		if len(ps) > 0 {
			s += ":" + strings.Join(ps, ",")
		}
		specs = append(specs, s)
	}
	return specs
}

// BenchmarkComputeBuiltins measures all metrics of every built-in design,
// one sub-benchmark per design (the table is built outside the timing).
func BenchmarkComputeBuiltins(b *testing.B) {
	for _, spec := range builtinSpecs() {
		t, err := multiplier.Parse(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(spec, func(b *testing.B) {
			for b.Loop() {
				metrics.Compute(t)
			}
		})
	}
}

// BenchmarkBuildAndComputeAllBuiltins is one pass over every design:
// building its table from the spec and computing its metrics, as lut stats
// and lut doc do.
func BenchmarkBuildAndComputeAllBuiltins(b *testing.B) {
	specs := builtinSpecs()
	for b.Loop() {
		for _, s := range specs {
			t, err := multiplier.Parse(s)
			if err != nil {
				b.Fatal(err)
			}
			metrics.Compute(t)
		}
	}
}

// BenchmarkComputeFile reads an EvoApproxLib table file (.bin, from
// ../shared) and computes its metrics.
func BenchmarkComputeFile(b *testing.B) {
	path := shared.RequireLUT(b, "mul8u_L40")
	b.Run("read+compute", func(b *testing.B) {
		for b.Loop() {
			t, err := lut.Load(path, lut.Both(lut.Unsigned))
			if err != nil {
				b.Fatal(err)
			}
			metrics.Compute(t)
		}
	})
	t, err := lut.Load(path, lut.Both(lut.Unsigned))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("compute", func(b *testing.B) {
		for b.Loop() {
			metrics.Compute(t)
		}
	})
}
