package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestReLU(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	x := f32(tensor.Shape{2, 4}, -2, -0.5, 0, negZero, 0.5, 3, -inf, nan)
	y, dx := runWithGrad(t, x, []float32{1, 2, 3, 4, 5, 6, 7, 8}, ReLU)
	// PyTorch: relu(-0) = +0, relu(-Inf) = 0, relu(NaN) = NaN; the
	// gradient is 0 where x <= 0 and passes through NaN.
	if want := []float32{0, 0, 0, 0, 0.5, 3, 0, nan}; !sameBits(y, want) {
		t.Errorf("ReLU = %v, want %v", y, want)
	}
	if want := []float32{0, 0, 0, 0, 5, 6, 0, 8}; !sameBits(dx, want) {
		t.Errorf("ReLU gradient = %v, want %v", dx, want)
	}
	if (&ReLUOp{dims: 2}).Hashcode() == (&ReLUOp{dims: 4}).Hashcode() {
		t.Error("ReLU ops of different rank share a hash")
	}
}

// TestReLUMatchesRectify compares with gorgonia.Rectify away from the
// points where they differ by design (0, -Inf).
func TestReLUMatchesRectify(t *testing.T) {
	x := randTensor(5, 2, 3, 4, 5, 6)
	dy := randTensor(6, 1, 3, 4, 5, 6).Float32s()
	y, dx := runWithGrad(t, x, dy, ReLU)
	gy, gdx := runWithGrad(t, x, dy, G.Rectify)
	for i := range y {
		// Rectify computes x*0 = -0 for negative x.
		if y[i] != gy[i] || dx[i] != gdx[i] {
			t.Fatalf("element %d (x = %g): ReLU %g, gradient %g; Rectify %g, gradient %g", i, x.Float32s()[i], y[i], dx[i], gy[i], gdx[i])
		}
	}
}

func TestReLUNoAllocation(t *testing.T) {
	fwd := &ReLUOp{dims: 4}
	grad := &reluGradOp{dims: 4}
	x, dy := randTensor(1, 1, 8, 6, 28, 28), randTensor(2, 1, 8, 6, 28, 28)
	run := func() {
		if _, err := fwd.Do(x); err != nil {
			t.Fatal(err)
		}
		if _, err := grad.Do(x, dy); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(10, run); n > 0 {
		t.Errorf("%g allocations per forward+gradient run, want 0", n)
	}
}

// TestReLU6NonFinite pins ReLU6 on NaN and infinities: values as min(max(x,
// 0), 6), gradient 0 (NaN is not inside (0, 6)).
func TestReLU6NonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	y, dx := runWithGrad(t, f32(tensor.Shape{3}, nan, inf, -inf), []float32{1, 2, 3}, ReLU6)
	if !math.IsNaN(float64(y[0])) || y[1] != 6 || y[2] != 0 {
		t.Errorf("ReLU6 = %v, want [NaN 6 0]", y)
	}
	if want := []float32{0, 0, 0}; !sameBits(dx, want) {
		t.Errorf("ReLU6 gradient = %v, want %v", dx, want)
	}
}
