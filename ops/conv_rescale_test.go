package ops

import (
	"math"
	"math/rand"
	"testing"

	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/quantize"
)

// TestConvRescaleMatchesCorrect checks the approximate convolution whose
// sums the kernel rescales as it writes them (convRescale: no weight zero
// point) against the integer sums corrected and rescaled by convCorrect,
// bit for bit: activations with a zero point, signed and unsigned, weights
// per tensor and per channel, on a small shape and on one large enough for
// the pre-gathered path. Weights with a zero point in any channel but the
// first must stay on convCorrect, and give its bits too.
func TestConvRescaleMatchesCorrect(t *testing.T) {
	r := rand.New(rand.NewSource(61))
	scales := []float32{0.011, 0.0125, 0.014, 0.0155, 0.017, 0.019, 0.02, 0.023}
	cases := []struct {
		name    string
		signedX bool
		xp      quantize.Params
		zw      []int32 // nil: per tensor, no zero point
	}{
		{"unsigned x, per-tensor w", false, quantize.PerTensor(0.04, 23, 0, 255), nil},
		{"signed x, per-tensor w", true, quantize.PerTensor(0.03, -7, -128, 127), nil},
		{"unsigned x, per-channel w", false, quantize.PerTensor(0.04, 23, 0, 255), make([]int32, 8)},
		{"signed x, per-channel w", true, quantize.PerTensor(0.03, 5, -128, 127), make([]int32, 8)},
		{"zero point beyond channel 0", false, quantize.PerTensor(0.04, 23, 0, 255), []int32{0, 1, 0, -2, 0, 3, 0, 0}},
	}
	shapes := []struct {
		xs, ws []int
		args   ConvArgs
	}{
		{convCase.xs, convCase.ws, convCase.args},
		{[]int{4, 8, 16, 16}, []int{8, 8, 3, 3}, ConvArgs{Stride: [2]int{1, 1}, Pad: [2]int{1, 1}, Dilation: [2]int{1, 1}, Groups: 1}},
	}
	for _, c := range cases {
		tab := tableOf(t, c.signedX, true, func(x, w int) int { return x*w + (x^w)&7 - 3 })
		for _, sh := range shapes {
			g, err := sh.args.geom(sh.xs, sh.ws)
			if err != nil {
				t.Fatal(err)
			}
			s := NewLayerState("rescale", 1)
			s.XParams = c.xp
			s.WParams = quantize.PerTensor(0.013, 0, -128, 127)
			if c.zw != nil {
				s.WParams = quantize.PerChannel(0, scales[:g.O], c.zw[:g.O], -128, 127)
			}
			s.Mode = Approximate
			if err := s.SetTable(tab); err != nil {
				t.Fatal(err)
			}
			x, w := randFloats(r, g.XLen(), 2), randFloats(r, g.WLen(), 0.5)
			rec := new(runRecord)
			y := make([]float32, g.YLen())
			if _, err := convForward(s, rec, y, x, w, g); err != nil {
				t.Fatal(err)
			}
			want := correctedOutput(t, s, rec, g)
			for i := range y {
				if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s, %v: y[%d] = %g, want %g", c.name, sh.xs, i, y[i], want[i])
				}
			}
		}
	}
}

// correctedOutput is the output of the approximate convolution rec ran,
// computed the long way: the integer sums of its codes, then convCorrect.
func correctedOutput(t *testing.T, s *LayerState, rec *runRecord, g geom.Conv) []float32 {
	t.Helper()
	acc := convSums(t, s, rec, g)
	y := make([]float32, g.YLen())
	convCorrect(s, rec, y, acc, rec.x.q.bytes, rec.w.q.bytes, g)
	return y
}
