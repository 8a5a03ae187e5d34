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
	if (newReLUOp(2)).Hashcode() == (newReLUOp(4)).Hashcode() {
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
	fwd := newReLUOp(4)
	grad := &ClampGradOp{dims: 4}
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

// TestClampFloat64 checks ReLU and ReLU6 on float64 values against the
// float32 ops on the same values, edge values included, values and
// gradients bit for bit (after widening).
func TestClampFloat64(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	xs := []float64{-2, math.Copysign(0, -1), 0, 0.5, 3, 5.75, 6, 7, nan, inf, -inf}
	dys := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	x32, dy32 := make([]float32, len(xs)), make([]float32, len(xs))
	for i := range xs {
		x32[i], dy32[i] = float32(xs[i]), float32(dys[i])
	}
	for _, six := range []bool{false, true} {
		var fwd G.Op = newReLUOp(1)
		if six {
			fwd = newReLU6Op(1)
		}
		grad := &ClampGradOp{Six: six, dims: 1}
		do := func(op G.Op, in ...G.Value) G.Value {
			v, err := op.Do(in...)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		y64 := do(fwd, tensor.New(tensor.WithBacking(xs))).Data().([]float64)
		dx64 := do(grad, tensor.New(tensor.WithBacking(xs)), tensor.New(tensor.WithBacking(dys))).Data().([]float64)
		y32 := do(fwd, f32(tensor.Shape{len(xs)}, x32...)).Data().([]float32)
		dx32 := do(grad, f32(tensor.Shape{len(xs)}, x32...), f32(tensor.Shape{len(xs)}, dy32...)).Data().([]float32)
		for i := range xs {
			bothNaN := math.IsNaN(y64[i]) && math.IsNaN(float64(y32[i]))
			if !bothNaN && math.Float64bits(y64[i]) != math.Float64bits(float64(y32[i])) || dx64[i] != float64(dx32[i]) {
				t.Fatalf("six=%t x=%v: float64 %v, %v; float32 %v, %v", six, xs[i], y64[i], dx64[i], y32[i], dx32[i])
			}
		}
	}
}
