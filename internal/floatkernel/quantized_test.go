package floatkernel

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/ops/geom"
)

// quantizedGeoms are the test geometries and random depthwise ones
// (stride 1 to 3, padding, dilation, channel multipliers, odd batches).
func quantizedGeoms() []geom.Conv {
	return append(slices.Clone(geoms), randomDepthwise(rand.New(rand.NewSource(12)), 60)...)
}

// TestBackwardDataMasked checks that the masked data gradient is, bit for
// bit, the unmasked one with the bits of every masked element ANDed with
// zero (as the ops package did in a pass of its own), NaN and ±Inf
// included; that a nil mask changes nothing; on 1, 2 and 3 threads, and on
// the BLAS path too.
func TestBackwardDataMasked(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	special := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	ws := new(Workspace)
	// The direct layout and the stride phases mask as they write dx: they
	// must be among the paths.
	direct, phases, wino4 := false, false, false
	for _, g := range quantizedGeoms() {
		p := dataPath(gonum.Implementation{}, g, randSlice(r, g.WLen()))
		direct = direct || p == pathDirect
		phases = phases || p == pathPhases
		wino4 = wino4 || p == pathWinograd4
	}
	if offsKernel != nil && asm.AVX2FMA() && (!direct || !phases || !wino4) {
		t.Fatalf("no shape takes the direct data gradient (%v), the stride phases (%v) or F(4×4, 3×3) (%v)", direct, phases, wino4)
	}
	for i, g := range quantizedGeoms() {
		w, dy := randSlice(r, g.WLen()), randSlice(r, g.YLen())
		for range 3 {
			dy[r.Intn(len(dy))] = special[r.Intn(len(special))]
		}
		mask := make([]bool, g.XLen())
		for j := range mask {
			mask[j] = r.Intn(3) > 0
		}
		for _, impl := range []blas.Float32{gonum.Implementation{}, blasOnly{}} {
			plain := make([]float32, g.XLen())
			if err := Conv2dBackwardData(impl, plain, dy, w, g, 1, ws); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(plain)
			for j, m := range mask {
				if !m {
					want[j] = 0 // +0 whatever the sign of the gradient
				}
			}
			for _, threads := range []int{1, 2, 3} {
				name := fmt.Sprintf("geom%d %+v threads%d %T", i, g, threads, impl)
				got := randSlice(r, g.XLen())
				if err := Conv2dBackwardDataMasked(impl, got, dy, w, mask, g, threads, ws); err != nil {
					t.Fatal(name, err)
				}
				assertBits(t, name+" masked", got, want)
				if err := Conv2dBackwardDataMasked(impl, got, dy, w, nil, g, threads, ws); err != nil {
					t.Fatal(name, err)
				}
				assertBits(t, name+" nil mask", got, plain)
			}
		}
	}
}

// TestBackwardWeightCodes checks the weight gradient from codes bit for
// bit against Conv2dBackwardWeight on the values ops would compute from
// the same codes (float32(code - zp)·scale), signed and unsigned, zero
// points 0 and not, on 1 to 3 threads and the BLAS path; and against the
// float64 definition.
func TestBackwardWeightCodes(t *testing.T) {
	r := rand.New(rand.NewSource(14))
	ws := new(Workspace)
	// The tap-major path dequantizes as it pads, copies or splits stride
	// phases, the Winograd path as it splits columns: each must be among
	// the shapes where the CPU has the kernels.
	tapForms := map[string]bool{}
	for _, g := range quantizedGeoms() {
		p := weightPath(gonum.Implementation{}, g, nil)
		if p == pathWinograd {
			tapForms["winograd"] = true
		}
		if p == pathWinograd4 {
			tapForms["winograd4"] = true
		}
		if p == pathTaps {
			switch {
			case g.StrideH > 1 || g.StrideW > 1:
				tapForms["strided"] = true
			case g.PadH+g.PadW > 0:
				tapForms["padded"] = true
			default:
				tapForms["in place"] = true
			}
		}
	}
	if tapKernel != nil && asm.AVX2FMA() && len(tapForms) < 5 {
		t.Fatalf("the shapes reach the tap-major and Winograd paths in the forms %v; want strided, padded, in place, winograd and winograd4", tapForms)
	}
	for i, g := range quantizedGeoms() {
		dy := randSlice(r, g.YLen())
		codes := make([]byte, g.XLen())
		r.Read(codes)
		for _, q := range []struct {
			signed bool
			zp     int32
		}{{false, 0}, {false, 117}, {true, 0}, {true, 5}} {
			scale := float32(0.01 + r.Float64()/10)
			x := make([]float32, len(codes))
			for j, b := range codes {
				code := int32(b)
				if q.signed {
					code = int32(int8(b))
				}
				x[j] = float32(code-q.zp) * scale
			}
			_, wantDW := naiveGrads(x, make([]float32, g.WLen()), dy, g)
			for _, impl := range []blas.Float32{gonum.Implementation{}, blasOnly{}} {
				want := make([]float32, g.WLen())
				if err := Conv2dBackwardWeight(impl, want, dy, x, g, 1, ws); err != nil {
					t.Fatal(err)
				}
				for _, threads := range []int{1, 2, 3} {
					name := fmt.Sprintf("geom%d %+v signed=%v zp=%d threads%d %T", i, g, q.signed, q.zp, threads, impl)
					got := randSlice(r, g.WLen())
					if err := Conv2dBackwardWeightCodes(impl, got, dy, codes, q.signed, q.zp, scale, g, threads, ws); err != nil {
						t.Fatal(name, err)
					}
					assertBits(t, name, got, want)
					assertClose(t, name+" vs definition", got, wantDW)
				}
			}
		}
	}
}

// TestQuantizedRejectsBadInput checks the errors for buffers that do not
// match the geometry.
func TestQuantizedRejectsBadInput(t *testing.T) {
	g := geoms[3]
	impl := gonum.Implementation{}
	dx, dy, w := make([]float32, g.XLen()), make([]float32, g.YLen()), make([]float32, g.WLen())
	if err := Conv2dBackwardDataMasked(impl, dx, dy, w, make([]bool, g.XLen()-1), g, 1, nil); err == nil {
		t.Error("short mask: no error")
	}
	if err := Conv2dBackwardDataMasked(impl, dx[1:], dy, w, nil, g, 1, nil); err == nil {
		t.Error("short dx: no error")
	}
	if err := Conv2dBackwardWeightCodes(impl, w, dy, make([]byte, g.XLen()+1), false, 0, 1, g, 1, nil); err == nil {
		t.Error("long x: no error")
	}
	if err := Conv2dBackwardWeightCodes(impl, w[1:], dy, make([]byte, g.XLen()), false, 0, 1, g, 1, nil); err == nil {
		t.Error("short dw: no error")
	}
	bad := g
	bad.StrideH = 0
	if err := Conv2dBackwardWeightCodes(impl, w, dy, make([]byte, g.XLen()), false, 0, 1, bad, 1, nil); err == nil {
		t.Error("zero stride: no error")
	}
}
