package optimizer

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linearLoss is loss = Σ w⊙c + Σ b⊙cb for a matrix weight w (rank 2) and a
// vector bias b (rank 1), both starting at the given values: the gradients
// are the constants c and cb.
type linearLoss struct {
	vm   G.VM
	w, b *G.Node
}

func newLinearLoss(t *testing.T, w0, c, b0, cb []float32) *linearLoss {
	t.Helper()
	g := G.NewGraph()
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(1, len(w0)), G.WithName("fc.w"),
		G.WithValue(tensor.New(tensor.WithShape(1, len(w0)), tensor.WithBacking(append([]float32(nil), w0...)))))
	cw := G.NewMatrix(g, tensor.Float32, G.WithShape(1, len(c)),
		G.WithValue(tensor.New(tensor.WithShape(1, len(c)), tensor.WithBacking(append([]float32(nil), c...)))))
	b := G.NewVector(g, tensor.Float32, G.WithShape(len(b0)), G.WithName("fc.bias"),
		G.WithValue(tensor.New(tensor.WithShape(len(b0)), tensor.WithBacking(append([]float32(nil), b0...)))))
	cbv := G.NewVector(g, tensor.Float32, G.WithShape(len(cb)),
		G.WithValue(tensor.New(tensor.WithShape(len(cb)), tensor.WithBacking(append([]float32(nil), cb...)))))
	loss := G.Must(G.Add(G.Must(G.Sum(G.Must(G.HadamardProd(w, cw)))), G.Must(G.Sum(G.Must(G.HadamardProd(b, cbv))))))
	if _, err := G.Grad(loss, w, b); err != nil {
		t.Fatal(err)
	}
	l := &linearLoss{vm: G.NewTapeMachine(g, G.BindDualValues(w, b)), w: w, b: b}
	t.Cleanup(func() { l.vm.Close() })
	return l
}

func (l *linearLoss) steps(t *testing.T, o *Optimizer, lrs ...float64) {
	t.Helper()
	for _, lr := range lrs {
		if err := l.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := o.Step(G.Nodes{l.w, l.b}, lr); err != nil {
			t.Fatal(err)
		}
		l.vm.Reset()
	}
}

func near(a float32, b float64) bool { return math.Abs(float64(a)-b) <= 1e-6*math.Max(1, math.Abs(b)) }

// TestSGDOptions checks two steps of each SGD option against updates
// worked out by hand for w0 = 1 (weight), b0 = 2 (bias), gradients c = 0.5
// and cb = -1, learning rates 0.1 then 0.05.
func TestSGDOptions(t *testing.T) {
	const c, cb = 0.5, -1.0
	cases := []struct {
		name   string
		sgd    SGD
		w, b   float64 // after two steps
		reason string
	}{
		// b1 = g, b2 = 0.9 g + g = 1.9 g; w = 1 - 0.1 g - 0.05·1.9 g.
		{"momentum 0.9", SGD{Momentum: 0.9}, 1 - 0.1*c - 0.05*1.9*c, 2 - 0.1*cb - 0.05*1.9*cb, "buffer"},
		// Plain SGD: w = 1 - 0.1 g - 0.05 g.
		{"no momentum", SGD{}, 1 - 0.15*c, 2 - 0.15*cb, "plain"},
		// Nesterov: step = g + 0.9 b. Step 1: b = g, step 1.9 g.
		// Step 2: b = 1.9 g, step g + 1.71 g = 2.71 g.
		{"nesterov", SGD{Momentum: 0.9, Nesterov: true}, 1 - 0.1*1.9*c - 0.05*2.71*c, 2 - 0.1*1.9*cb - 0.05*2.71*cb, "lookahead"},
		// Weight decay 0.1 on the weight only: g1 = 0.5 + 0.1·1 = 0.6,
		// w1 = 1 - 0.06 = 0.94; g2 = 0.5 + 0.094 = 0.594, b2 = 0.9·0.6 +
		// 0.594 = 1.134, w2 = 0.94 - 0.05·1.134. The bias ignores decay.
		{"weight decay", SGD{Momentum: 0.9, WeightDecay: 0.1}, 0.94 - 0.05*1.134, 2 - 0.1*cb - 0.05*1.9*cb, "decay"},
		// Decay forced onto every parameter: the bias too. g1 = -1 + 0.2 =
		// -0.8, b1 = 2.08; g2 = -1 + 0.208 = -0.792, buffer 0.9·-0.8 - 0.792
		// = -1.512, b2 = 2.08 + 0.05·1.512.
		{"decay all", SGD{Momentum: 0.9, WeightDecay: 0.1, Decay: func(*G.Node) bool { return true }}, 0.94 - 0.05*1.134, 2.08 + 0.05*1.512, "decay all"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLinearLoss(t, []float32{1, 1}, []float32{c, c}, []float32{2}, []float32{cb})
			o, err := NewSGD(tc.sgd)
			if err != nil {
				t.Fatal(err)
			}
			l.steps(t, o, 0.1, 0.05)
			for i, w := range l.w.Value().Data().([]float32) {
				if !near(w, tc.w) {
					t.Errorf("w[%d] = %v, want %v", i, w, tc.w)
				}
			}
			if b := l.b.Value().Data().([]float32)[0]; !near(b, tc.b) {
				t.Errorf("b = %v, want %v", b, tc.b)
			}
			if o.Steps() != 2 {
				t.Errorf("%d steps counted, want 2", o.Steps())
			}
		})
	}
}

