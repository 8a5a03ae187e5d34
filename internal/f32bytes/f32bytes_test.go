package f32bytes

import (
	"math"
	"strings"
	"testing"
)

// TestRoundTrip checks every kind of value keeps its bits, the byte order
// on a hand-computed value, and the error for a partial value.
func TestRoundTrip(t *testing.T) {
	in := []float32{0, float32(math.Copysign(0, -1)), 1.5, math.SmallestNonzeroFloat32, math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001), math.Float32frombits(0xffa00000)}
	b := Encode(in)
	// 1.5 is 0x3fc00000: little-endian 00 00 c0 3f.
	if got := b[8:12]; got[0] != 0 || got[1] != 0 || got[2] != 0xc0 || got[3] != 0x3f {
		t.Fatalf("1.5 encoded as % x, want 00 00 c0 3f", got)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d values back, want %d", len(out), len(in))
	}
	for i := range in {
		if math.Float32bits(out[i]) != math.Float32bits(in[i]) {
			t.Errorf("[%d]: bits %#x back, want %#x", i, math.Float32bits(out[i]), math.Float32bits(in[i]))
		}
	}
	if _, err := Decode(b[:7]); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Fatalf("7 bytes: error %v, want one about whole values", err)
	}
}
