package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func moments(d []float32) (mean, std, maxAbs float64) {
	var s, sq float64
	for _, v := range d {
		s += float64(v)
		sq += float64(v) * float64(v)
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	mean = s / float64(len(d))
	return mean, math.Sqrt(sq/float64(len(d)) - mean*mean), maxAbs
}

func TestInitialisersDistribution(t *testing.T) {
	shape := tensor.Shape{64, 8, 5, 5} // 12800 values
	fanIn, fanOut, err := ConvFans(shape)
	if err != nil || fanIn != 200 || fanOut != 1600 {
		t.Fatalf("ConvFans = %d, %d, %v; want 200, 1600", fanIn, fanOut, err)
	}
	rng := NewRand(1)
	cases := []struct {
		name  string
		make  func() (*tensor.Dense, error)
		std   float64
		bound float64 // 0 for normal
	}{
		{"kaiming uniform", func() (*tensor.Dense, error) { return KaimingUniform(rng, shape, fanIn) }, math.Sqrt(2.0 / 200), math.Sqrt(6.0 / 200)},
		{"kaiming normal", func() (*tensor.Dense, error) { return KaimingNormal(rng, shape, fanIn) }, math.Sqrt(2.0 / 200), 0},
		{"glorot uniform", func() (*tensor.Dense, error) { return GlorotUniform(rng, shape, fanIn, fanOut) }, math.Sqrt(2.0 / 1800), math.Sqrt(6.0 / 1800)},
		{"glorot normal", func() (*tensor.Dense, error) { return GlorotNormal(rng, shape, fanIn, fanOut) }, math.Sqrt(2.0 / 1800), 0},
	}
	for _, c := range cases {
		w, err := c.make()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !w.Shape().Eq(shape) || w.Dtype() != tensor.Float32 {
			t.Fatalf("%s: %v %v", c.name, w.Shape(), w.Dtype())
		}
		mean, std, maxAbs := moments(w.Float32s())
		// Standard error of the sample std is about std/sqrt(2n) < 1%.
		if math.Abs(mean) > 4*c.std/math.Sqrt(12800) || math.Abs(std/c.std-1) > 0.04 {
			t.Errorf("%s: mean %g std %g, want 0 and %g", c.name, mean, std, c.std)
		}
		if c.bound > 0 && (maxAbs > c.bound || maxAbs < 0.99*c.bound) {
			t.Errorf("%s: max |w| %g, bound %g", c.name, maxAbs, c.bound)
		}
	}
}

func TestInitialisersSeeded(t *testing.T) {
	a, _ := KaimingUniform(NewRand(7), tensor.Shape{3, 4}, 4)
	b, _ := KaimingUniform(NewRand(7), tensor.Shape{3, 4}, 4)
	c, _ := KaimingUniform(NewRand(8), tensor.Shape{3, 4}, 4)
	if !equal(a.Float32s(), b.Float32s()) {
		t.Error("same seed gave different weights")
	}
	if equal(a.Float32s(), c.Float32s()) {
		t.Error("different seeds gave the same weights")
	}
	// The tensors plug into Gorgonia directly.
	g := G.NewGraph()
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 4), G.WithName("w"), G.WithValue(a))
	if w.Value().Data().([]float32)[5] != a.Float32s()[5] {
		t.Error("WithValue did not take the initialised tensor")
	}
}

func TestInitialiserErrors(t *testing.T) {
	rng := NewRand(1)
	if _, err := KaimingUniform(rng, tensor.Shape{2, 2}, 0); err == nil {
		t.Error("fan-in 0 accepted")
	}
	if _, err := GlorotNormal(rng, tensor.Shape{2, 2}, 2, -1); err == nil {
		t.Error("negative fan-out accepted")
	}
	if _, err := KaimingNormal(nil, tensor.Shape{2, 2}, 2); err == nil {
		t.Error("nil rng accepted")
	}
	if _, err := Uniform(rng, tensor.Shape{2, 0}, 1); err == nil {
		t.Error("zero dimension accepted")
	}
	if _, _, err := ConvFans(tensor.Shape{2, 2}); err == nil {
		t.Error("2-d filter accepted by ConvFans")
	}
	if f, err := Filled(tensor.Shape{3}, 1); err != nil || !equal(f.Float32s(), []float32{1, 1, 1}) {
		t.Errorf("Filled = %v, %v", f, err)
	}
}

func TestPreallocReuse(t *testing.T) {
	x := f32(tensor.Shape{2, 3}, -1, 2, 7, 0, 3, 9)
	op := newReLU6Op(2)
	buf := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 3))
	v, err := op.UsePreallocDo(buf, x)
	if err != nil || v != buf || !equal(buf.Float32s(), []float32{0, 2, 6, 0, 3, 6}) {
		t.Errorf("matching buffer not reused: %v %v", v, err)
	}
	wrong := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(3, 2))
	if v, _ := op.UsePreallocDo(wrong, x); v == wrong || !v.Shape().Eq(tensor.Shape{2, 3}) {
		t.Error("buffer of another shape was used")
	}
	if v, _ := op.UsePreallocDo(x, x); v == x || !equal(x.Float32s(), []float32{-1, 2, 7, 0, 3, 9}) {
		t.Error("the input itself was used as output")
	}
}
