package nn

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestAddActMatchesAddThenActivation compares AddAct with gorgonia.Add
// followed by ReLU, ReLU6 or nothing: values and both inputs' gradients bit
// for bit, on random values with sums either side of 0 and 6 and on edge
// values (signed zeros, infinities, NaN, Inf - Inf).
func TestAddActMatchesAddThenActivation(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	edgeA := f32(tensor.Shape{2, 7}, -2, 0.5, 0, negZero, negZero, 3, inf, -inf, inf, nan, 1, 5.5, 6, -1)
	edgeB := f32(tensor.Shape{2, 7}, 1, -0.5, negZero, negZero, 0, 4, 1, 2, -inf, 1, nan, 0.5, 1, 7.5)
	cases := []struct {
		name string
		a, b *tensor.Dense
	}{
		{"edges", edgeA, edgeB},
		{"random", randTensor(3, 4, 3, 5, 7, 9), randTensor(4, 4, 3, 5, 7, 9)},
	}
	acts := map[Activation]func(*G.Node) (*G.Node, error){
		NoActivation: func(x *G.Node) (*G.Node, error) { return x, nil },
		ActReLU:      ReLU,
		ActReLU6:     ReLU6,
	}
	for _, c := range cases {
		for act, then := range acts {
			fused := func(in []*G.Node) (*G.Node, error) { return AddAct(in[0], in[1], act) }
			plain := func(in []*G.Node) (*G.Node, error) {
				s, err := G.Add(in[0], in[1])
				if err != nil {
					return nil, err
				}
				return then(s)
			}
			y, ga, gb := runBinary(t, fused, c.a, c.b)
			wy, wga, wgb := runBinary(t, plain, c.a, c.b)
			for i := range y {
				if !sameBitsOrNaN(y[i], wy[i]) || !sameBitsOrNaN(ga[i], wga[i]) || !sameBitsOrNaN(gb[i], wgb[i]) {
					t.Fatalf("%s %v element %d (a=%g b=%g): fused %g, gradients %g %g; add then activation %g, %g %g",
						c.name, act, i, c.a.Float32s()[i], c.b.Float32s()[i], y[i], ga[i], gb[i], wy[i], wga[i], wgb[i])
				}
			}
		}
	}
}

// TestAddActByHand pins a few sums and gradients worked out by hand.
func TestAddActByHand(t *testing.T) {
	a := f32(tensor.Shape{5}, 1, -3, 2, 5, 0.25)
	b := f32(tensor.Shape{5}, 2, 1, -2, 4, 0.5)
	// Σ y⊙w with w = weights drawn by runBinary; the gradient is w where
	// the sum is inside the activation's range.
	for _, c := range []struct {
		act  Activation
		want []float32
		pass []bool
	}{
		{NoActivation, []float32{3, -2, 0, 9, 0.75}, []bool{true, true, true, true, true}},
		{ActReLU, []float32{3, 0, 0, 9, 0.75}, []bool{true, false, false, true, true}},
		{ActReLU6, []float32{3, 0, 0, 6, 0.75}, []bool{true, false, false, false, true}},
	} {
		y, ga, gb := runBinary(t, func(in []*G.Node) (*G.Node, error) { return AddAct(in[0], in[1], c.act) }, a, b)
		w := binaryWeights(len(y))
		for i := range y {
			wantG := float32(0)
			if c.pass[i] {
				wantG = w[i]
			}
			if y[i] != c.want[i] || ga[i] != wantG || gb[i] != wantG {
				t.Errorf("%v element %d: y %g, gradients %g %g; want %g, %g", c.act, i, y[i], ga[i], gb[i], c.want[i], wantG)
			}
		}
	}
}

// TestAddActFloat64 checks the float64 path against the float32 one on
// values exact in both.
func TestAddActFloat64(t *testing.T) {
	as := []float64{-2, 0.5, 3, 5.75, 6, -7, 1}
	bs := []float64{1, 0.25, 4, 0.5, -6, 2, -1}
	a32, b32 := make([]float32, len(as)), make([]float32, len(as))
	for i := range as {
		a32[i], b32[i] = float32(as[i]), float32(bs[i])
	}
	for _, act := range []Activation{NoActivation, ActReLU, ActReLU6} {
		op := &AddActOp{Act: act, dims: 1}
		y64, err := op.Do(tensor.New(tensor.WithBacking(as)), tensor.New(tensor.WithBacking(bs)))
		if err != nil {
			t.Fatal(err)
		}
		y32, err := op.Do(f32(tensor.Shape{len(as)}, a32...), f32(tensor.Shape{len(as)}, b32...))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range y64.Data().([]float64) {
			if v != float64(y32.Data().([]float32)[i]) {
				t.Fatalf("%v element %d: float64 %g, float32 %g", act, i, v, y32.Data().([]float32)[i])
			}
		}
	}
}

func TestAddActErrorsAndHash(t *testing.T) {
	g := G.NewGraph()
	a := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 4, 4), G.WithName("a"))
	b := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 4, 5), G.WithName("b"))
	if _, err := AddAct(a, b, ActReLU); err == nil || !strings.Contains(err.Error(), "one shape") {
		t.Errorf("shape mismatch: err = %v", err)
	}
	if _, err := AddAct(a, a, Activation(7)); err == nil || !strings.Contains(err.Error(), "unknown activation") {
		t.Errorf("unknown activation: err = %v", err)
	}
	seen := map[uint32]string{}
	for _, act := range []Activation{NoActivation, ActReLU, ActReLU6} {
		for _, dims := range []int{2, 4} {
			op := &AddActOp{Act: act, dims: dims}
			if prev, ok := seen[op.Hashcode()]; ok {
				t.Errorf("%v rank %d shares a hash with %s", act, dims, prev)
			}
			seen[op.Hashcode()] = op.String()
		}
	}
}

func TestAddActNoAllocation(t *testing.T) {
	op := &AddActOp{Act: ActReLU, dims: 4}
	a, b := randTensor(1, 1, 8, 6, 28, 28), randTensor(2, 1, 8, 6, 28, 28)
	run := func() {
		if _, err := op.Do(a, b); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(10, run); n > 0 {
		t.Errorf("%g allocations per run, want 0", n)
	}
}

// runBinary evaluates y = build(a, b) and the gradients of Σ y⊙w with
// respect to a and b, w = 1, 2, 3, ... (binaryWeights).
func runBinary(t *testing.T, build builder, a, b *tensor.Dense) (y, ga, gb []float32) {
	t.Helper()
	y, grads := runGrads(t, build, nil, a, b)
	return y, grads[0], grads[1]
}

// binaryWeights are the weights runGrads uses by default.
func binaryWeights(n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(i + 1)
	}
	return w
}

func sameBitsOrNaN(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}
