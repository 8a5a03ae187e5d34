package optimizer

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestOptimizerIndependentOfThreads runs three steps of each optimizer on a
// parameter large enough to be split over threads and compares the weights
// bit for bit with the update written out serially, for GOMAXPROCS 1 to 3.
func TestOptimizerIndependentOfThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	const n, lr, steps = 3*minUpdatePerPart + 5, 1e-3, 3
	rng := rand.New(rand.NewPCG(3, 4))
	c := make([]float32, n)
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	for _, k := range Kinds() {
		kind := string(k)
		want := serialUpdates(kind, c, lr, steps)
		for procs := 1; procs <= 3; procs++ {
			runtime.GOMAXPROCS(procs)
			got := optimizerSteps(t, kind, c, lr, steps)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s, GOMAXPROCS %d: w[%d] = %v, the serial update gives %v", kind, procs, i, got[i], want[i])
				}
			}
		}
	}
}

// optimizerSteps trains w from 0 on the loss Σ w⊙c (gradient c) with
// the exported Optimizer.
func optimizerSteps(t *testing.T, kind string, c []float32, lr float64, steps int) []float32 {
	t.Helper()
	g := G.NewGraph()
	n := len(c)
	w := G.NewVector(g, tensor.Float32, G.WithShape(n), G.WithName("w"), G.WithInit(G.Zeroes()))
	cv := G.NewVector(g, tensor.Float32, G.WithShape(n), G.WithName("c"),
		G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(append([]float32(nil), c...)))))
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(w, cv))))
	if _, err := G.Grad(loss, w); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(w))
	defer vm.Close()
	opt, err := New(kind)
	if err != nil {
		t.Fatal(err)
	}
	for range steps {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(G.Nodes{w}, lr); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
	}
	return append([]float32(nil), w.Value().Data().([]float32)...)
}

// serialUpdates is the update written out element by element: PyTorch's
// Adam (moments in float32, the bias-corrected step in float64) and SGD
// with momentum.
func serialUpdates(kind string, g []float32, lr float64, steps int) []float32 {
	w := make([]float32, len(g))
	m := make([]float32, len(g))
	v := make([]float32, len(g))
	for s := 1; s <= steps; s++ {
		bc1 := 1 - math.Pow(0.9, float64(s))
		bc2 := 1 - math.Pow(0.999, float64(s))
		for i, gi := range g {
			if kind == "sgd" {
				m[i] = float32(0.9)*m[i] + gi
				w[i] -= float32(lr) * m[i]
				continue
			}
			m[i] = float32(0.9)*m[i] + float32(0.1)*gi
			v[i] = float32(0.999)*v[i] + float32(0.001)*gi*gi
			w[i] -= float32(lr * (float64(m[i]) / bc1) / (math.Sqrt(float64(v[i])/bc2) + 1e-8))
		}
	}
	return w
}

func TestNewRejectsUnknownKind(t *testing.T) {
	if _, err := New("adagrad"); err == nil || !strings.Contains(err.Error(), "adam, sgd") {
		t.Fatalf("New(adagrad) error = %v, want one listing the optimizers", err)
	}
}

// TestOptimizerRefusesNonFiniteGradients checks that a step whose
// gradients hold a NaN or an infinity in any parameter, even the last,
// names that parameter and changes no weight, moment or step count.
func TestOptimizerRefusesNonFiniteGradients(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		for _, k := range Kinds() {
			kind := string(k)
			// loss = Σ a⊙ca + Σ b⊙cb: the gradients are ca and cb.
			g := G.NewGraph()
			var params G.Nodes
			var terms []*G.Node
			for i, n := range []int{5, 9} {
				c := make([]float32, n)
				for j := range c {
					c[j] = 0.5
				}
				if i == 1 {
					c[7] = bad
				}
				p := G.NewVector(g, tensor.Float32, G.WithShape(n), G.WithName([]string{"a", "b"}[i]), G.WithInit(G.Zeroes()))
				cv := G.NewVector(g, tensor.Float32, G.WithShape(n), G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(c))))
				terms = append(terms, G.Must(G.Sum(G.Must(G.HadamardProd(p, cv)))))
				params = append(params, p)
			}
			if _, err := G.Grad(G.Must(G.Add(terms[0], terms[1])), params...); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g, G.BindDualValues(params...))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			opt, err := New(kind)
			if err != nil {
				t.Fatal(err)
			}
			err = opt.Step(params, 1e-3)
			var ng *NonFiniteGradError
			if !errors.As(err, &ng) || ng.Param != "b" || math.Float32bits(ng.Value) != math.Float32bits(bad) && !(ng.Value != ng.Value && bad != bad) {
				t.Fatalf("%s, gradient %v: Step error = %v, want a non-finite gradient of b", kind, bad, err)
			}
			for _, p := range params {
				for i, w := range p.Value().Data().([]float32) {
					if w != 0 {
						t.Fatalf("%s, gradient %v: %s[%d] = %v after a refused step, want 0", kind, bad, p.Name(), i, w)
					}
				}
			}
			if opt.state.Steps != 0 || len(opt.state.M) != 0 {
				t.Fatalf("%s, gradient %v: refused step counted (%d steps, %d moments)", kind, bad, opt.state.Steps, len(opt.state.M))
			}
		}
	}
}

// TestAllFinite holds the four-sum finiteness check to the element test
// on every position and length around its unrolling.
func TestAllFinite(t *testing.T) {
	for n := 0; n <= 11; n++ {
		v := make([]float32, n)
		if !allFinite(v) {
			t.Fatalf("len %d zeros: not finite", n)
		}
		for i := range v {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				v[i] = bad
				if allFinite(v) {
					t.Fatalf("len %d, %v at %d: reported finite", n, bad, i)
				}
				v[i] = math.MaxFloat32
			}
		}
		if !allFinite(v) {
			t.Fatalf("len %d of MaxFloat32: not finite", n)
		}
	}
}

// TestOptimizerSteps checks Adam and SGD with momentum against updates
// computed by hand for a loss whose gradient is a constant c.
func TestOptimizerSteps(t *testing.T) {
	c := []float32{0.5, -2}
	for _, kind := range []string{"adam", "sgd"} {
		g := G.NewGraph()
		w := G.NewVector(g, tensor.Float32, G.WithShape(2), G.WithName("w"), G.WithInit(G.Zeroes()))
		cv := G.NewVector(g, tensor.Float32, G.WithShape(2), G.WithName("c"),
			G.WithValue(tensor.New(tensor.WithShape(2), tensor.WithBacking(append([]float32(nil), c...)))))
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(w, cv))))
		if _, err := G.Grad(loss, w); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(w))
		opt, err := New(kind)
		if err != nil {
			t.Fatal(err)
		}
		const lr = 0.1
		for step := 1; step <= 2; step++ {
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			if err := opt.Step(G.Nodes{w}, lr); err != nil {
				t.Fatal(err)
			}
			vm.Reset()
		}
		vm.Close()
		got := w.Value().Data().([]float32)
		for i, ci := range c {
			var want float64
			if kind == "adam" {
				// A constant gradient makes both bias-corrected moments exact:
				// each step moves by lr*c/(|c|+eps).
				want = -2 * lr * float64(ci) / (math.Abs(float64(ci)) + 1e-8)
			} else {
				// v1 = c, v2 = 0.9c + c.
				want = -lr*float64(ci) - lr*1.9*float64(ci)
			}
			if math.Abs(float64(got[i])-want) > 1e-6 {
				t.Errorf("%s: w[%d] = %v, want %v", kind, i, got[i], want)
			}
		}
	}
}
