package engine

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// sizes are element counts around the vector width and the parallel
// split.
var sizes = []int{1, 7, 8, 9, 31, minPerPart - 1, 2*minPerPart + 3, 5*minPerPart + 17}

// specials are values whose sums must come out as the standard engine's:
// NaN (its payload kept), infinities, signed zeros, the extremes.
var specials = []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.MaxFloat32, -math.MaxFloat32, 1e-45}

func randTensor(r *rand.Rand, dt tensor.Dtype, n int, e tensor.Engine) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(n), tensor.WithEngine(e))
	for i := 0; i < n; i++ {
		v := r.NormFloat64() * 100
		if r.Intn(20) == 0 {
			v = specials[r.Intn(len(specials))]
		}
		if dt == tensor.Float32 {
			t.Float32s()[i] = float32(v)
		} else {
			t.Float64s()[i] = v
		}
	}
	return t
}

func bits(t tensor.Tensor) []uint64 {
	switch d := t.Data().(type) {
	case []float32:
		out := make([]uint64, len(d))
		for i, v := range d {
			out[i] = uint64(math.Float32bits(v))
		}
		return out
	case []float64:
		out := make([]uint64, len(d))
		for i, v := range d {
			out[i] = math.Float64bits(v)
		}
		return out
	}
	panic(fmt.Sprintf("unexpected data %T", t.Data()))
}

func equalBits(t *testing.T, what string, got, want tensor.Tensor) {
	t.Helper()
	g, w := bits(got), bits(want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d elements, want %d", what, len(g), len(w))
	}
	for i := range w {
		// Two NaN operands may give either payload; one NaN keeps its own.
		if g[i] != w[i] {
			t.Fatalf("%s: element %d has bits %#x, want %#x", what, i, g[i], w[i])
		}
	}
}

// TestAddMatchesStdEng checks every form of Add (new result, UseUnsafe,
// WithReuse) bit for bit against the standard engine, on both float
// types, sizes around the vector and parallel splits, special values, and
// 1 to 3 threads; and that the operands not written stay as they were.
func TestAddMatchesStdEng(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, n := range sizes {
			for threads := 1; threads <= 3; threads++ {
				e := Engine{Threads: threads}
				a, b := randTensor(r, dt, n, e), randTensor(r, dt, n, e)
				// Keep NaNs out of matching places, where the payload
				// that survives is the hardware's choice.
				for i := 0; i < n; i++ {
					if av, bv := a.Get(i), b.Get(i); isNaN(av) && isNaN(bv) {
						b.Set(i, b.Get(0))
						if isNaN(b.Get(i)) {
							b.Set(i, zero(dt))
						}
					}
				}
				name := fmt.Sprintf("%v n=%d threads=%d", dt, n, threads)
				want, err := tensor.StdEng{}.Add(a.Clone().(*tensor.Dense), b)
				if err != nil {
					t.Fatal(err)
				}
				aBefore, bBefore := a.Clone().(*tensor.Dense), b.Clone().(*tensor.Dense)

				got, err := tensor.Add(a, b)
				if err != nil {
					t.Fatal(name, err)
				}
				equalBits(t, name+" new", got, want)
				equalBits(t, name+" new: a", a, aBefore)
				if got.Engine() == nil || fmt.Sprintf("%T", got.Engine()) != "engine.Engine" {
					t.Fatalf("%s: the result's engine is %T, want engine.Engine", name, got.Engine())
				}

				reuse := randTensor(r, dt, n, e)
				got, err = tensor.Add(a, b, tensor.WithReuse(reuse))
				if err != nil {
					t.Fatal(name, err)
				}
				if got != tensor.Tensor(reuse) {
					t.Fatalf("%s: WithReuse returned another tensor", name)
				}
				equalBits(t, name+" reuse", got, want)

				got, err = tensor.Add(a, b, tensor.UseUnsafe())
				if err != nil {
					t.Fatal(name, err)
				}
				if got != tensor.Tensor(a) {
					t.Fatalf("%s: UseUnsafe returned another tensor", name)
				}
				equalBits(t, name+" unsafe", got, want)
				equalBits(t, name+" unsafe: b", b, bBefore)
			}
		}
	}
}

func isNaN(v any) bool {
	switch x := v.(type) {
	case float32:
		return x != x
	case float64:
		return x != x
	}
	return false
}

func zero(dt tensor.Dtype) any {
	if dt == tensor.Float32 {
		return float32(0)
	}
	return float64(0)
}

