package ops

import (
	"errors"
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/quantize"
)

// TestLayersDifferingInOneFieldStaySeparate builds, in one graph, pairs of
// layers on the same input nodes that differ in a single field, and checks
// that Gorgonia keeps two nodes (its hash-consing would otherwise merge
// them and silently compute one layer twice).
func TestLayersDifferingInOneFieldStaySeparate(t *testing.T) {
	g := gorgonia.NewGraph()
	r := rand.New(rand.NewSource(11))
	x := gorgonia.NodeFromAny(g, denseOf([]int{2, 3, 6, 6}, randFloats(r, 2*3*36, 1)), gorgonia.WithName("x"))
	w := gorgonia.NodeFromAny(g, denseOf([]int{4, 3, 3, 3}, randFloats(r, 4*27, 1)), gorgonia.WithName("w"))
	xl := gorgonia.NodeFromAny(g, denseOf([]int{2, 5}, randFloats(r, 10, 1)), gorgonia.WithName("xl"))
	wl := gorgonia.NodeFromAny(g, denseOf([]int{3, 5}, randFloats(r, 15, 1)), gorgonia.WithName("wl"))

	base := func(id string) *LayerState {
		s := NewLayerState(id, 1)
		s.Mode = Approximate
		s.XParams = quantize.PerTensor(0.05, 0, 0, 127)
		s.WParams = quantize.PerTensor(0.02, 0, -128, 127)
		if err := s.SetTable(lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed})); err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherLUT := base("L")
	if err := otherLUT.SetTable(tableOf(t, false, true, func(a, b int) int { return a*b + 1 })); err != nil {
		t.Fatal(err)
	}
	otherScale := base("L")
	otherScale.WParams.Scale = []float32{0.021}

	type pair struct {
		name string
		a, b func() (*gorgonia.Node, error)
	}
	conv := func(s *LayerState, args ConvArgs) func() (*gorgonia.Node, error) {
		return func() (*gorgonia.Node, error) { return Conv2d(x, w, s, args) }
	}
	lin := func(s *LayerState) func() (*gorgonia.Node, error) {
		return func() (*gorgonia.Node, error) { return Linear(xl, wl, s, OutIn) }
	}
	// Dilation 1 with padding 1 and dilation 2 with padding 2 give the same
	// output shape: only the hash can tell them apart.
	d1 := ConvArgs{Pad: [2]int{1, 1}}
	d2 := ConvArgs{Pad: [2]int{2, 2}, Dilation: [2]int{2, 2}}
	pairs := []pair{
		{"conv lut", conv(base("L"), d1), conv(otherLUT, d1)},
		{"conv scale", conv(base("L"), d1), conv(otherScale, d1)},
		{"conv dilation", conv(base("L"), d1), conv(base("L"), d2)},
		{"conv id", conv(base("A"), d1), conv(base("B"), d1)},
		{"linear lut", lin(base("L")), lin(otherLUT)},
		{"linear scale", lin(base("L")), lin(otherScale)},
		{"linear id", lin(base("A")), lin(base("B"))},
		{"grouped conv dilation",
			func() (*gorgonia.Node, error) { return GroupedConv2d(x, w, d1) },
			func() (*gorgonia.Node, error) { return GroupedConv2d(x, w, d2) }},
		{"fake-quant scale",
			func() (*gorgonia.Node, error) { return FakeQuant(x, quantize.PerTensor(0.1, 0, -128, 127)) },
			func() (*gorgonia.Node, error) { return FakeQuant(x, quantize.PerTensor(0.2, 0, -128, 127)) }},
	}
	var outs []*gorgonia.Node
	for _, p := range pairs {
		a, err := p.a()
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.b()
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Errorf("%s: the two layers were merged into one node", p.name)
		}
		outs = append(outs, a, b)
	}
	// And they really compute different things.
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		if p.name == "conv id" || p.name == "linear id" {
			continue // same computation, different layers
		}
		if maxDiff(outs[2*i].Value().Data().([]float32), outs[2*i+1].Value().Data().([]float32)) == 0 {
			t.Errorf("%s: the two layers computed the same output", p.name)
		}
	}
	// The identical layer applied twice is one node (same computation).
	s := base("same")
	a, _ := Linear(xl, wl, s, OutIn)
	b, _ := Linear(xl, wl, s, OutIn)
	if a != b {
		t.Error("the same layer on the same inputs made two nodes")
	}
}

