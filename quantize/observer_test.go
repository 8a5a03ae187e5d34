package quantize

import (
	"flag"
	"io"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// batch is a seeded tensor of shape [4, 3, 2] with a different spread in
// each index of axes 0 and 1, so per-channel ranges differ.
func batch(seed int64) ([]float32, []int) {
	r := rand.New(rand.NewSource(seed))
	shape := []int{4, 3, 2}
	v := make([]float32, 24)
	for i := range v {
		v[i] = float32(r.NormFloat64())*float32(1+i/6) + float32(i%6)*0.1
	}
	return v, shape
}

var conformanceSchemes = []Scheme{
	{Bits: 8},
	{Bits: 8, Signed: true, Symmetric: true},
	{Bits: 8, Signed: true, Symmetric: true, PerChannel: true, Axis: 0},
	{Bits: 4, Signed: true, PerChannel: true, Axis: 1},
	{Bits: 8, CustomRange: true, QMin: 0, QMax: 127},
}

// TestObserverConformance is what every observer kind, per tensor and per
// channel, must do.
func TestObserverConformance(t *testing.T) {
	for _, kind := range ObserverKinds() {
		for _, s := range conformanceSchemes {
			name := string(kind) + " " + s.String()
			newObs := func() Observer {
				o, err := NewObserver(kind, s)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return o
			}
			o := newObs()
			if o.Kind() != kind {
				t.Errorf("%s: Kind() = %q", name, o.Kind())
			}
			if _, err := o.Params(); err == nil || !strings.Contains(err.Error(), "no values observed") {
				t.Errorf("%s: Params before observing: %v", name, err)
			}

			v1, shape := batch(1)
			o.Observe(v1, shape)
			p1, err := o.Params()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := p1.Validate(); err != nil {
				t.Errorf("%s: invalid params: %v", name, err)
			}
			if err := p1.CheckShape(shape); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if p1.IsPerChannel() != s.PerChannel || (s.PerChannel && p1.Axis != s.Axis) {
				t.Errorf("%s: params axis %d", name, p1.Axis)
			}
			// Real zero has an exact code, whatever was observed.
			for c := range p1.Scale {
				if z := Dequantize(p1.Code(0, c), p1.Scale[c], p1.ZeroPoint[c]); z != 0 {
					t.Errorf("%s: 0 fake-quantizes to %g in channel %d", name, z, c)
				}
			}
			// Min/max observers cover every value: error at most half a step.
			if kind != KindHistogram {
				out := make([]float32, len(v1))
				p1.FakeQuant(out, v1, nil, shape)
				for i := range v1 {
					c := 0
					if s.PerChannel {
						c = channelOf(i, shape, s.Axis)
					}
					if d := math.Abs(float64(out[i] - v1[i])); d > float64(p1.Scale[c])*0.5001 {
						t.Errorf("%s: value %g fake-quantizes to %g, more than half a step %g", name, v1[i], out[i], p1.Scale[c])
					}
				}
			}

			// Frozen: new data does not change the parameters.
			o.Freeze()
			if !o.Frozen() {
				t.Errorf("%s: not frozen after Freeze", name)
			}
			wide := make([]float32, len(v1))
			for i := range wide {
				wide[i] = v1[i]*10 - 3
			}
			o.Observe(wide, shape)
			if p, _ := o.Params(); !reflect.DeepEqual(p, p1) {
				t.Errorf("%s: frozen params changed: %+v -> %+v", name, p1, p)
			}
			o.Unfreeze()
			o.Observe(wide, shape)
			if p, _ := o.Params(); reflect.DeepEqual(p, p1) {
				t.Errorf("%s: unfrozen params did not change after a 10x wider batch", name)
			}

			// NaN and Inf are skipped and counted: the parameters are those of
			// the finite values alone.
			clean, dirty := newObs(), newObs()
			clean.Observe(v1, shape)
			bad := append([]float32(nil), v1...)
			bad[3], bad[10], bad[17] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
			cleanVals := append([]float32(nil), v1...)
			cleanVals[3], cleanVals[10], cleanVals[17] = v1[0], v1[0], v1[0] // harmless stand-ins
			clean.Reset()
			if s.PerChannel {
				// Stand-ins must stay inside their own channel's range.
				for _, i := range []int{3, 10, 17} {
					cleanVals[i] = v1[firstInChannel(i, shape, s.Axis)]
				}
			}
			clean.Observe(cleanVals, shape)
			dirty.Observe(bad, shape)
			pc, _ := clean.Params()
			pd, err := dirty.Params()
			if err != nil || !reflect.DeepEqual(pc, pd) {
				t.Errorf("%s: NaN/Inf changed params: %+v vs %+v (%v)", name, pc, pd, err)
			}
			if dirty.NonFinite() != 3 || clean.NonFinite() != 0 {
				t.Errorf("%s: NonFinite = %d and %d, want 3 and 0", name, dirty.NonFinite(), clean.NonFinite())
			}

			// State: a fresh observer given the state, and one rebuilt from it,
			// have identical params and go on identically.
			o.Freeze()
			state, err := o.State()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want, _ := o.Params()
			restored := newObs()
			if err := restored.SetState(state); err != nil {
				t.Fatalf("%s: SetState: %v", name, err)
			}
			rebuilt, err := ObserverFromState(state)
			if err != nil {
				t.Fatalf("%s: ObserverFromState: %v", name, err)
			}
			for _, r := range []Observer{restored, rebuilt} {
				if p, err := r.Params(); err != nil || !reflect.DeepEqual(p, want) {
					t.Errorf("%s: restored params %+v (%v), want %+v", name, p, err, want)
				}
				if !r.Frozen() || r.Kind() != kind {
					t.Errorf("%s: restored observer frozen=%v kind=%q", name, r.Frozen(), r.Kind())
				}
				r.Unfreeze()
			}
			o.Unfreeze()
			v2, _ := batch(2)
			for _, x := range []Observer{o, restored, rebuilt} {
				x.Observe(v2, shape)
			}
			want, _ = o.Params()
			for _, r := range []Observer{restored, rebuilt} {
				if p, _ := r.Params(); !reflect.DeepEqual(p, want) {
					t.Errorf("%s: after restoring and observing again: %+v, want %+v", name, p, want)
				}
			}

			// Reset forgets everything, but keeps the observer frozen or not.
			o.Reset()
			if _, err := o.Params(); err == nil {
				t.Errorf("%s: params after Reset", name)
			}

			// Bad shapes are remembered until Reset.
			o.Observe(v1, []int{5, 5})
			if _, err := o.Params(); err == nil || !strings.Contains(err.Error(), "holds 25 values but 24") {
				t.Errorf("%s: mismatched shape: %v", name, err)
			}
			if _, err := o.State(); err == nil {
				t.Errorf("%s: State of an observer in error", name)
			}
			o.Reset()
			o.Observe(v1, shape)
			if _, err := o.Params(); err != nil {
				t.Errorf("%s: after Reset: %v", name, err)
			}
			if s.PerChannel {
				o.Observe(make([]float32, 4*5*2), []int{4, 5, 2})
				if _, err := o.Params(); s.Axis == 1 && (err == nil || !strings.Contains(err.Error(), "channels")) {
					t.Errorf("%s: changed channel count: %v", name, err)
				}
				o.Reset()
				o.Observe(v1, []int{24})
				if _, err := o.Params(); s.Axis == 1 && (err == nil || !strings.Contains(err.Error(), "rank 1")) {
					t.Errorf("%s: axis beyond rank: %v", name, err)
				}
			}

			// Only non-finite values: a clear error, not a range.
			o.Reset()
			nan := make([]float32, 24)
			for i := range nan {
				nan[i] = float32(math.NaN())
			}
			o.Observe(nan, shape)
			if _, err := o.Params(); err == nil || !strings.Contains(err.Error(), "24 NaN or Inf") {
				t.Errorf("%s: all NaN: %v", name, err)
			}

			// All zero: the smallest scale, and the code of 0.
			o.Reset()
			o.Observe(make([]float32, 24), shape)
			p, err := o.Params()
			if err != nil {
				t.Fatalf("%s: all zero: %v", name, err)
			}
			for c := range p.Scale {
				if p.Scale[c] != Float32Eps {
					t.Errorf("%s: all-zero scale %g", name, p.Scale[c])
				}
			}
		}
	}
}

func firstInChannel(i int, shape []int, axis int) int {
	for j := 0; ; j++ {
		if channelOf(j, shape, axis) == channelOf(i, shape, axis) && j != 3 && j != 10 && j != 17 {
			return j
		}
	}
}

func TestObserverStateErrors(t *testing.T) {
	s := Scheme{Bits: 8}
	mm, _ := NewMinMax(s)
	mm.Observe([]float32{-1, 2}, nil)
	good, _ := mm.State()
	before, _ := mm.Params()

	other, _ := NewMinMax(Scheme{Bits: 8, Signed: true})
	hist, _ := NewHistogram(s, DefaultHistogramBins)
	ma, _ := NewMovingAverageMinMax(s, 0.5)
	for _, c := range []struct {
		name string
		o    Observer
		data string
		want string
	}{
		{"not JSON", mm, "{", "not valid JSON"},
		{"other kind", hist, string(good), `"minmax" observer given to a "histogram"`},
		{"other scheme", other, string(good), "scheme uint8"},
		{"other constant", ma, strings.Replace(string(good), `"minmax"`, `"moving_average"`, 1), "averaging constant"},
		{"version", mm, strings.Replace(string(good), `"version":1`, `"version":7`, 1), "version 7"},
		{"min above max", mm, strings.Replace(string(good), `"min":[-1]`, `"min":[5]`, 1), "min 5 above max 2"},
		{"half a channel", mm, strings.Replace(string(good), `"min":[-1]`, `"min":[null]`, 1), "only one of"},
	} {
		err := c.o.SetState([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	if p, _ := mm.Params(); !reflect.DeepEqual(p, before) {
		t.Errorf("failed SetState changed the observer")
	}
	if _, err := ObserverFromState([]byte(`{"kind":"kmeans"}`)); err == nil || !strings.Contains(err.Error(), "minmax, moving_average, histogram") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := NewObserver("kmeans", s); err == nil || !strings.Contains(err.Error(), "minmax, moving_average, histogram") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := NewMovingAverageMinMax(s, 0); err == nil {
		t.Errorf("averaging constant 0 accepted")
	}
	if _, err := NewHistogram(s, 1); err == nil {
		t.Errorf("1 bin accepted")
	}
	if _, err := NewMinMax(Scheme{Bits: 8, Axis: 2}); err == nil {
		t.Errorf("invalid scheme accepted")
	}
}

func TestMinMaxByHand(t *testing.T) {
	o, _ := NewMinMax(Scheme{Bits: 8})
	o.Observe([]float32{-1, 0.5, 2}, []int{3})
	o.Observe([]float32{0, 3}, []int{2})
	// Running range [-1, 3]: scale = 4/255, zp = -round(-63.75) = 64.
	p, _ := o.Params()
	four := float32(4)
	if want := PerTensor(four/255, 64, 0, 255); !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}

func TestMovingAverageByHand(t *testing.T) {
	o, _ := NewMovingAverageMinMax(Scheme{Bits: 8}, 0.5)
	o.Observe([]float32{-1, 2}, nil) // first: [-1, 2]
	o.Observe([]float32{-3, 4}, nil) // min = -1 + 0.5*(-3 - -1) = -2, max = 2 + 0.5*(4-2) = 3
	lo, hi, _ := o.Range()
	if lo[0] != -2 || hi[0] != 3 {
		t.Fatalf("range [%g, %g], want [-2, 3]", lo[0], hi[0])
	}
	// scale = 5/255; -2/scale = -102, zp = 102.
	p, _ := o.Params()
	five := float32(5)
	if want := PerTensor(five/255, 102, 0, 255); !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, want %+v", p, want)
	}

	// Default constant 0.01, computed in float32 step by step as PyTorch.
	d, _ := NewObserver(KindMovingAverage, Scheme{Bits: 8})
	d.Observe([]float32{0, 1}, nil)
	d.Observe([]float32{0, 2}, nil) // max = 1 + 0.01*(2-1)
	lo, hi, _ = d.(*MinMax).Range()
	if want := float32(1) + float32(0.01)*float32(1); lo[0] != 0 || hi[0] != want {
		t.Fatalf("range [%g, %g], want [0, %g]", lo[0], hi[0], want)
	}
}

func TestPerChannelMinMaxByHand(t *testing.T) {
	// Rows: [-1, 0, 2], [4, 1, 3]; columns: [-1, 4], [0, 1], [2, 3].
	values := []float32{-1, 0, 2, 4, 1, 3}
	shape := []int{2, 3}
	for _, c := range []struct {
		axis   int
		lo, hi []float32
	}{
		{0, []float32{-1, 1}, []float32{2, 4}},
		{1, []float32{-1, 0, 2}, []float32{4, 1, 3}},
	} {
		o, _ := NewMinMax(Scheme{Bits: 8, Signed: true, Symmetric: true, PerChannel: true, Axis: c.axis})
		o.Observe(values, shape)
		lo, hi, err := o.Range()
		if err != nil || !reflect.DeepEqual(lo, c.lo) || !reflect.DeepEqual(hi, c.hi) {
			t.Errorf("axis %d: range %v %v (%v), want %v %v", c.axis, lo, hi, err, c.lo, c.hi)
		}
	}
	// A channel without finite values gets [0, 0] (scale eps) while the
	// others keep theirs.
	o, _ := NewMinMax(Scheme{Bits: 8, Signed: true, Symmetric: true, PerChannel: true, Axis: 0})
	nan := float32(math.NaN())
	o.Observe([]float32{nan, nan, 2, -4}, []int{2, 2})
	p, err := o.Params()
	four := float32(4)
	if err != nil || p.Scale[0] != Float32Eps || p.Scale[1] != four/127.5 {
		t.Errorf("params %+v (%v), want scales [eps, 4/127.5]", p, err)
	}
}

// gaussianWithOutlier is n seeded N(0,1) values, one of them replaced by 1000.
func gaussianWithOutlier(n int) []float32 {
	r := rand.New(rand.NewSource(42))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	v[n/2] = 1000
	return v
}

func mse(p Params, values []float32) float64 {
	out := make([]float32, len(values))
	p.FakeQuant(out, values, nil, nil)
	sum := 0.0
	for i := range values {
		d := float64(out[i] - values[i])
		sum += d * d
	}
	return sum / float64(len(values))
}

// Clipping one outlier at M to the bulk's edge costs about M^2 of squared
// error; keeping it makes the step about M/255 for all n values, costing
// about n*(M/255)^2/12. Clipping wins once n > 12*255^2 = 780300, whatever M:
// with 2e6 values it must clip; with 1e4 it must not (the L2 optimum keeps
// the outlier, and so does PyTorch's HistogramObserver).
func TestHistogramClipsOutliers(t *testing.T) {
	for _, n := range []int{2000000, 10000} {
		clips := n > 780300
		v := gaussianWithOutlier(n)
		s := Scheme{Bits: 8, Signed: true}
		h, _ := NewHistogram(s, DefaultHistogramBins)
		mm, _ := NewMinMax(s)
		h.Observe(v, nil)
		mm.Observe(v, nil)
		hlo, hhi, _ := h.Range()
		mlo, mhi, _ := mm.Range()
		if mhi[0] != 1000 {
			t.Fatalf("n=%d: min/max observer range [%g, %g], want the outlier 1000 as max", n, mlo[0], mhi[0])
		}
		hp, _ := h.Params()
		mp, _ := mm.Params()
		he, me := mse(hp, v), mse(mp, v)
		t.Logf("n=%d: histogram range [%.3f, %.3f] mse %.4g; min/max range [%.3f, %.3f] mse %.4g", n, hlo[0], hhi[0], he, mlo[0], mhi[0], me)
		if !clips {
			if hhi[0] < 990 {
				t.Errorf("n=%d: histogram range [%g, %g] clips an outlier that costs more than it saves", n, hlo[0], hhi[0])
			}
			continue
		}
		// The bulk is within about ±5.5; the clipped range must be of that size.
		if hhi[0] > 10 || hlo[0] < -10 || hhi[0] < 2 || hlo[0] > -2 {
			t.Errorf("n=%d: histogram range [%g, %g], want about the bulk of N(0,1)", n, hlo[0], hhi[0])
		}
		if he >= me {
			t.Errorf("n=%d: histogram mse %g is not below min/max mse %g", n, he, me)
		}
		// Without the outlier the steps are about 1005/9.3 = 108 times
		// finer, so the bulk's error is about 11700 times smaller.
		bulk := append(append([]float32(nil), v[:n/2]...), v[n/2+1:]...)
		if hb, mb := mse(hp, bulk), mse(mp, bulk); hb > mb/1000 {
			t.Errorf("n=%d: bulk mse %g with the histogram range, %g with min/max: want a 1000-fold gain", n, hb, mb)
		}
	}
}

func TestHistogramKeepsRangeWithoutOutliers(t *testing.T) {
	// Uniform values: clipping gains nothing, so the range stays close to
	// the data's.
	r := rand.New(rand.NewSource(7))
	v := make([]float32, 20000)
	for i := range v {
		v[i] = float32(r.Float64()*2 - 1)
	}
	h, _ := NewHistogram(Scheme{Bits: 8, Signed: true}, DefaultHistogramBins)
	h.Observe(v, nil)
	lo, hi, _ := h.Range()
	if lo[0] > -0.95 || hi[0] < 0.95 {
		t.Errorf("range [%g, %g] clips uniform [-1, 1] data", lo[0], hi[0])
	}
}

// Widening the histogram moves the old counts without losing any.
func TestHistogramWideningKeepsMass(t *testing.T) {
	h, _ := NewHistogram(Scheme{Bits: 8}, 64)
	h.Observe([]float32{0.5, 0.5, 0.5}, nil) // one point: zero width
	h.Observe([]float32{0, 1}, nil)
	h.Observe([]float32{-3, 2, 0.25}, nil)
	h.Observe([]float32{10}, nil)
	ch := h.ch[0]
	total := 0.0
	for _, c := range ch.counts {
		total += c
	}
	if ch.lo != -3 || ch.hi != 10 || math.Abs(total-9) > 1e-9 {
		t.Fatalf("histogram spans [%g, %g] with mass %g, want [-3, 10] and 9", ch.lo, ch.hi, total)
	}
	// The mean by bin centres stays within a bin width of the values' mean
	// (0.5*3 + 0 + 1 - 3 + 2 + 0.25 + 10)/9: old counts moved to where
	// their values are, up to the spreading inside a bin.
	width := 13.0 / 64
	mean := 0.0
	for i, c := range ch.counts {
		mean += c * (-3 + (float64(i)+0.5)*width)
	}
	mean /= total
	if want := 11.75 / 9; math.Abs(mean-want) > width {
		t.Errorf("histogram mean %g, values' mean %g", mean, want)
	}
}

// quantError against numerical integration of (x - q(x))^2.
func TestQuantErrorMatchesIntegration(t *testing.T) {
	counts := []float64{3, 0, 1, 5, 2, 0, 0, 4}
	const width = 0.5
	for _, c := range []struct{ start, end, codes int }{{0, 7, 3}, {2, 5, 3}, {3, 3, 4}, {1, 6, 16}} {
		got := quantError(counts, width, c.start, c.end, c.codes)
		dst := width * float64(c.end-c.start+1) / float64(c.codes)
		lo := float64(c.start) * width
		q := func(x float64) float64 {
			k := math.Floor((x - lo) / dst)
			k = math.Min(math.Max(k, 0), float64(c.codes-1))
			return lo + (k+0.5)*dst
		}
		want := 0.0
		const steps = 20000
		for i, n := range counts {
			for j := 0; j < steps; j++ {
				x := (float64(i) + (float64(j)+0.5)/steps) * width
				d := x - q(x)
				want += n / width * d * d * width / steps
			}
		}
		if math.Abs(got-want) > 1e-6*math.Max(want, 1e-3) {
			t.Errorf("bins %d..%d into %d codes: %g, integration %g", c.start, c.end, c.codes, got, want)
		}
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	v := gaussianWithOutlier(10000)
	h, _ := NewHistogram(Scheme{Bits: 8, Signed: true}, DefaultHistogramBins)
	b.SetBytes(int64(4 * len(v)))
	for i := 0; i < b.N; i++ {
		h.Observe(v, nil)
	}
}

func BenchmarkHistogramParams(b *testing.B) {
	h, _ := NewHistogram(Scheme{Bits: 8, Signed: true}, DefaultHistogramBins)
	h.Observe(gaussianWithOutlier(2000000), nil)
	for i := 0; i < b.N; i++ {
		if _, err := h.Params(); err != nil {
			b.Fatal(err)
		}
	}
}

// An observer kind is a typed value whose name round-trips through
// ParseObserverKind and a command-line flag, and NewObserver takes either.
func TestObserverKindNames(t *testing.T) {
	want := []string{"minmax", "moving_average", "histogram"}
	if got := ObserverNames(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ObserverNames() = %v, want %v", got, want)
	}
	s := Scheme{Bits: 8}
	for i, k := range ObserverKinds() {
		if k.String() != want[i] {
			t.Errorf("kind %d is %q, want %q", i, k, want[i])
		}
		parsed, err := ParseObserverKind(want[i])
		if err != nil || parsed != k {
			t.Errorf("ParseObserverKind(%q) = %q, %v", want[i], parsed, err)
		}
		fromName, err := NewObserver(want[i], s)
		if err != nil {
			t.Fatal(err)
		}
		fromKind, err := NewObserver(k, s)
		if err != nil {
			t.Fatal(err)
		}
		if fromName.Kind() != k || fromKind.Kind() != k {
			t.Errorf("%s: observers of kinds %q (by name) and %q (by kind)", k, fromName.Kind(), fromKind.Kind())
		}
	}
	for _, bad := range []string{"", "MinMax", "minmax "} {
		if _, err := ParseObserverKind(bad); err == nil || !strings.Contains(err.Error(), "minmax, moving_average, histogram") {
			t.Errorf("ParseObserverKind(%q): %v", bad, err)
		}
	}

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	kind := KindMinMax
	fs.Var(&kind, "observer", "observer kind")
	if err := fs.Parse([]string{"-observer", "histogram"}); err != nil || kind != KindHistogram {
		t.Errorf("flag -observer histogram: kind %q, %v", kind, err)
	}
	if err := fs.Parse([]string{"-observer", "kmeans"}); err == nil || kind != KindHistogram {
		t.Errorf("flag -observer kmeans: kind %q, %v; want an error and the kind unchanged", kind, err)
	}
}
