package approxlayer

import (
	"bytes"
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/ops"
)

// model64 is a float64 network: a convolution with bias, a depthwise
// convolution, a linear layer with bias and a one-output head whose weight
// is a vector.
type model64 struct {
	g                  *G.ExprGraph
	reg                *Registry
	x, out             *G.Node
	conv, dw, fc, head *Layer
}

func input64(g *G.ExprGraph, name string, seed int64, shape ...int) *G.Node {
	data := make([]float64, tensor.Shape(shape).TotalSize())
	for i := range data {
		data[i] = math.Sin(float64(seed)*7.1 + float64(i)*0.37)
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

func buildModel64(t *testing.T, seed int64) *model64 {
	t.Helper()
	g := G.NewGraph()
	m := &model64{g: g, x: input64(g, "x", 1, 2, 1, 6, 6)}
	var err error
	f64, u := WithFloat64(), WithPreset("unsigned")
	if m.conv, err = NewConv2d(g, "conv", 1, 3, 3, 3, ops.ConvArgs{Pad: [2]int{1, 1}}, WithBias(), WithSeed(seed), f64, u); err != nil {
		t.Fatal(err)
	}
	if m.dw, err = NewConv2d(g, "dw", 3, 3, 3, 3, ops.ConvArgs{Pad: [2]int{1, 1}, Groups: 3}, WithSeed(seed+1), f64, u); err != nil {
		t.Fatal(err)
	}
	if m.fc, err = NewLinear(g, "fc", 108, 4, WithBias(), WithSeed(seed+2), f64, u); err != nil {
		t.Fatal(err)
	}
	theta := input64(g, "theta", seed+3, 4)
	if m.head, err = WrapLinear("head", theta, ops.InOut, WithSeed(seed+4), u); err != nil {
		t.Fatal(err)
	}
	if m.reg, err = NewRegistry(m.conv, m.dw, m.fc, m.head); err != nil {
		t.Fatal(err)
	}
	h := G.Must(G.Rectify(must(t)(m.conv.Forward(m.x))))
	h = G.Must(G.Rectify(must(t)(m.dw.Forward(h))))
	h = G.Must(G.Reshape(h, tensor.Shape{2, 108}))
	m.out = must(t)(m.head.Forward(G.Must(G.Tanh(must(t)(m.fc.Forward(h))))))
	return m
}

func (m *model64) run(t *testing.T) []float64 {
	t.Helper()
	var v G.Value
	G.Read(m.out, &v)
	vm := G.NewTapeMachine(m.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), v.Data().([]float64)...)
}

// TestFloat64LayersAndCheckpoints builds float64 layers, including a
// vector weight, runs them in every mode, and checks that a checkpoint
// stores their float64 values bit for bit, that a float32 checkpoint loads
// into the float64 model, and that a float64 one is refused by a float32
// model.
func TestFloat64LayersAndCheckpoints(t *testing.T) {
	a := buildModel64(t, 1)
	if a.conv.Weight().Dtype() != tensor.Float64 || a.head.Out() != 1 || a.head.In() != 4 {
		t.Fatalf("conv weight %v, head in %d out %d", a.conv.Weight().Dtype(), a.head.In(), a.head.Out())
	}
	if s := a.out.Shape(); !s.Eq(tensor.Shape{2, 1}) {
		t.Fatalf("output shape %v, want (2, 1)", s)
	}
	if a.head.State().WParams.IsPerChannel() {
		t.Fatal("a vector weight must be quantized per tensor")
	}
	tab := unsignedTable(t)
	if err := a.reg.SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	quantized := a.run(t)
	if err := a.reg.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []ops.Mode{ops.Noise, ops.Approximate, ops.Surrogate, ops.Float} {
		if err := a.reg.SetMode(mode); err != nil {
			t.Fatal(err)
		}
		if y := a.run(t); mode == ops.Approximate && y[0] == quantized[0] && y[1] == quantized[1] {
			t.Fatalf("the approximate table changed nothing: %v", y)
		}
	}
	if err := a.reg.SetMode(ops.Approximate); err != nil {
		t.Fatal(err)
	}
	a.reg.SetTraining(false)
	want := a.run(t)

	var buf bytes.Buffer
	if err := Write(&buf, a.reg); err != nil {
		t.Fatal(err)
	}
	b := buildModel64(t, 9)
	if err := Read(bytes.NewReader(buf.Bytes()), b.reg, resolverFor(tab)); err != nil {
		t.Fatal(err)
	}
	got := b.run(t)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("restored output[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	for _, l := range a.reg.Layers() {
		wa, wb := l.Weight().Value().Data().([]float64), b.reg.Layer(l.Name()).Weight().Value().Data().([]float64)
		for i := range wa {
			if math.Float64bits(wa[i]) != math.Float64bits(wb[i]) {
				t.Fatalf("layer %s weight[%d] = %v, saved %v", l.Name(), i, wb[i], wa[i])
			}
		}
	}

	// A float64 checkpoint does not load into a float32 model.
	three, err := NewRegistry(a.conv, a.dw, a.fc)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := Write(&buf, three); err != nil {
		t.Fatal(err)
	}
	m32 := buildModel(t, 1)
	err = Read(bytes.NewReader(buf.Bytes()), m32.reg, resolverFor(tab))
	if err == nil || !strings.Contains(err.Error(), "float64") {
		t.Fatalf("float64 checkpoint into a float32 model: error %v, want one naming float64", err)
	}
	// A float32 checkpoint loads into a float64 model, widened exactly.
	buf.Reset()
	if err := Write(&buf, m32.reg); err != nil {
		t.Fatal(err)
	}
	c := buildModel64(t, 5)
	sub, err := NewRegistry(c.conv, c.dw, c.fc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Read(bytes.NewReader(buf.Bytes()), sub, resolverFor(tab)); err != nil {
		t.Fatal(err)
	}
	w32 := m32.fc.Weight().Value().Data().([]float32)
	for i, v := range c.fc.Weight().Value().Data().([]float64) {
		if v != float64(w32[i]) {
			t.Fatalf("widened fc weight[%d] = %v, want %v", i, v, w32[i])
		}
	}
}
