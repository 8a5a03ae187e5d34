package values

import (
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

func TestReadMaterialisesViewsAndChecksDtype(t *testing.T) {
	d := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6}))
	tr := d.Clone().(*tensor.Dense)
	if err := tr.T(); err != nil {
		t.Fatal(err)
	}
	got, s, err := Read[float64](tr, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Eq(tensor.Shape{3, 2}) || got[1] != 4 || got[2] != 2 {
		t.Fatalf("transposed view read as %v %v, want (3, 2) [1 4 2 5 3 6]", s, got)
	}
	if _, _, err := Read[float32](d, "x"); err == nil || !strings.Contains(err.Error(), "x has dtype float64, want float32") {
		t.Fatalf("error %v", err)
	}
	if _, _, err := Read[float32](nil, "x"); err == nil {
		t.Fatal("nil value accepted")
	}
	if n := testing.AllocsPerRun(10, func() { _, _, _ = Read[float64](d, "x") }); n != 0 {
		t.Fatalf("reading a dense tensor allocates %v times", n)
	}
}

func TestOutputReusesOnlyWhatFits(t *testing.T) {
	in := make([]float32, 6)
	shape := tensor.Shape{2, 3}
	mine := tensor.New(tensor.WithShape(2, 3), tensor.Of(tensor.Float32))
	if d, _ := Output(mine, nil, shape, in); d != mine {
		t.Fatal("a fitting prealloc was not reused")
	}
	var cache *tensor.Dense
	big := tensor.New(tensor.WithShape(4, 3), tensor.Of(tensor.Float32))
	view, err := big.Slice(tensor.S(0, 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []any{
		tensor.New(tensor.WithShape(3, 2), tensor.Of(tensor.Float32)), // another shape
		tensor.New(tensor.WithShape(2, 3), tensor.Of(tensor.Float64)), // another dtype
		tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(in)),    // the input itself
		view, // a view
	} {
		v, _ := bad.(*tensor.Dense)
		d, data := Output(v, &cache, shape, in)
		if d == v || Overlaps(data, in) || !d.Shape().Eq(shape) {
			t.Fatalf("prealloc %v reused", bad)
		}
		if again, _ := Output(nil, &cache, shape, in); again != d {
			t.Fatal("the op's buffer was not kept")
		}
	}
}

func TestOverlaps(t *testing.T) {
	a := make([]float64, 10)
	if !Overlaps(a[2:5], a[4:8]) || Overlaps(a[2:4], a[4:8]) || Overlaps(a[:0], a) {
		t.Fatal("Overlaps is wrong")
	}
}