// TestDefaultSGDIsMomentum09 checks that New("sgd") runs the update the
// trainer has always run for "sgd", written out in float32: m = 0.9m + g,
// w -= lr·m.
func TestDefaultSGDIsMomentum09(t *testing.T) {
	g := []float32{0.3, -1.7, 2.5e-3}
	l := newLinearLoss(t, []float32{0, 0, 0}, g, []float32{0}, []float32{0.25})
	o, err := New("sgd")
	if err != nil {
		t.Fatal(err)
	}
	lrs := []float64{0.1, 0.07, 0.03}
	l.steps(t, o, lrs...)
	w := make([]float32, len(g))
	m := make([]float32, len(g))
	for _, lr := range lrs {
		for i, gi := range g {
			m[i] = float32(0.9)*m[i] + gi
			w[i] -= float32(lr) * m[i]
		}
	}
	for i, got := range l.w.Value().Data().([]float32) {
		if math.Float32bits(got) != math.Float32bits(w[i]) {
			t.Errorf("w[%d] = %v, want %v bit for bit", i, got, w[i])
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{SGD{Momentum: 1}.Validate(), "momentum"},
		{SGD{Momentum: -0.1}.Validate(), "momentum"},
		{SGD{WeightDecay: math.NaN()}.Validate(), "weight decay"},
		{SGD{Nesterov: true}.Validate(), "nesterov"},
		{Adam{Beta1: 1, Beta2: 0.9, Eps: 1e-8}.Validate(), "betas"},
		{Adam{Beta1: 0.9, Beta2: 0.9}.Validate(), "eps"},
		{MultiStep{Milestones: []int{5, 3}, Gamma: 0.1}.Validate(), "ascending"},
		{MultiStep{Milestones: []int{0}, Gamma: 0.1}.Validate(), "positive epoch"},
		{MultiStep{Gamma: 0}.Validate(), "gamma"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want one about %s", tc.err, tc.want)
		}
	}
	if err := DefaultSGD().Validate(); err != nil {
		t.Error(err)
	}
	if err := DefaultAdam().Validate(); err != nil {
		t.Error(err)
	}
}

// TestStateRoundTrip checks that SetState copies: a later step does not
// change the state it was given, and the restored optimizer continues as
// the original does.
func TestStateRoundTrip(t *testing.T) {
	c := []float32{0.5, -2}
	a := newLinearLoss(t, []float32{0, 0}, c, []float32{0}, []float32{1})
	b := newLinearLoss(t, []float32{0, 0}, c, []float32{0}, []float32{1})
	oa, _ := New("adam")
	ob, _ := New("adam")
	a.steps(t, oa, 0.1)
	b.steps(t, ob, 0.1)
	saved := oa.State()
	if err := ob.SetState(saved); err != nil {
		t.Fatal(err)
	}
	first := saved.M["fc.w"][0]
	a.steps(t, oa, 0.1)
	b.steps(t, ob, 0.1)
	if saved.M["fc.w"][0] != first {
		t.Fatal("a step changed the state SetState was given")
	}
	wa, wb := a.w.Value().Data().([]float32), b.w.Value().Data().([]float32)
	for i := range wa {
		if wa[i] != wb[i] {
			t.Fatalf("w[%d]: %v after restoring, %v without", i, wb[i], wa[i])
		}
	}
	sgd, _ := New("sgd")
	if err := sgd.SetState(saved); err == nil || !strings.Contains(err.Error(), "adam optimizer state given to an sgd optimizer") {
		t.Fatalf("SGD given Adam's state: error %v", err)
	}
}

// TestAdamSettings checks two steps of Adam with betas 0.5 and 0.75 and
// eps 0.1 on loss Σw²/2 (gradient w) from six starting weights (four go
// through the vector kernel where there is one, two through the loop),
// against the update written out in float64: the gradient of the second
// step is the weight the first step left, so the betas and the bias
// corrections all matter.
func TestAdamSettings(t *testing.T) {
	const b1, b2, eps, lr = 0.5, 0.75, 0.1, 0.2
	g := G.NewGraph()
	start := []float64{1, -2, 0.5, 3, -0.25, 1.5}
	w0 := make([]float32, len(start))
	for i, x := range start {
		w0[i] = float32(x)
	}
	w := G.NewVector(g, tensor.Float32, G.WithShape(len(w0)), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(len(w0)), tensor.WithBacking(w0))))
	loss := G.Must(G.Mul(G.NewConstant(float32(0.5)), G.Must(G.Sum(G.Must(G.HadamardProd(w, w))))))
	if _, err := G.Grad(loss, w); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(w))
	defer vm.Close()
	o, err := NewAdam(Adam{Beta1: b1, Beta2: b2, Eps: eps})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := o.Step(G.Nodes{w}, lr); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
	}
	for i, x0 := range start {
		m, v, x := 0.0, 0.0, x0
		for s := 1; s <= 2; s++ {
			gr := x
			m = b1*m + (1-b1)*gr
			v = b2*v + (1-b2)*gr*gr
			x -= lr * (m / (1 - math.Pow(b1, float64(s)))) / (math.Sqrt(v/(1-math.Pow(b2, float64(s)))) + eps)
		}
		if got := w.Value().Data().([]float32)[i]; !near(got, x) {
			t.Errorf("w[%d] = %v, want %v", i, got, x)
		}
	}
}