// TestAddFallsBack checks that what Add leaves to the standard engine
// gives the standard engine's results: a strided view, integers, a
// scalar operand, WithIncr, and mismatched shapes (an error).
func TestAddFallsBack(t *testing.T) {
	e := New()
	r := rand.New(rand.NewSource(2))
	m := tensor.New(tensor.WithShape(4, 6), tensor.WithBacking(make([]float32, 24)), tensor.WithEngine(e))
	for i := range m.Float32s() {
		m.Float32s()[i] = float32(r.NormFloat64())
	}
	view, err := m.Slice(nil, tensor.S(1, 4)) // 4×3, strided
	if err != nil {
		t.Fatal(err)
	}
	other := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), tensor.WithEngine(e))
	got, err := tensor.Add(view, other)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 3; j++ {
			want := m.Float32s()[i*6+1+j] + other.Float32s()[i*3+j]
			if v, _ := got.At(i, j); v.(float32) != want {
				t.Fatalf("strided view: [%d][%d] = %v, want %v", i, j, v, want)
			}
		}
	}

	ints := tensor.New(tensor.WithBacking([]int{1, 2, 3}), tensor.WithEngine(e))
	sum, err := tensor.Add(ints, ints)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sum.Data()) != "[2 4 6]" {
		t.Fatalf("ints: %v, want [2 4 6]", sum.Data())
	}

	a := tensor.New(tensor.WithBacking([]float64{1, 2, 3}), tensor.WithEngine(e))
	incr := tensor.New(tensor.WithBacking([]float64{10, 20, 30}), tensor.WithEngine(e))
	if _, err := tensor.Add(a, a, tensor.WithIncr(incr)); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(incr.Data()) != "[12 24 36]" {
		t.Fatalf("WithIncr: %v, want [12 24 36]", incr.Data())
	}

	s := tensor.New(tensor.FromScalar(float64(5)), tensor.WithEngine(e))
	got, err = tensor.Add(a, s)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Data()) != "[6 7 8]" {
		t.Fatalf("scalar: %v, want [6 7 8]", got.Data())
	}

	b := tensor.New(tensor.WithBacking([]float64{1, 2}), tensor.WithEngine(e))
	if _, err := tensor.Add(a, b); err == nil {
		t.Fatal("shapes 3 and 2: no error")
	}
}

// counting is an Engine that counts the Adds that reach it.
type counting struct {
	Engine
	adds *int
}

func (c counting) Add(a, b tensor.Tensor, opts ...tensor.FuncOpt) (tensor.Tensor, error) {
	*c.adds++
	return c.Engine.Add(a, b, opts...)
}

// TestTapeMachineGradients builds a graph where one value feeds two ops,
// so that Gorgonia sums its gradient, and checks that with the engine the
// tape machine's gradients are bit for bit those of the standard engine
// and that the sums reached the engine.
func TestTapeMachineGradients(t *testing.T) {
	grads := func(e tensor.Engine) []tensor.Tensor {
		g := G.NewGraph()
		r := rand.New(rand.NewSource(3))
		val := func(n int) *tensor.Dense {
			d := tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))
			for i := range d.Float32s() {
				d.Float32s()[i] = float32(r.NormFloat64())
			}
			return d
		}
		x := G.NewVector(g, tensor.Float32, G.WithShape(1000), G.WithName("x"), G.WithValue(val(1000)))
		w1 := G.NewVector(g, tensor.Float32, G.WithShape(1000), G.WithName("w1"), G.WithValue(val(1000)))
		w2 := G.NewVector(g, tensor.Float32, G.WithShape(1000), G.WithName("w2"), G.WithValue(val(1000)))
		h := G.Must(G.Tanh(x))
		y := G.Must(G.Add(G.Must(G.HadamardProd(h, w1)), G.Must(G.HadamardProd(h, w2))))
		cost := G.Must(G.Sum(G.Must(G.Square(y))))
		if _, err := G.Grad(cost, x, w1, w2); err != nil {
			t.Fatal(err)
		}
		opts := []G.VMOpt{G.BindDualValues(x, w1, w2)}
		if e != nil {
			opts = append(opts, G.WithEngine(e))
		}
		m := G.NewTapeMachine(g, opts...)
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		var out []tensor.Tensor
		for _, n := range []*G.Node{x, w1, w2} {
			gv, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, gv.(tensor.Tensor).Clone().(tensor.Tensor))
		}
		return out
	}
	want := grads(nil)
	adds := 0
	got := grads(counting{adds: &adds})
	for i := range want {
		equalBits(t, fmt.Sprintf("gradient %d", i), got[i], want[i])
	}
	if adds == 0 {
		t.Fatal("no Add reached the engine")
	}
}
