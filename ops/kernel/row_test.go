package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestRowKernels checks every implementation's row function directly
// against portableRow at every lane count 1..maxLanes (SIMD kernels round
// the lanes up to whole vectors and tiles and treat the last ones apart),
// with step counts around the word sums' 128-step chunks, arbitrary and
// overlapping offsets, and a table whose byte planes are all 0xFF (the
// largest word sums).
func TestRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 34))
	tables := testTables()
	if testing.Short() {
		tables = tables[:3]
	}
	full := new([65536]int32)
	for i := range full {
		full[i] = 70000
	}
	full[12345] = 70000 - 65535
	tables = append(tables, struct {
		name string
		t    *[65536]int32
	}{"planes-0xFF", full})
	ks := []int{1, 2, 3, 7, 127, 128, 129, 256, 300}
	for _, tb := range tables {
		p := Prepare(tb.t)
		for _, base := range impls {
			im := base.forTable(p)
			for lanes := 1; lanes <= maxLanes; lanes++ {
				k := ks[(lanes+len(tb.name))%len(ks)]
				sel := codes(rng, k, 0)
				src := codes(rng, 3*k+maxLanes+40, 0)
				offs := make([]int32, k)
				for l := range offs {
					offs[l] = int32(rng.IntN(3*k + 41))
				}
				lay := &p.byX
				if lanes%2 == 1 {
					lay = &p.byW
				}
				bias := int32(rng.Uint32())
				var want, got [maxLanes]int32
				portableRow(lay, sel, offs, src, lanes, bias, &want)
				if im.biased {
					bias += int32(k) * p.base
				}
				im.row(lay, sel, offs, src, lanes, bias, &got)
				for q := range lanes {
					if got[q] != want[q] {
						t.Fatalf("%s %s lanes %d k %d: lane %d = %d, want %d", tb.name, im.name, lanes, k, q, got[q], want[q])
					}
				}
			}
		}
	}
}
