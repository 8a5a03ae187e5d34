package errmodel

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/metrics"
	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/quantize"
)

func mustTable(t *testing.T, spec string) *lut.Table {
	t.Helper()
	tab, err := multiplier.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func randHist(r *rand.Rand, lo, hi int) []float64 {
	h := make([]float64, 256)
	for c := lo; c <= hi; c++ {
		if r.Intn(3) > 0 {
			h[c&0xFF] = float64(r.Intn(50))
		}
	}
	h[lo&0xFF]++ // never empty
	return h
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestGlobalPerProductMatchesMetrics checks the Global model with K = 1 and
// unit scales against lut/metrics.ErrorMoments, an independent computation
// of the product error's mean and variance under p(x)p(w).
func TestGlobalPerProductMatchesMetrics(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, spec := range []string{"mitchell:signed=true", "drum:k=4,signed=true", "trunc:t=6,signed=true", "loa:l=6,signed=true"} {
		tab := mustTable(t, spec)
		px, pw := randHist(r, 0, 127), randHist(r, -128, 127)
		wantMean, wantVar, err := metrics.ErrorMoments(tab, px, pw)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{1, 37} {
			p, err := Predict(Layer{Table: tab, FanIn: k, XParams: quantize.PerTensor(1, 0, 0, 127),
				WParams: quantize.PerTensor(1, 0, -128, 127), XHist: px, WHist: pw}, Global)
			if err != nil {
				t.Fatal(err)
			}
			kf := float64(k)
			if !near(p.Output.Mean, kf*wantMean, 1e-9) || !near(p.Output.Std, math.Sqrt(kf*wantVar), 1e-9) {
				t.Errorf("%s K=%d: mean %g std %g, want %g and %g", spec, k, p.Output.Mean, p.Output.Std, kf*wantMean, math.Sqrt(kf*wantVar))
			}
		}
	}
}

// TestHandComputedModels uses a table whose error is e(x, w) = x·[w odd]
// (exact elsewhere), with activations 0 or 2 half the time each:
// m(w) = 1·[w odd], v(w) = 1·[w odd].
func TestHandComputedModels(t *testing.T) {
	tab, err := lut.Tabulate("x-if-odd", lut.Signs{X: lut.Unsigned, W: lut.Signed}, func(x, w int) int {
		if w%2 != 0 {
			return x*w + x
		}
		return x * w
	})
	if err != nil {
		t.Fatal(err)
	}
	xh := make([]float64, 256)
	xh[0], xh[2] = 5, 5
	// Channel 0: weights {1, 1, 2}; channel 1: {2, 4, -3}. K = 3.
	w0, w1 := make([]float64, 256), make([]float64, 256)
	w0[1], w0[2] = 2, 1
	w1[2], w1[4], w1[byte(0xFD)] = 1, 1, 1
	wp := quantize.PerChannel(0, []float32{0.5, 2}, []int32{0, 0}, -128, 127)
	l := Layer{Table: tab, FanIn: 3, XParams: quantize.PerTensor(0.1, 0, 0, 255), WParams: wp, XHist: xh, WChannels: [][]float64{w0, w1}}

	// Channels: channel 0 has two odd weights: accumulator mean 2, var 2;
	// channel 1 one: mean 1, var 1. Scales 0.05 and 0.2.
	p, err := Predict(l, Channels)
	if err != nil {
		t.Fatal(err)
	}
	want := []Moments{{2 * 0.05, math.Sqrt(2) * 0.05}, {1 * 0.2, 1 * 0.2}}
	for o, m := range p.PerChannel {
		if !near(m.Mean, want[o].Mean, 1e-7) || !near(m.Std, want[o].Std, 1e-7) {
			t.Errorf("channels: channel %d %+v, want %+v", o, m, want[o])
		}
	}
	// Pooled: mean of means, E[v + m²] − mean².
	mean := (0.1 + 0.2) / 2
	second := (0.005 + 0.01 + 0.04 + 0.04) / 2
	if !near(p.Output.Mean, mean, 1e-7) || !near(p.Output.Std, math.Sqrt(second-mean*mean), 1e-7) {
		t.Errorf("channels pooled %+v, want mean %g std %g", p.Output, mean, math.Sqrt(second-mean*mean))
	}

	// Global: 3 of 6 weights odd, so per product μ = 0.5 and
	// σ² = E[v + m²] − μ² = 0.5·2 − 0.25 = 0.75; K = 3.
	p, err = Predict(l, Global)
	if err != nil {
		t.Fatal(err)
	}
	for o, s := range []float64{0.05, 0.2} {
		m := p.PerChannel[o]
		if !near(m.Mean, 1.5*s, 1e-7) || !near(m.Std, math.Sqrt(2.25)*s, 1e-7) {
			t.Errorf("global: channel %d %+v, want mean %g std %g", o, m, 1.5*s, 1.5*s)
		}
	}

	// PopulationChannels with two fields: all zeros (no error) and all 2s
	// (error exactly 2 per odd weight, no variance). Channel 0 gets
	// accumulator errors {0, 4}: mean 2, std 2.
	var f0, f1 Field
	f0.Hist[0], f1.Hist[2] = 3, 3
	l.Fields = []Field{f0, f1}
	p, err = Predict(l, PopulationChannels)
	if err != nil {
		t.Fatal(err)
	}
	if m := p.PerChannel[0]; !near(m.Mean, 2*0.05, 1e-7) || !near(m.Std, 2*0.05, 1e-7) {
		t.Errorf("population+channels: channel 0 %+v, want mean and std 0.1", m)
	}
}

func TestConvFieldsHandComputed(t *testing.T) {
	// One 1x3x3 image with codes 1..9, a 2x2 kernel, padding 1, stride 2:
	// output 2x2. The top-left patch sees three padding codes (zx = 7) and
	// code 1; the bottom-right one sees 5, 6, 8, 9.
	codes := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	g := geom.Conv{N: 1, C: 1, H: 3, W: 3, O: 1, KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	fields, err := ConvFields(codes, g, 7, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 4 {
		t.Fatalf("%d fields, want 4", len(fields))
	}
	if fields[0].Hist[7] != 3 || fields[0].Hist[1] != 1 {
		t.Errorf("top-left field: code 7 ×%g, code 1 ×%g; want 3 and 1", fields[0].Hist[7], fields[0].Hist[1])
	}
	for _, c := range []int{5, 6, 8, 9} {
		if fields[3].Hist[c] != 1 {
			t.Errorf("bottom-right field lacks code %d", c)
		}
	}
	// Sampling: a bounded, seeded, repeatable subset.
	a, _ := ConvFields(codes, g, 7, 2, 5)
	b, _ := ConvFields(codes, g, 7, 2, 5)
	if len(a) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Error("sampled fields are not 2 or not repeatable for one seed")
	}
}

// TestConvFieldsCoverEveryGroup samples a depthwise layer with more
// groups than the field limit: every group must get fields (its output
// channel sees no other: the population model needs one), each field
// holding exactly its own channel's codes and padding.
func TestConvFieldsCoverEveryGroup(t *testing.T) {
	const groups = 24
	g := geom.Conv{N: 2, C: groups, H: 5, W: 5, O: groups, KH: 3, KW: 3, StrideH: 2, StrideW: 2,
		PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: groups}
	codes := make([]int32, g.XLen())
	for i := range codes {
		codes[i] = int32(i / (g.H * g.W) % g.C) // channel c holds code c
	}
	const zx = 200
	fields, err := ConvFields(codes, g, zx, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	per := make([]int, groups)
	for i, f := range fields {
		per[f.Group]++
		var n float64
		for c, v := range f.Hist {
			if v != 0 && c != f.Group && c != zx {
				t.Fatalf("field %d of group %d holds code %d", i, f.Group, c)
			}
			n += v
		}
		if n != 9 {
			t.Fatalf("field %d holds %g codes, want 9", i, n)
		}
	}
	for grp, n := range per {
		if n != 1 { // ceil(10/24)
			t.Fatalf("group %d has %d fields, want 1", grp, n)
		}
	}
	again, _ := ConvFields(codes, g, zx, 10, 3)
	for i := range fields {
		if fields[i] != again[i] {
			t.Fatal("sampled fields are not repeatable for one seed")
		}
	}
}

func TestChannelHists(t *testing.T) {
	// InOut weights (2 in, 3 out): channel = column.
	codes := []int32{1, -1, 3, 1, 5, -1}
	h, err := ChannelHists(codes, []int{2, 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if h[0][1] != 2 || h[1][0xFF] != 1 || h[1][5] != 1 || h[2][3] != 1 || h[2][0xFF] != 1 {
		t.Errorf("histograms wrong: %v %v %v", h[0][:8], h[1][:8], h[2][:8])
	}
	if _, err := ChannelHists(codes, []int{4, 3}, 1); err == nil {
		t.Error("shape mismatch accepted")
	}
}

func TestPredictErrors(t *testing.T) {
	tab := mustTable(t, "mitchell:signed=true")
	xh := make([]float64, 256)
	xh[3] = 1
	good := Layer{Table: tab, FanIn: 4, XParams: quantize.PerTensor(1, 0, 0, 127), WParams: quantize.PerTensor(1, 0, -128, 127), XHist: xh, WHist: xh}
	cases := []struct {
		name  string
		edit  func(*Layer)
		model Model
		want  string
	}{
		{"no table", func(l *Layer) { l.Table = nil }, Global, "no table"},
		{"fan-in", func(l *Layer) { l.FanIn = 0 }, Global, "fan-in"},
		{"empty histogram", func(l *Layer) { l.XHist = make([]float64, 256) }, Global, "empty"},
		{"negative bin", func(l *Layer) { l.XHist = append([]float64{-1}, make([]float64, 255)...) }, Global, "non-negative"},
		{"short histogram", func(l *Layer) { l.WHist = []float64{1} }, Global, "256"},
		{"unsigned table, signed weights", func(l *Layer) { l.Table = mustTable(t, "mitchell") }, Global, "do not fit"},
		{"channels without weights", func(l *Layer) {}, Channels, "WChannels"},
		{"population without fields", func(l *Layer) {}, Population, "Fields"},
		{"channel count", func(l *Layer) {
			h := make([]float64, 256)
			h[1] = 3
			l.WChannels = [][]float64{h}
		}, Channels, "fan-in"},
	}
	for _, c := range cases {
		l := good
		c.edit(&l)
		_, err := Predict(l, c.model)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := Predict(good, Global); err != nil {
		t.Errorf("good layer: %v", err)
	}
}

// BenchmarkPredictPopulationChannels: 4096 sampled fields of a 5x5 conv
// with 64 output channels.
func BenchmarkPredictPopulationChannels(b *testing.B) {
	tab, err := multiplier.Parse("mitchell:signed=true")
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	fields := make([]Field, 4096)
	for i := range fields {
		for range 25 {
			fields[i].Hist[r.Intn(128)]++
		}
	}
	wc := make([][]float64, 64)
	for o := range wc {
		wc[o] = make([]float64, 256)
		for range 25 {
			wc[o][r.Intn(256)]++
		}
	}
	l := Layer{Table: tab, FanIn: 25, XParams: quantize.PerTensor(1, 0, 0, 127), WParams: quantize.PerTensor(1, 0, -128, 127),
		WChannels: wc, Fields: fields}
	for b.Loop() {
		if _, err := Predict(l, PopulationChannels); err != nil {
			b.Fatal(err)
		}
	}
}