// TestModeSwitchWithoutRecompiling runs one compiled TapeMachine in every
// mode, switching through the shared state between runs.
func TestModeSwitchWithoutRecompiling(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	lc := layerCases()[2] // grouped, dilated conv
	x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
	s := quantState("switch", Float, lc.ws[0], 0)
	s.NoiseSigma = 0.5
	tab := tableOf(t, false, true, func(a, b int) int { return a*b - a })
	if err := s.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, x), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, w), gorgonia.WithName("w"))
	out, err := lc.build(xn, wn, s)
	if err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	run := func() []float32 {
		t.Helper()
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return copyFloats(yv)
	}
	xfq, _ := refFakeQuant(s.XParams, x, lc.xs)
	wfq, _ := refFakeQuant(s.WParams, w, lc.ws)
	want := map[Mode][]float32{
		Float:     to32(lc.ref(x, w)),
		Quantized: to32(lc.ref(xfq, wfq)),
	}
	direct := *s
	direct.Mode = Approximate
	want[Approximate], _ = runConv(t, &direct, convCase.args, x, w, lc.xs, lc.ws)
	for _, mode := range []Mode{Float, Quantized, Approximate, Noise, Float} {
		s.Mode = mode
		got := run()
		if mode == Noise {
			// Not training: Noise adds nothing.
			assertRel(t, "noise (inference)", got, want[Quantized], 1e-5)
			continue
		}
		assertRel(t, mode.String(), got, want[mode], 1e-5)
	}
	if maxDiff(want[Approximate], want[Quantized]) == 0 || maxDiff(want[Float], want[Quantized]) == 0 {
		t.Fatal("modes give identical outputs here: test too weak")
	}
	// Training in Noise mode changes the output and draws new noise per run.
	s.Mode, s.Training = Noise, true
	n1, n2 := run(), run()
	if maxDiff(n1, want[Quantized]) == 0 || maxDiff(n1, n2) == 0 {
		t.Error("training Noise mode did not add fresh noise")
	}
}

// fixedObserver is a test Observer that records what it saw and proposes
// a per-tensor scale of max|v|/qmax. The ops call only Observe and Params;
// the embedded nil interface stands for the rest.
type fixedObserver struct {
	quantize.Observer
	qmin, qmax int32
	seen       int
	maxAbs     float32
}

// Frozen reports false: the observer always learns, as the ops ask.
func (o *fixedObserver) Frozen() bool { return false }

func (o *fixedObserver) Observe(v []float32, shape []int) {
	o.seen++
	for _, x := range v {
		o.maxAbs = max(o.maxAbs, x, -x)
	}
}
func (o *fixedObserver) Params() (quantize.Params, error) {
	if o.seen == 0 {
		return quantize.Params{}, errors.New("nothing observed")
	}
	return quantize.PerTensor(o.maxAbs/float32(o.qmax), 0, o.qmin, o.qmax), nil
}

func TestObserversAndHistograms(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	lc := layerCases()[0]
	x, w := randFloats(r, prod(lc.xs), 1), randFloats(r, prod(lc.ws), 1)
	s := NewLayerState("obs", 1)
	s.Mode = Quantized
	s.XObserver = &fixedObserver{qmin: -128, qmax: 127}
	s.WObserver = &fixedObserver{qmin: -128, qmax: 127}
	s.RecordHistograms = true
	// Not training: observers are not consulted.
	forwardOnly(t, lc, s, x, w)
	if s.XObserver.(*fixedObserver).seen != 0 {
		t.Error("observer ran outside training")
	}
	s.Training = true
	y, _, _, _ := forwardOnly(t, lc, s, x, w)
	if s.XObserver.(*fixedObserver).seen != 1 || s.WObserver.(*fixedObserver).seen != 1 {
		t.Fatal("observers did not see the run")
	}
	wantX, _ := s.XObserver.Params()
	if s.XParams.Scale[0] != wantX.Scale[0] || s.XParams.QMin != -128 {
		t.Errorf("XParams %+v not refreshed from the observer (%+v)", s.XParams, wantX)
	}
	// The output used the refreshed parameters.
	xfq, _ := refFakeQuant(s.XParams, x, lc.xs)
	wfq, _ := refFakeQuant(s.WParams, w, lc.ws)
	assertRel(t, "y", y, to32(lc.ref(xfq, wfq)), 1e-5)
	// Histograms: three runs outside Float mode counted every code once;
	// the extreme values land on ±127.
	var nx, nw int64
	for i := range s.XHist {
		nx += s.XHist[i]
		nw += s.WHist[i]
	}
	if nx != 2*int64(len(x)) || nw != 2*int64(len(w)) {
		t.Errorf("histograms count %d activations and %d weights, want %d and %d", nx, nw, 2*len(x), 2*len(w))
	}
	if s.XHist[127]+s.XHist[byte(0x81)] == 0 {
		t.Error("the largest |x| is not counted at code ±127")
	}
	s.ResetHistograms()
	if s.XHist != [256]int64{} {
		t.Error("ResetHistograms left counts")
	}
}

func TestBadInputsGiveErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x64 := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 3), gorgonia.WithName("x64"))
	w32 := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(4, 3), gorgonia.WithName("w32"))
	x32 := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 5), gorgonia.WithName("x32"))
	s := NewLayerState("bad", 1)
	expectErr := func(what string, err error, contains string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), contains) {
			t.Errorf("%s: error %v, want one mentioning %q", what, err, contains)
		}
	}
	_, err := Linear(x64, w32, s, OutIn)
	expectErr("float64 input with a float32 weight", err, "give both one dtype")
	_, err = Linear(x32, w32, s, OutIn)
	expectErr("feature mismatch", err, "features")
	_, err = Linear(x32, w32, nil, OutIn)
	expectErr("nil state", err, "LayerState")
	_, err = Conv2d(x32, w32, s, ConvArgs{})
	expectErr("rank-2 conv input", err, "rank")
	x4 := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 3, 5, 5), gorgonia.WithName("x4"))
	w4 := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(4, 2, 3, 3), gorgonia.WithName("w4"))
	_, err = Conv2d(x4, w4, s, ConvArgs{Groups: 2})
	expectErr("groups not dividing", err, "groups")
	_, err = FakeQuant(x32, quantize.PerChannel(1, []float32{1, 1}, []int32{0, 0}, 0, 255))
	expectErr("channel count", err, "channel")

	// Run-time state errors.
	s.Mode = Approximate
	expectErr("no table", s.Validate(), "SetTable")
	expectErr("signed activations on an unsigned axis", func() error {
		s.XParams = quantize.PerTensor(1, 0, -128, 127)
		return s.SetTable(lut.ExactTable(lut.Signs{X: lut.Unsigned, W: lut.Signed}))
	}(), "unsigned")
	s.XParams = quantize.PerChannel(0, []float32{1, 1}, []int32{0, 0}, 0, 127)
	expectErr("per-channel activations", s.Validate(), "per tensor")
	// A forward run with a bad state fails with the state's error.
	s2 := NewLayerState("bad2", 1)
	s2.Mode = Approximate
	y := make([]float32, 2*4)
	_, err = linearForward(s2, OutIn, new(runRecord), y, make([]float32, 6), make([]float32, 12), []int{2, 3}, []int{4, 3})
	expectErr("approximate without table", err, "SetTable")
	// Per-channel weights on the wrong axis.
	s3 := NewLayerState("bad3", 1)
	s3.Mode = Quantized
	s3.WParams = quantize.PerChannel(1, []float32{1, 1, 1}, []int32{0, 0, 0}, -128, 127)
	_, err = linearForward(s3, OutIn, new(runRecord), y, make([]float32, 6), make([]float32, 12), []int{2, 3}, []int{4, 3})
	expectErr("weight axis", err, "axis")
	// A gradient op whose forward never ran.
	op := &LinearGradOp{State: s3, rec: new(runRecord)}
	_, err = op.Do(denseOf([]int{2, 3}, make([]float32, 6)), denseOf([]int{4, 3}, make([]float32, 12)), denseOf([]int{2, 4}, make([]float32, 8)))
	expectErr("gradient before forward", err, "forward")
}

// TestPreallocAndViews hands the ops a preallocated buffer of the wrong
// shape and non-contiguous (transposed) inputs.
func TestPreallocAndViews(t *testing.T) {
	r := rand.New(rand.NewSource(14))
	x, w := randFloats(r, 4*6, 1), randFloats(r, 5*6, 1)
	s := NewLayerState("views", 1)
	op := &LinearOp{State: s, Layout: OutIn, rec: new(runRecord)}
	want := to32(refLinear(x, w, 4, 5, 6))

	wrong := denseOf([]int{3, 3}, make([]float32, 9))
	v, err := op.UsePreallocDo(wrong, denseOf([]int{4, 6}, x), denseOf([]int{5, 6}, w))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Shape().Eq(tensor.Shape{4, 5}) {
		t.Fatalf("result shape %v, want (4, 5)", v.Shape())
	}
	assertRel(t, "y with wrong prealloc", v.Data().([]float32), want, 1e-6)

	right := denseOf([]int{4, 5}, make([]float32, 20))
	v, err = op.UsePreallocDo(right, denseOf([]int{4, 6}, x), denseOf([]int{5, 6}, w))
	if err != nil {
		t.Fatal(err)
	}
	if v != right {
		t.Error("a fitting prealloc was not used")
	}

	// x given as the transpose view of its 6×4 transpose.
	xt := denseOf([]int{6, 4}, transpose(x, 4, 6))
	if err := xt.T(); err != nil {
		t.Fatal(err)
	}
	v, err = op.Do(xt, denseOf([]int{5, 6}, w))
	if err != nil {
		t.Fatal(err)
	}
	assertRel(t, "y from a transposed view", v.Data().([]float32), want, 1e-6)

	// Scalars and other dtypes are refused, not panicked on.
	if _, err := op.Do(gorgonia.NewF32(1), denseOf([]int{5, 6}, w)); err == nil {
		t.Error("a scalar input was accepted")
	}
	x64 := tensor.New(tensor.WithShape(4, 6), tensor.Of(tensor.Float64))
	if _, err := op.Do(x64, denseOf([]int{5, 6}, w)); err == nil {
		t.Error("a float64 input with a float32 weight was accepted")
	}
}
