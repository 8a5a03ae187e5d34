package ops

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/quantize"
)

// TestQuantizeTensorMatchesQuantizePackage holds the fast per-run loop to
// the quantize package's element functions, on ties, clamped values, NaN,
// infinities and huge values, per tensor and per channel.
func TestQuantizeTensorMatchesQuantizePackage(t *testing.T) {
	r := rand.New(rand.NewSource(15))
	shape := []int{3, 4, 5}
	v := randFloats(r, 60, 3)
	v[0], v[1], v[2], v[3] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30
	for i := 4; i < 14; i++ {
		v[i] = float32(i-9) * 0.125 // exact ties for scale 0.25
	}
	params := []quantize.Params{
		quantize.PerTensor(0.25, 3, 0, 127),
		quantize.PerTensor(0.25, 0, -4, 3), // 3-bit signed
		quantize.PerChannel(1, []float32{0.1, 0.25, 0.5, 1}, []int32{-2, 0, 1, 5}, -128, 127),
		quantize.PerChannel(2, []float32{0.1, 0.2, 0.3, 0.4, 0.5}, []int32{0, 1, 2, 3, 4}, 0, 255),
	}
	for _, p := range params {
		q := quantized{codes: make([]int32, 60), bytes: make([]byte, 60), fq: make([]float32, 60), mask: make([]bool, 60)}
		var hist [256]int64
		quantizeTensor(&q, p, v, shape, &hist, 1)
		wantFQ, wantMask := make([]float32, 60), make([]bool, 60)
		p.FakeQuant(wantFQ, v, wantMask, shape)
		wantCodes := make([]int32, 60)
		p.Codes(wantCodes, v, shape)
		var wantHist [256]int64
		for i := range v {
			wantHist[byte(wantCodes[i])]++
			if q.codes[i] != wantCodes[i] || q.bytes[i] != byte(wantCodes[i]) || q.mask[i] != wantMask[i] ||
				math.Float32bits(q.fq[i]) != math.Float32bits(wantFQ[i]) {
				t.Fatalf("%+v: v[%d] = %g: code %d mask %t fq %g, want %d %t %g", p, i, v[i],
					q.codes[i], q.mask[i], q.fq[i], wantCodes[i], wantMask[i], wantFQ[i])
			}
		}
		if hist != wantHist {
			t.Errorf("%+v: histogram differs", p)
		}
	}
}

// TestQuantizeTensorSplitsExactly compares a multi-worker quantization
// (worker boundaries inside channel runs) with the single-worker one.
func TestQuantizeTensorSplitsExactly(t *testing.T) {
	r := rand.New(rand.NewSource(16))
	shape := []int{5, 40000}
	v := randFloats(r, 200000, 2)
	p := quantize.PerChannel(0, []float32{0.01, 0.02, 0.03, 0.04, 0.05}, []int32{0, 1, 2, 3, 4}, -128, 127)
	run := func(threads int) (quantized, [256]int64) {
		q := quantized{codes: make([]int32, len(v)), fq: make([]float32, len(v)), mask: make([]bool, len(v))}
		var h [256]int64
		quantizeTensor(&q, p, v, shape, &h, threads)
		return q, h
	}
	one, h1 := run(1)
	three, h3 := run(3)
	if h1 != h3 {
		t.Error("histograms differ between 1 and 3 workers")
	}
	for i := range v {
		if one.codes[i] != three.codes[i] || one.fq[i] != three.fq[i] || one.mask[i] != three.mask[i] {
			t.Fatalf("element %d differs between 1 and 3 workers", i)
		}
	}
}

// BenchmarkQuantize times one pass over a MobileNetV2 depthwise input
// (3.6 M activations, half of them clamped at 0) for the output sets the
// ops use.
func BenchmarkQuantize(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	v := randFloats(r, 8*144*56*56, 1)
	shape := []int{len(v)}
	p := quantize.PerTensor(0.02, 0, 0, 127)
	sets := []struct {
		name string
		q    quantized
	}{
		{"bytes", quantized{bytes: make([]byte, len(v))}},
		{"fq", quantized{fq: make([]float32, len(v))}},
		{"fq+mask", quantized{fq: make([]float32, len(v)), mask: make([]bool, len(v))}},
		{"bytes+fq+mask", quantized{bytes: make([]byte, len(v)), fq: make([]float32, len(v)), mask: make([]bool, len(v))}},
	}
	for _, set := range sets {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads%d", set.name, threads), func(b *testing.B) {
				for b.Loop() {
					quantizeTensor(&set.q, p, v, shape, nil, threads)
				}
				b.ReportMetric(float64(len(v))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gval/s")
			})
		}
	}
}

