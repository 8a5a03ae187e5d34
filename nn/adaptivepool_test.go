package nn

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestAdaptiveAvgPoolHandComputed: 3x3 (1..9) to 2x2 takes overlapping
// 2x2 bins (rows and columns 0-1 and 1-2), so the centre receives a
// quarter of every output's gradient.
func TestAdaptiveAvgPoolHandComputed(t *testing.T) {
	x := f32(tensor.Shape{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	y, dx := runWithGrad(t, x, []float32{4, 8, 12, 16}, func(n *G.Node) (*G.Node, error) { return AdaptiveAvgPool2D(n, 2, 2) })
	if want := []float32{3, 4, 6, 7}; !equal(y, want) {
		t.Errorf("forward %v, want %v", y, want)
	}
	if want := []float32{1, 3, 2, 4, 10, 6, 3, 7, 4}; !equal(dx, want) {
		t.Errorf("gradient %v, want %v", dx, want)
	}
	// A 1x1 plane repeated to 2x3: every output is the value, the gradient
	// is the sum of the output gradients.
	one := f32(tensor.Shape{1, 1, 1, 1}, 2.5)
	y, dx = runWithGrad(t, one, []float32{1, 2, 3, 4, 5, 6}, func(n *G.Node) (*G.Node, error) { return AdaptiveAvgPool2D(n, 2, 3) })
	if want := []float32{2.5, 2.5, 2.5, 2.5, 2.5, 2.5}; !equal(y, want) {
		t.Errorf("1x1 forward %v, want %v", y, want)
	}
	if want := []float32{21}; !equal(dx, want) {
		t.Errorf("1x1 gradient %v, want %v", dx, want)
	}
}

// refAdaptiveAvgPool follows PyTorch's definition in float64: bin i of o
// over n covers [floor(i*n/o), ceil((i+1)*n/o)).
func refAdaptiveAvgPool(x []float32, planes, h, w, oh, ow int, dy []float32) (y, dx []float64) {
	y = make([]float64, planes*oh*ow)
	dx = make([]float64, len(x))
	for p := range planes {
		for i := range oh {
			r0, r1 := int(math.Floor(float64(i*h)/float64(oh))), int(math.Ceil(float64((i+1)*h)/float64(oh)))
			for j := range ow {
				c0, c1 := int(math.Floor(float64(j*w)/float64(ow))), int(math.Ceil(float64((j+1)*w)/float64(ow)))
				count := float64((r1 - r0) * (c1 - c0))
				o := (p*oh+i)*ow + j
				for r := r0; r < r1; r++ {
					for c := c0; c < c1; c++ {
						y[o] += float64(x[(p*h+r)*w+c]) / count
						dx[(p*h+r)*w+c] += float64(dy[o]) / count
					}
				}
			}
		}
	}
	return y, dx
}

// TestAdaptiveAvgPoolReference compares with the float64 definition on
// shrinking, growing, equal and mixed sizes.
func TestAdaptiveAvgPoolReference(t *testing.T) {
	cases := []struct{ n, c, h, w, oh, ow int }{
		{2, 3, 13, 13, 6, 6}, {1, 2, 6, 6, 6, 6}, {2, 2, 1, 1, 6, 6}, {1, 3, 3, 3, 6, 6},
		{2, 1, 7, 5, 3, 4}, {1, 2, 5, 9, 2, 7}, {1, 1, 4, 4, 1, 1},
	}
	for i, c := range cases {
		x := randTensor(uint64(30+i), 1, c.n, c.c, c.h, c.w)
		dy := randTensor(uint64(40+i), 1, c.n, c.c, c.oh, c.ow).Float32s()
		wantY, wantDx := refAdaptiveAvgPool(x.Float32s(), c.n*c.c, c.h, c.w, c.oh, c.ow, dy)
		y, dx := runWithGrad(t, x, dy, func(n *G.Node) (*G.Node, error) { return AdaptiveAvgPool2D(n, c.oh, c.ow) })
		for k := range wantY {
			if math.Abs(float64(y[k])-wantY[k]) > 1e-6*(1+math.Abs(wantY[k])) {
				t.Fatalf("case %+v: output %d is %v, want %v", c, k, y[k], wantY[k])
			}
		}
		for k := range wantDx {
			if math.Abs(float64(dx[k])-wantDx[k]) > 1e-6*(1+math.Abs(wantDx[k])) {
				t.Fatalf("case %+v: gradient %d is %v, want %v", c, k, dx[k], wantDx[k])
			}
		}
		if c.h == c.oh && c.w == c.ow && !equal(y, x.Float32s()) {
			t.Errorf("case %+v: equal sizes do not copy the input", c)
		}
	}
}

func TestAdaptiveAvgPoolFiniteDifferences(t *testing.T) {
	for _, c := range []struct{ h, w, oh, ow int }{{5, 4, 3, 3}, {2, 3, 4, 5}} {
		x := randTensor(uint64(c.h), 1, 2, 2, c.h, c.w)
		checkGrad(t, func(in []*G.Node) (*G.Node, error) { return AdaptiveAvgPool2D(in[0], c.oh, c.ow) },
			[]*tensor.Dense{x}, []bool{true}, 1e-2, 1e-3, 1e-3)
	}
}

func TestAdaptiveAvgPoolHashAndErrors(t *testing.T) {
	a, b, c := &AdaptiveAvgPool2DOp{oh: 6, ow: 6}, &AdaptiveAvgPool2DOp{oh: 6, ow: 3}, &AdaptiveAvgPool2DOp{oh: 3, ow: 6}
	if a.Hashcode() == b.Hashcode() || a.Hashcode() == c.Hashcode() || b.Hashcode() == c.Hashcode() {
		t.Error("different output sizes hash alike")
	}
	if a.Hashcode() != (&AdaptiveAvgPool2DOp{oh: 6, ow: 6}).Hashcode() {
		t.Error("equal ops hash differently")
	}
	if (&reshapeGradOp{fwd: a}).Hashcode() == a.Hashcode() {
		t.Error("the gradient op hashes as the forward op")
	}
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 4, 4), G.WithName("x"))
	v := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 4), G.WithName("v"))
	if _, err := AdaptiveAvgPool2D(x, 0, 6); err == nil || !strings.Contains(err.Error(), "at least 1x1") {
		t.Errorf("0x6 output: error %v", err)
	}
	if _, err := AdaptiveAvgPool2D(v, 6, 6); err == nil || !strings.Contains(err.Error(), "expected (N, C, H, W)") {
		t.Errorf("matrix input: error %v", err)
	}
	f64 := tensor.New(tensor.WithShape(1, 1, 2, 2), tensor.WithBacking([]float64{1, 2, 3, 4}))
	if _, err := a.Do(f64); err == nil || !strings.Contains(err.Error(), "has dtype float64, want float32") {
		t.Errorf("float64 input: error %v", err)
	}
	x32 := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(1, 1, 4, 4))
	dyWrong := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(1, 1, 4, 4))
	if _, err := (&reshapeGradOp{fwd: a}).Do(x32, dyWrong); err == nil || !strings.Contains(err.Error(), "want (1, 1, 6, 6)") {
		t.Errorf("mismatched dy: error %v", err)
	}
}

// TestAdaptiveAvgPoolNoAllocation checks that warm forward and gradient
// runs reuse their buffers.
func TestAdaptiveAvgPoolNoAllocation(t *testing.T) {
	fwd := &AdaptiveAvgPool2DOp{oh: 6, ow: 6}
	grad := &reshapeGradOp{fwd: fwd}
	x := randTensor(1, 1, 2, 8, 13, 13)
	dy := randTensor(2, 1, 2, 8, 6, 6)
	run := func() {
		if _, err := fwd.Do(x); err != nil {
			t.Fatal(err)
		}
		if _, err := grad.Do(x, dy); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(10, run); n > 4 {
		t.Errorf("%g allocations per forward+gradient run, want at most 4 (shape headers, no buffers)", n)
	}
}
