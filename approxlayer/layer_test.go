package approxlayer

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// model is a small network built directly from layers: a convolution with
// bias, a depthwise convolution, a linear layer with bias, and one extra
// learnable node outside the layers.
type model struct {
	g             *G.ExprGraph
	reg           *Registry
	x, scale, out *G.Node
	conv, dw, fc  *Layer
}

func input(g *G.ExprGraph, name string, seed int64, shape ...int) *G.Node {
	data := make([]float32, tensor.Shape(shape).TotalSize())
	for i := range data {
		// A fixed, non-trivial pattern of positive and negative values.
		data[i] = float32(math.Sin(float64(seed)*7.1 + float64(i)*0.37))
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

func buildModel(t *testing.T, seed int64) *model {
	t.Helper()
	g := G.NewGraph()
	m := &model{g: g}
	m.x = input(g, "x", 1, 2, 1, 6, 6)
	var err error
	pad := ops.ConvArgs{Pad: [2]int{1, 1}}
	if m.conv, err = NewConv2d(g, "conv", 1, 3, 3, 3, pad, WithBias(), WithSeed(seed), WithPreset("unsigned")); err != nil {
		t.Fatal(err)
	}
	dwArgs := ops.ConvArgs{Pad: [2]int{1, 1}, Groups: 3}
	if m.dw, err = NewConv2d(g, "dw", 3, 3, 3, 3, dwArgs, WithSeed(seed+1), WithPreset("unsigned")); err != nil {
		t.Fatal(err)
	}
	if m.fc, err = NewLinear(g, "fc", 108, 4, WithBias(), WithSeed(seed+2), WithPreset("unsigned")); err != nil {
		t.Fatal(err)
	}
	if m.reg, err = NewRegistry(m.conv, m.dw, m.fc); err != nil {
		t.Fatal(err)
	}
	m.scale = input(g, "scale", seed+3, 4)
	h := G.Must(G.Rectify(must(t)(m.conv.Forward(m.x))))
	h = G.Must(G.Rectify(must(t)(m.dw.Forward(h))))
	h = G.Must(G.Reshape(h, tensor.Shape{2, 108}))
	m.out = G.Must(G.BroadcastHadamardProd(must(t)(m.fc.Forward(h)), m.scale, nil, []byte{0}))
	return m
}

func must(t *testing.T) func(*G.Node, error) *G.Node {
	return func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// run evaluates the model's output on a fresh machine.
func (m *model) run(t *testing.T) []float32 {
	t.Helper()
	var v G.Value
	G.Read(m.out, &v)
	vm := G.NewTapeMachine(m.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), v.Data().([]float32)...)
}

// unsignedTable is an approximate unsigned 8x8 multiplier: products with
// the low three bits dropped.
func unsignedTable(t *testing.T) *lut.Table {
	t.Helper()
	tab, err := lut.Tabulate("drop3", lut.Both(lut.Unsigned), func(x, w int) int { return x * w &^ 7 })
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestLayerFacts(t *testing.T) {
	m := buildModel(t, 1)
	cases := []struct {
		l              *Layer
		kind           Kind
		in, out, fanIn int
		muls           int
		weight         tensor.Shape
	}{
		// 3 output channels × 6×6 positions × 1·3·3 products.
		{m.conv, KindConv2d, 1, 3, 9, 3 * 36 * 9, tensor.Shape{3, 1, 3, 3}},
		// Depthwise: each output sees one input channel.
		{m.dw, KindConv2d, 3, 3, 9, 3 * 36 * 9, tensor.Shape{3, 1, 3, 3}},
		{m.fc, KindLinear, 108, 4, 108, 108 * 4, tensor.Shape{4, 108}},
	}
	for _, c := range cases {
		l := c.l
		if l.Kind() != c.kind || l.In() != c.in || l.Out() != c.out || l.FanIn() != c.fanIn || l.MulsPerSample() != c.muls {
			t.Errorf("%s: kind %s in %d out %d fan-in %d muls %d; want %s %d %d %d %d",
				l.Name(), l.Kind(), l.In(), l.Out(), l.FanIn(), l.MulsPerSample(), c.kind, c.in, c.out, c.fanIn, c.muls)
		}
		if !l.Weight().Shape().Eq(c.weight) {
			t.Errorf("%s: weight shape %v, want %v", l.Name(), l.Weight().Shape(), c.weight)
		}
		if l.Weight().Name() != l.Name()+".weight" {
			t.Errorf("%s: weight named %q", l.Name(), l.Weight().Name())
		}
		// PyTorch's initialisation bound: every weight within ±1/√fan-in.
		bound := float32(1 / math.Sqrt(float64(c.fanIn)))
		for _, v := range l.Weight().Value().Data().([]float32) {
			if v < -bound || v > bound || v == 0 {
				t.Fatalf("%s: weight %g outside ±%g", l.Name(), v, bound)
			}
		}
	}
	if m.dw.Bias() != nil || m.conv.Bias() == nil || len(m.reg.Learnables()) != 5 {
		t.Errorf("biases: conv %v dw %v, %d learnables (want 5)", m.conv.Bias(), m.dw.Bias(), len(m.reg.Learnables()))
	}
}

func TestConstructorErrors(t *testing.T) {
	g := G.NewGraph()
	if _, err := NewLinear(g, "fc", 4, 2); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		err  error
		want string
	}{
		{second(NewLinear(g, "fc", 4, 2)), `already has a node named "fc.weight"`},
		{second(NewLinear(g, "fc2", 0, 2)), "must be positive"},
		{second(NewLinear(g, "fc3", 4, 2, WithPreset("int3"))), `no preset "int3"`},
		{second(NewConv2d(g, "c", 3, 4, 3, 3, ops.ConvArgs{Groups: 2})), "groups = 2"},
		{second(WrapLinear("w", G.Must(G.Square(g.ByName("fc.weight")[0])), ops.OutIn)), "must be a learnable input"},
		{second(WrapLinear("w", g.ByName("fc.weight")[0], ops.OutIn, WithBias())), "WithBias"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", c.err, c.want)
		}
	}
	l, _ := NewLinear(g, "fc4", 4, 2)
	x := input(g, "x", 1, 3, 5)
	if _, err := l.Forward(x); err == nil || !strings.Contains(err.Error(), "want (batch, 4)") {
		t.Errorf("wrong input shape: error %v", err)
	}
	x4 := input(g, "x4", 1, 3, 4)
	if _, err := l.Forward(x4); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Forward(x4); err == nil {
		t.Error("a layer applied twice was accepted")
	}
}

func second[T any](_ T, err error) error { return err }

func TestRegistrySetters(t *testing.T) {
	m := buildModel(t, 1)
	r := m.reg
	if got, err := r.Select("c*", "f?"); err != nil || len(got) != 2 || got[0] != m.conv || got[1] != m.fc {
		t.Fatalf("Select(c*, f?) = %v, %v", got, err)
	}
	if _, err := r.Select("nope"); err == nil || !strings.Contains(err.Error(), "matches none") {
		t.Fatalf("Select(nope): %v", err)
	}
	// Approximate without a table is refused and changes nothing.
	if err := r.SetMode(ops.Approximate); err == nil {
		t.Fatal("Approximate without a table was accepted")
	}
	for _, l := range r.Layers() {
		if l.Mode() != ops.Float {
			t.Fatalf("%s changed to %v by a failed SetMode", l.Name(), l.Mode())
		}
	}
	// A table with a signed operand does not fit unsigned codes.
	if err := r.SetTable(lut.ExactTable(lut.Both(lut.Signed))); err == nil || !strings.Contains(err.Error(), "signed") {
		t.Fatalf("signed table on unsigned layers: %v", err)
	}
	tab := unsignedTable(t)
	if err := r.SetTable(tab, "dw"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMode(ops.Approximate, "dw"); err != nil {
		t.Fatal(err)
	}
	if m.dw.Mode() != ops.Approximate || m.conv.Mode() != ops.Float || m.dw.Table() != tab || m.conv.Table() != nil {
		t.Fatalf("per-layer setters: dw %v %v, conv %v %v", m.dw.Mode(), m.dw.Table(), m.conv.Mode(), m.conv.Table())
	}
	if err := m.dw.SetTable(nil); err == nil {
		t.Fatal("clearing the table of an Approximate layer was accepted")
	}
	r.SetTraining(false)
	r.FreezeObservers()
	for _, l := range r.Layers() {
		if l.Training() || !l.State().XObserver.Frozen() || !l.State().WObserver.Frozen() {
			t.Fatalf("%s: training %v, observers frozen %v %v", l.Name(), l.Training(), l.State().XObserver.Frozen(), l.State().WObserver.Frozen())
		}
	}
	if err := r.SetNoise(-1, 0); err == nil {
		t.Fatal("negative sigma accepted")
	}
}

// The histograms count one code per quantized activation and weight.
func TestHistograms(t *testing.T) {
	m := buildModel(t, 1)
	if err := m.reg.SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	m.reg.RecordHistograms(true)
	m.run(t)
	// Inputs: x (2, 1, 6, 6), then (2, 3, 6, 6) twice over (the flattened
	// (2, 108) for fc).
	inputs := map[string]int{"conv": 72, "dw": 216, "fc": 216}
	for _, l := range m.reg.Layers() {
		xh, wh := l.Histograms()
		var xs, ws int64
		for i := range xh {
			xs += xh[i]
			ws += wh[i]
		}
		in := inputs[l.Name()]
		if xs != int64(in) || ws != int64(l.Weight().Shape().TotalSize()) {
			t.Errorf("%s: histogram totals %d and %d, want %d activations and %d weights", l.Name(), xs, ws, in, l.Weight().Shape().TotalSize())
		}
	}
	m.fc.ResetHistograms()
	if xh, _ := m.fc.Histograms(); xh != [256]int64{} {
		t.Error("ResetHistograms left counts")
	}
}

// Noise mode is seeded: equal seeds give equal noise, and evaluation adds
// none.
func TestNoiseIsSeeded(t *testing.T) {
	var outs [][]float32
	for i := 0; i < 2; i++ {
		m := buildModel(t, 1)
		if err := m.reg.SetNoise(0.5, 0); err != nil {
			t.Fatal(err)
		}
		if err := m.reg.SetMode(ops.Noise); err != nil {
			t.Fatal(err)
		}
		noisy := m.run(t)
		m.reg.SetTraining(false)
		clean := m.run(t)
		if err := m.reg.SetMode(ops.Quantized); err != nil {
			t.Fatal(err)
		}
		quant := m.run(t)
		if !equal(clean, quant) {
			t.Fatal("Noise mode in evaluation differs from Quantized")
		}
		if equal(noisy, clean) {
			t.Fatal("Noise mode in training added no noise")
		}
		outs = append(outs, noisy)
	}
	if !equal(outs[0], outs[1]) {
		t.Fatal("two models with the same seed drew different noise")
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
