package nn

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestDropout checks, in both dtypes, that training drops about prob of
// the elements and scales the rest by 1/(1-prob), that the gradient passes
// dy through the same mask with the same scale, that one seed repeats its
// masks, and that evaluation passes x on.
func TestDropout(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			run := func(training bool) (y, dx []float64) {
				g := gorgonia.NewGraph()
				x := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(40, 50), gorgonia.WithName("x"), gorgonia.WithInit(gorgonia.Ones()))
				d, op, err := Dropout(x, 0.3, 9)
				if err != nil {
					t.Fatal(err)
				}
				op.SetTraining(training)
				w := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(40, 50), gorgonia.WithName("w"), gorgonia.WithInit(gorgonia.RangedFrom(1)))
				cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(d, w))))
				var yv gorgonia.Value
				gorgonia.Read(d, &yv)
				if _, err := gorgonia.Grad(cost, x); err != nil {
					t.Fatal(err)
				}
				m := gorgonia.NewTapeMachine(g)
				defer m.Close()
				if err := m.RunAll(); err != nil {
					t.Fatal(err)
				}
				gx, err := x.Grad()
				if err != nil {
					t.Fatal(err)
				}
				return to64(yv.Data()), to64(gx.Data())
			}
			y, dx := run(true)
			dropped := 0
			for i, v := range y {
				w := float64(i + 1)
				switch {
				case v == 0:
					dropped++
					if dx[i] != 0 {
						t.Fatalf("dx[%d] = %v where the element was dropped", i, dx[i])
					}
				case !near(v, 1/0.7, 1e-5) || !near(dx[i], w/0.7, 1e-5*w):
					t.Fatalf("kept element %d: y %v, dx %v; want %v, %v", i, v, dx[i], 1/0.7, w/0.7)
				}
			}
			if dropped < 500 || dropped > 700 {
				t.Fatalf("%d of 2000 dropped at probability 0.3", dropped)
			}
			again, _ := run(true)
			for i := range y {
				if again[i] != y[i] {
					t.Fatal("the same seed gave another mask")
				}
			}
			y, dx = run(false)
			for i := range y {
				if y[i] != 1 || dx[i] != float64(i+1) {
					t.Fatalf("evaluation: y[%d] = %v, dx %v; want 1, %v", i, y[i], dx[i], i+1)
				}
			}
		})
	}
}

func to64(v any) []float64 {
	switch d := v.(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	}
	return nil
}

// Two dropouts differing only in probability or seed do not merge.
func TestDropoutHashCoversFields(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 2), gorgonia.WithName("x"))
	a, _, _ := Dropout(x, 0.3, 1)
	b, _, _ := Dropout(x, 0.4, 1)
	c, _, _ := Dropout(x, 0.3, 2)
	if a == b || a == c || b == c {
		t.Fatal("dropouts with different probabilities or seeds merged")
	}
	if _, _, err := Dropout(x, 1, 1); err == nil {
		t.Fatal("probability 1 accepted")
	}
}
