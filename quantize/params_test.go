package quantize

import (
	"math"
	"testing"
)

func TestQuantizeValueEdgeCases(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		name       string
		v, scale   float32
		zp, lo, hi int32
		want       int32
	}{
		// Half-way values round to the even neighbour, not away from zero.
		{"0.5 to 0", 0.5, 1, 0, -128, 127, 0},
		{"1.5 to 2", 1.5, 1, 0, -128, 127, 2},
		{"2.5 to 2", 2.5, 1, 0, -128, 127, 2},
		{"-0.5 to 0", -0.5, 1, 0, -128, 127, 0},
		{"-1.5 to -2", -1.5, 1, 0, -128, 127, -2},
		{"-2.5 to -2", -2.5, 1, 0, -128, 127, -2},
		// The zero point is added after rounding: 3.5 -> 4, + 10.
		{"3.5 plus zp 10", 3.5, 1, 10, 0, 255, 14},
		{"0.25/0.5 = 0.5 to even 0, + 7", 0.25, 0.5, 7, 0, 255, 7},
		// Clamping, with the zero point inside the range.
		{"127.5 rounds to 128, clamps to 127", 127.5, 1, 0, -128, 127, 127},
		{"-200 clamps to -128", -200, 1, 0, -128, 127, -128},
		{"300 - zp 100 clamps to 255", 300, 1, 100, 0, 255, 255},
		{"-1 with zp 0 clamps to 0 (unsigned)", -1, 1, 0, 0, 255, 0},
		{"codes 0..127: 200 clamps to 127", 200, 1, 0, 0, 127, 127},
		// Values far beyond int32 must clamp, not overflow.
		{"1e30", 1e30, 1e-3, 0, -128, 127, 127},
		{"-1e30", -1e30, 1e-3, 0, -128, 127, -128},
		{"max float32", math.MaxFloat32, Float32Eps, 5, 0, 255, 255},
		{"+Inf", inf, 1, 0, -128, 127, 127},
		{"-Inf", -inf, 1, 3, 0, 255, 0},
		// NaN has no code; it goes to the code of real 0.
		{"NaN to zp", nan, 1, 10, 0, 255, 10},
		// PyTorch multiplies by the float32 reciprocal of the scale:
		// 1/0.3f rounds so that -38.25*(1/0.3f) = -127.5 exactly (even:
		// -128), whereas -38.25/0.3f = -127.49999 would give -127.
		{"reciprocal, as PyTorch", -38.25, 0.3, 0, -128, 127, -128},
	}
	for _, c := range cases {
		if got := QuantizeValue(c.v, c.scale, c.zp, c.lo, c.hi); got != c.want {
			t.Errorf("%s: QuantizeValue(%g, %g, %d, %d, %d) = %d, want %d", c.name, c.v, c.scale, c.zp, c.lo, c.hi, got, c.want)
		}
	}
	if InRange(nan, 1, 0, -128, 127) || InRange(inf, 1, 0, -128, 127) || !InRange(127.4, 1, 0, -128, 127) || InRange(127.5, 1, 0, -128, 127) {
		t.Error("InRange: NaN and Inf must be out of range, 127.4 in, 127.5 (rounds to 128) out")
	}
}

// Every code dequantizes to a value that quantizes back to the same code.
func TestCodeRoundTrip(t *testing.T) {
	for _, s := range []Scheme{
		{Bits: 8, Signed: true}, {Bits: 8}, {Bits: 4, Signed: true}, {Bits: 2},
		{Bits: 8, CustomRange: true, QMin: 0, QMax: 127},
	} {
		qmin, qmax := s.Range()
		for _, scale := range []float32{Float32Eps, 1e-3, 0.3, 0.017, 1, 7.5} {
			for _, zp := range []int32{qmin, (qmin + qmax) / 2, qmax} {
				for q := qmin; q <= qmax; q++ {
					v := Dequantize(q, scale, zp)
					if got := QuantizeValue(v, scale, zp, qmin, qmax); got != q {
						t.Fatalf("%s scale %g zp %d: code %d -> %g -> %d", s, scale, zp, q, v, got)
					}
				}
			}
		}
	}
}

// channelOf finds the channel of flat index i by unravelling it into
// coordinates, independently of the stride arithmetic in params.go.
func channelOf(i int, shape []int, axis int) int {
	coord := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		coord[d] = i % shape[d]
		i /= shape[d]
	}
	return coord[axis]
}

func TestPerChannelCodesAndFakeQuant(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		axis  int
	}{
		{[]int{3, 4}, 0}, {[]int{3, 4}, 1},
		{[]int{2, 3, 2, 2}, 0}, {[]int{2, 3, 2, 2}, 1},
	} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		channels := tc.shape[tc.axis]
		scale, zp := make([]float32, channels), make([]int32, channels)
		for c := range scale {
			scale[c] = 0.05 * float32(c+1) // distinct per channel
			zp[c] = int32(10 * c)
		}
		p := PerChannel(tc.axis, scale, zp, 0, 255)
		if err := p.CheckShape(tc.shape); err != nil {
			t.Fatal(err)
		}
		values := make([]float32, n)
		for i := range values {
			values[i] = float32(i%7)*0.37 - 1.1 + float32(i)*0.9 // spans negative, in range and clamped values
		}
		codes := make([]int32, n)
		p.Codes(codes, values, tc.shape)
		out := make([]float32, n)
		mask := make([]bool, n)
		p.FakeQuant(out, values, mask, tc.shape)
		clamped := 0
		for i, v := range values {
			c := channelOf(i, tc.shape, tc.axis)
			want := QuantizeValue(v, scale[c], zp[c], 0, 255)
			if codes[i] != want {
				t.Fatalf("shape %v axis %d: code[%d] = %d, want %d (channel %d)", tc.shape, tc.axis, i, codes[i], want, c)
			}
			if out[i] != float32(want-zp[c])*scale[c] {
				t.Fatalf("shape %v axis %d: fake-quant[%d] = %g, want %g", tc.shape, tc.axis, i, out[i], float32(want-zp[c])*scale[c])
			}
			r := math.RoundToEven(float64(v*(1/scale[c]))) + float64(zp[c])
			if mask[i] != (r >= 0 && r <= 255) {
				t.Fatalf("shape %v axis %d: mask[%d] = %v for unclamped code %g", tc.shape, tc.axis, i, mask[i], r)
			}
			if !mask[i] {
				clamped++
			}
		}
		if clamped == 0 || clamped == n {
			t.Fatalf("shape %v axis %d: %d of %d values clamped; the data should exercise both", tc.shape, tc.axis, clamped, n)
		}
	}
}

func BenchmarkFakeQuantPerTensor(b *testing.B) {
	v, _ := batch(1)
	values := make([]float32, 0, 64*1024)
	for len(values) < cap(values) {
		values = append(values, v...)
	}
	values = values[:64*1024]
	p := PerTensor(0.02, 3, -128, 127)
	out, mask := make([]float32, len(values)), make([]bool, len(values))
	b.SetBytes(int64(4 * len(values)))
	for i := 0; i < b.N; i++ {
		p.FakeQuant(out, values, mask, []int{len(values)})
	}
}