// TestQuantizeFastPathsMatchQuantizePackage holds every output combination
// the ops use (which take the vector loop where the CPU has one) to the
// quantize package bit for bit: ties, values just inside and outside the
// range, ±0, NaN, infinities, huge values, per tensor and per channel with
// runs of odd lengths, for 1 to 3 workers.
func TestQuantizeFastPathsMatchQuantizePackage(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30,
		0, float32(math.Copysign(0, -1)), -0.1, 0.1, 1e-30, -1e-30}
	params := []quantize.Params{
		quantize.PerTensor(0.25, 3, 0, 127),
		quantize.PerTensor(0.02, 0, 0, 255),
		quantize.PerTensor(0.25, 0, -4, 3),
		quantize.PerTensor(0.5, -128, -128, 127),
		quantize.PerChannel(0, []float32{0.1, 0.25, 0.5}, []int32{-2, 0, 1}, -128, 127),
		quantize.PerChannel(1, []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.1}, []int32{0, 1, 2, 3, 4, 250, 255}, 0, 255),
	}
	shape := []int{3, 7, 41} // channel runs of 287 (axis 0) and 41 (axis 1)
	n := 3 * 7 * 41
	v := randFloats(r, n, 40)
	for i := range v {
		switch i % 5 {
		case 0:
			v[i] = special[(i/5)%len(special)]
		case 1:
			v[i] = float32(r.Intn(800)-400) * 0.125 // ties for the scales above
		}
	}
	for _, p := range params {
		wantFQ, wantMask, wantCodes := make([]float32, n), make([]bool, n), make([]int32, n)
		p.FakeQuant(wantFQ, v, wantMask, shape)
		p.Codes(wantCodes, v, shape)
		for _, set := range []string{"bytes", "fq", "mask", "fq+mask", "bytes+fq+mask"} {
			for _, threads := range []int{1, 2, 3} {
				q := quantized{}
				if strings.Contains(set, "bytes") {
					q.bytes = make([]byte, n)
				}
				if strings.Contains(set, "fq") {
					q.fq = make([]float32, n)
				}
				if strings.Contains(set, "mask") {
					q.mask = make([]bool, n)
				}
				quantizeTensor(&q, p, v, shape, nil, threads)
				for i := range v {
					if q.bytes != nil && q.bytes[i] != byte(wantCodes[i]) {
						t.Fatalf("%+v %s threads=%d: v[%d] = %g: byte %d, want code %d", p, set, threads, i, v[i], q.bytes[i], wantCodes[i])
					}
					if q.fq != nil && math.Float32bits(q.fq[i]) != math.Float32bits(wantFQ[i]) {
						t.Fatalf("%+v %s threads=%d: v[%d] = %g: fq %g, want %g", p, set, threads, i, v[i], q.fq[i], wantFQ[i])
					}
					if q.mask != nil && q.mask[i] != wantMask[i] {
						t.Fatalf("%+v %s threads=%d: v[%d] = %g: mask %t, want %t", p, set, threads, i, v[i], q.mask[i], wantMask[i])
					}
				}
			}
		}
	}
}

// TestCodeSumMatchesByteLoop holds codeSum's word-at-a-time sums to the
// plain byte loop on lengths around its word and lane-flush boundaries,
// with random bytes and the extreme ones (0x00, 0x7F, 0x80, 0xFF).
func TestCodeSumMatchesByteLoop(t *testing.T) {
	rng := rand.New(rand.NewSource(56))
	plain := func(b []byte, signed bool) int64 {
		var s int64
		for _, v := range b {
			if signed {
				s += int64(int8(v))
			} else {
				s += int64(v)
			}
		}
		return s
	}
	lengths := []int{0, 1, 7, 8, 9, 15, 16, 17, 400, 1023, 1024, 1025, 2047, 2048, 2049, 5000}
	for range 20 {
		lengths = append(lengths, rng.Intn(3000))
	}
	for _, n := range lengths {
		for _, fill := range []int{-1, 0x00, 0x7F, 0x80, 0xFF} {
			b := make([]byte, n)
			for i := range b {
				if fill < 0 {
					b[i] = byte(rng.Uint32())
				} else {
					b[i] = byte(fill)
				}
			}
			for _, signed := range []bool{false, true} {
				if got, want := codeSum(b, signed), plain(b, signed); got != want {
					t.Fatalf("n=%d fill=%#x signed=%v: codeSum = %d, want %d", n, fill, signed, got, want)
				}
			}
		}
	}
}

// TestQuantizeTensorReportsNonFinite checks that quantizeTensor marks its
// output when, and only when, an input is NaN or ±Inf: on the vector loop
// and on the scalar loop that code histograms take, per tensor and per
// channel, with the bad value anywhere, on 1 and 3 threads.
func TestQuantizeTensorReportsNonFinite(t *testing.T) {
	r := rand.New(rand.NewSource(31))
	shape := []int{3, 5, 4111} // per channel on axis 1; long enough to split
	n := 3 * 5 * 4111
	perTensor := quantize.PerTensor(0.05, 3, 0, 255)
	perChannel := quantize.Params{Scale: []float32{0.1, 0.2, 0.05, 0.3, 0.01}, ZeroPoint: []int32{0, 1, 2, 3, 4}, QMin: -128, QMax: 127, Axis: 1}
	for _, p := range []quantize.Params{perTensor, perChannel} {
		for _, bad := range []float32{0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for _, withHist := range []bool{false, true} {
				for _, threads := range []int{1, 3} {
					values := make([]float32, n)
					for i := range values {
						values[i] = float32(r.NormFloat64())
					}
					at := r.Intn(n)
					if bad != 0 {
						values[at] = bad
					}
					var hist *[256]int64
					if withHist {
						hist = new([256]int64)
					}
					q := quantized{bytes: make([]byte, n)}
					quantizeTensor(&q, p, values, shape, hist, threads)
					if got, want := q.nonFinite != 0, bad != 0; got != want {
						t.Errorf("per channel %v, x[%d]=%v, histogram %v, %d threads: non-finite %v, want %v",
							p.IsPerChannel(), at, bad, withHist, threads, got, want)
					}
				}
			}
		}
	}
}
