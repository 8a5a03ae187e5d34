package tablegrad

import (
	"math"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut"
)

// TestErrors: every bad argument gets an error naming what is wrong, from
// the fast functions and the references alike.
func TestErrors(t *testing.T) {
	g := new(lut.Gradients)
	tab := Prepare(g)
	m, n, k := 2, 3, 4
	x, w, dy := make([]byte, m*k), make([]byte, n*k), make([]float32, m*n)
	dx, dw := make([]float32, m*k), make([]float32, n*k)
	conv := convGeom(1, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1)
	cx, cw, cdy := make([]byte, conv.XLen()), make([]byte, conv.WLen()), make([]float32, conv.YLen())
	cdx, cdw := make([]float32, conv.XLen()), make([]float32, conv.WLen())
	good := &Quant{XScale: 1, WScale: []float32{1}, WZero: []int32{0}}
	cases := []struct {
		name, want string
		err        error
	}{
		{"nil tables", "needs gradient tables", GEMMData(dx, dy, x, w, m, n, k, nil, nil, 1, nil)},
		{"nil gradients", "needs gradient tables", GEMMDataRef(dx, dy, x, w, m, n, k, nil, nil)},
		{"negative size", "must not be negative", GEMMWeight(dw, dy, x, w, -1, n, k, false, tab, nil, 1, nil)},
		{"short activations", "activations hold 7 codes", GEMMData(dx, dy, x[:7], w, m, n, k, tab, nil, 1, nil)},
		{"short weights", "weights hold 11 codes", GEMMWeight(dw, dy, x, w[:11], m, n, k, true, tab, nil, 1, nil)},
		{"short dy", "output gradient holds 5", GEMMBoth(dx, dw, dy[:5], x, w, m, n, k, false, tab, nil, 1, nil)},
		{"short dx", "result holds 7 values, need m*k", GEMMData(dx[:7], dy, x, w, m, n, k, tab, nil, 1, nil)},
		{"short dw", "result holds 11 values, need n*k", GEMMBoth(dx, dw[:11], dy, x, w, m, n, k, false, tab, nil, 1, nil)},
		{"scale count", "2 weight scales for 3 outputs", GEMMData(dx, dy, x, w, m, n, k, tab, &Quant{XScale: 1, WScale: []float32{1, 1}, WZero: []int32{0}}, 1, nil)},
		{"zero point count", "0 weight zero points for 3 outputs", GEMMData(dx, dy, x, w, m, n, k, tab, &Quant{XScale: 1, WScale: []float32{1}}, 1, nil)},
		{"NaN weight scale", "weight scale NaN of output 1", GEMMWeightRef(dw, dy, x, w, m, n, k, false, g, &Quant{XScale: 1, WScale: []float32{1, float32(math.NaN()), 1}, WZero: []int32{0}})},
		{"zero activation scale", "activation scale 0 must be positive", GEMMWeight(dw, dy, x, w, m, n, k, false, tab, &Quant{WScale: []float32{1}, WZero: []int32{0}}, 1, nil)},
		{"infinite activation scale", "must be positive and finite", GEMMData(dx, dy, x, w, m, n, k, tab, &Quant{XScale: float32(math.Inf(1)), WScale: []float32{1}, WZero: []int32{0}}, 1, nil)},
		{"activation zero point", "activation zero point 300 is not an 8-bit code", GEMMData(dx, dy, x, w, m, n, k, tab, &Quant{XScale: 1, XZero: 300, WScale: []float32{1}, WZero: []int32{0}}, 1, nil)},
		{"weight zero point", "weight zero point -129 of output 0", GEMMData(dx, dy, x, w, m, n, k, tab, &Quant{XScale: 1, WScale: []float32{1}, WZero: []int32{-129}}, 1, nil)},
		{"conv nil tables", "needs gradient tables", Conv2dData(cdx, cdy, cx, cw, conv, nil, good, 1, nil)},
		{"conv geometry", "groups = 2 must divide", Conv2dWeight(cdw, cdy, cx, cw, convGeom(1, 3, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 2), tab, good, 1, nil)},
		{"conv kernel too big", "does not fit the padded", Conv2dData(cdx, cdy, cx, cw, convGeom(1, 2, 2, 2, 3, 5, 5, 1, 1, 1, 1, 1, 1, 1), tab, good, 1, nil)},
		{"conv short input", "input holds 49 codes, need N*C*H*W = 50", Conv2dDataRef(cdx, cdy, cx[:49], cw, conv, g, good)},
		{"conv short weights", "weights hold 5 codes", Conv2dWeightRef(cdw, cdy, cx, cw[:5], conv, g, good)},
		{"conv short dy", "output gradient holds 3 values", Conv2dData(cdx, cdy[:3], cx, cw, conv, tab, good, 1, nil)},
		{"conv short dx", "result holds 1 values, need N*C*H*W", Conv2dData(cdx[:1], cdy, cx, cw, conv, tab, good, 1, nil)},
		{"conv short dw", "result holds 1 values, need O*(C/Groups)*KH*KW", Conv2dWeight(cdw[:1], cdy, cx, cw, conv, tab, good, 1, nil)},
		{"conv scale count", "2 weight scales for 3 outputs", Conv2dWeight(cdw, cdy, cx, cw, conv, tab, &Quant{XScale: 1, WScale: []float32{1, 1}, WZero: []int32{0}}, 1, nil)},
	}
	_, errNil := FromTable(nil, 0)
	_, errWindow := FromTable(lut.ExactTable(lut.Both(lut.Signed)), -1)
	cases = append(cases, []struct {
		name, want string
		err        error
	}{
		{"no table", "needs a multiplier table", errNil},
		{"negative window", "gradient window -1 is out of range", errWindow},
	}...)
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, c.err, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Prepare(nil) did not panic")
		}
	}()
	Prepare(nil)
}

// TestEmptySums: a gradient that sums over nothing (no batch rows, or no
// outputs) is zero, written over whatever the buffer held.
func TestEmptySums(t *testing.T) {
	tab := Prepare(new(lut.Gradients))
	nan := float32(math.NaN())
	filled := func(n int) []float32 {
		f := make([]float32, n)
		for i := range f {
			f[i] = nan
		}
		return f
	}
	k := 5
	dw := filled(3 * k)
	if err := GEMMWeight(dw, nil, nil, make([]byte, 3*k), 0, 3, k, false, tab, nil, 1, nil); err != nil {
		t.Fatal(err)
	}
	dx, dw2 := filled(2*k), filled(3*k)
	if err := GEMMData(dx, nil, make([]byte, 2*k), nil, 2, 0, k, tab, nil, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := GEMMBoth(filled(0), dw2, nil, nil, make([]byte, 3*k), 0, 3, k, false, tab, nil, 1, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]float32{dw, dx, dw2} {
		for i, v := range s {
			if v != 0 {
				t.Fatalf("element %d = %v, want 0", i, v)
			}
		}
	}
}
