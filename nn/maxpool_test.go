package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refMaxPool is a direct loop over the padded windows: each output is the
// first maximum in row-major order (a NaN beats every number, the first NaN
// wins), and its input position receives the output's gradient.
func refMaxPool(x []float32, n, c, h, w int, g poolGeom, dy []float32) (y, dx []float32) {
	oh := (h+2*g.ph-g.kh)/g.sh + 1
	ow := (w+2*g.pw-g.kw)/g.sw + 1
	y = make([]float32, n*c*oh*ow)
	dx = make([]float32, len(x))
	for p := 0; p < n*c; p++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				at := -1
				for r := i*g.sh - g.ph; r < i*g.sh-g.ph+g.kh; r++ {
					for q := j*g.sw - g.pw; q < j*g.sw-g.pw+g.kw; q++ {
						if r < 0 || r >= h || q < 0 || q >= w {
							continue // padding never wins
						}
						k := p*h*w + r*w + q
						v := x[k]
						switch {
						case at < 0:
							at = k
						case math.IsNaN(float64(x[at])):
						case math.IsNaN(float64(v)) || v > x[at]:
							at = k
						}
					}
				}
				o := p*oh*ow + i*ow + j
				y[o] = x[at]
				dx[at] += dy[o]
			}
		}
	}
	return y, dx
}

// tiedTensor draws values from a few levels so that windows hold ties.
func tiedTensor(seed uint64, shape ...int) *tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 3))
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(r.IntN(4)) - 1.5
	}
	return t
}

// specialTensor is random with a few NaN, +Inf and -Inf and ±0 mixed in.
func specialTensor(seed uint64, shape ...int) *tensor.Dense {
	t := randTensor(seed, 1, shape...)
	v := t.Float32s()
	r := rand.New(rand.NewPCG(seed, 4))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for range max(1, len(v)/10) {
		v[r.IntN(len(v))] = special[r.IntN(len(special))]
	}
	return t
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// poolCases cover LeNet's 2x2/2 (the fast path), overlapping windows,
// padding, rectangular kernels, strides larger than the kernel and odd
// input sizes.
var poolCases = []struct {
	shape      []int
	kernel     tensor.Shape
	pad, strid []int
}{
	{[]int{2, 3, 8, 8}, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}},
	{[]int{2, 3, 7, 9}, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}},
	{[]int{1, 2, 5, 5}, tensor.Shape{3, 3}, []int{1, 1}, []int{2, 2}},
	{[]int{2, 2, 6, 7}, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}},
	{[]int{1, 3, 7, 5}, tensor.Shape{2, 3}, []int{1, 0}, []int{1, 2}},
	{[]int{2, 1, 9, 8}, tensor.Shape{2, 2}, []int{1, 1}, []int{3, 3}},
	{[]int{1, 1, 3, 3}, tensor.Shape{3, 3}, []int{0, 0}, []int{1, 1}},
}

func TestMaxPool2DReference(t *testing.T) {
	for k, tc := range poolCases {
		t.Run(fmt.Sprintf("%v_k%v_p%v_s%v", tc.shape, tc.kernel, tc.pad, tc.strid), func(t *testing.T) {
			for _, x := range []*tensor.Dense{tiedTensor(uint64(k), tc.shape...), randTensor(uint64(k), 1, tc.shape...), specialTensor(uint64(k), tc.shape...)} {
				g := poolGeom{kh: tc.kernel[0], kw: tc.kernel[1], ph: tc.pad[0], pw: tc.pad[1], sh: tc.strid[0], sw: tc.strid[1]}
				os, err := g.outShape(x.Shape())
				if err != nil {
					t.Fatal(err)
				}
				dy := randTensor(uint64(100+k), 1, os...).Float32s()
				y, dx := runWithGrad(t, x, dy, func(n *G.Node) (*G.Node, error) { return MaxPool2D(n, tc.kernel, tc.pad, tc.strid) })
				s := tc.shape
				wantY, wantDx := refMaxPool(x.Float32s(), s[0], s[1], s[2], s[3], g, dy)
				if !sameBits(y, wantY) {
					t.Errorf("values %v, want %v", y, wantY)
				}
				if !sameBits(dx, wantDx) {
					t.Errorf("gradient %v, want %v", dx, wantDx)
				}
			}
		})
	}
}

// TestMaxPool2DMatchesGorgonia compares values and gradients with
// gorgonia.MaxPool2D, which follows the same tie rule, on finite inputs.
func TestMaxPool2DMatchesGorgonia(t *testing.T) {
	for k, tc := range poolCases {
		for _, x := range []*tensor.Dense{tiedTensor(uint64(20+k), tc.shape...), randTensor(uint64(20+k), 1, tc.shape...)} {
			g := poolGeom{kh: tc.kernel[0], kw: tc.kernel[1], ph: tc.pad[0], pw: tc.pad[1], sh: tc.strid[0], sw: tc.strid[1]}
			os, err := g.outShape(x.Shape())
			if err != nil {
				t.Fatal(err)
			}
			dy := randTensor(uint64(200+k), 1, os...).Float32s()
			y, dx := runWithGrad(t, x, dy, func(n *G.Node) (*G.Node, error) { return MaxPool2D(n, tc.kernel, tc.pad, tc.strid) })
			gy, gdx := runWithGrad(t, x, dy, func(n *G.Node) (*G.Node, error) { return G.MaxPool2D(n, tc.kernel, tc.pad, tc.strid) })
			if !sameBits(y, gy) || !sameBits(dx, gdx) {
				t.Errorf("case %d (%s): differs from gorgonia.MaxPool2D:\nvalues %v\ngorgonia %v\ngradient %v\ngorgonia %v", k, g, y, gy, dx, gdx)
			}
		}
	}
}

// TestMaxPool2DTiesAndNaN pins the tie and NaN rules on a hand-made case.
func TestMaxPool2DTiesAndNaN(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	x := f32(tensor.Shape{1, 1, 4, 4},
		3, 1, -inf, -inf, // window 0: 3 at (0,0) and (1,1) tie: the first wins
		0, 3, -inf, -inf, // window 1: all -Inf
		nan, 2, 5, 5, // window 2: NaN beats 2 and 9
		9, nan, 5, 4) // window 3: 5 three times
	y, dx := runWithGrad(t, x, []float32{1, 2, 3, 4}, func(n *G.Node) (*G.Node, error) {
		return MaxPool2D(n, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2})
	})
	if y[0] != 3 || !math.IsInf(float64(y[1]), -1) || !math.IsNaN(float64(y[2])) || y[3] != 5 {
		t.Errorf("values %v, want [3 -Inf NaN 5]", y)
	}
	want := []float32{1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}
	if !sameBits(dx, want) {
		t.Errorf("gradient %v, want %v", dx, want)
	}
}

// TestMaxPool2DGradientOnOtherData runs the gradient op on an input the
// forward op did not see: it must recompute the argmax, not reuse it.
func TestMaxPool2DGradientOnOtherData(t *testing.T) {
	fwd := &MaxPool2DOp{geom: poolGeom{kh: 2, kw: 2, sh: 2, sw: 2}}
	grad := &maxPoolGradOp{fwd: fwd}
	a, b := randTensor(1, 1, 1, 2, 4, 4), randTensor(2, 1, 1, 2, 4, 4)
	dy := randTensor(3, 1, 1, 2, 2, 2)
	if _, err := fwd.Do(a); err != nil {
		t.Fatal(err)
	}
	got, err := grad.Do(b, dy)
	if err != nil {
		t.Fatal(err)
	}
	_, want := refMaxPool(b.Float32s(), 1, 2, 4, 4, fwd.geom, dy.Float32s())
	if !sameBits(got.Data().([]float32), want) {
		t.Errorf("gradient %v, want %v", got.Data(), want)
	}
}

func TestMaxPool2DErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 1, 4, 4), G.WithName("x"))
	m := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 4), G.WithName("m"))
	bad := []struct {
		x           *G.Node
		k           tensor.Shape
		pad, stride []int
		what        string
	}{
		{m, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}, "2-d input"},
		{x, tensor.Shape{2}, []int{0, 0}, []int{2, 2}, "1-d kernel"},
		{x, tensor.Shape{2, 2}, []int{0, 0, 0, 0}, []int{2, 2}, "4 paddings"},
		{x, tensor.Shape{2, 2}, []int{0, 0}, []int{0, 2}, "stride 0"},
		{x, tensor.Shape{2, 2}, []int{2, 0}, []int{2, 2}, "padding = kernel"},
		{x, tensor.Shape{5, 5}, []int{0, 0}, []int{1, 1}, "window larger than the input"},
	}
	for _, c := range bad {
		if _, err := MaxPool2D(c.x, c.k, c.pad, c.stride); err == nil {
			t.Errorf("%s accepted", c.what)
		}
	}
	a := &MaxPool2DOp{geom: poolGeom{kh: 2, kw: 2, sh: 2, sw: 2}}
	b := &MaxPool2DOp{geom: poolGeom{kh: 2, kw: 2, sh: 1, sw: 2}}
	c := &MaxPool2DOp{geom: poolGeom{kh: 2, kw: 2, sh: 2, sw: 2, ph: 1}}
	if a.Hashcode() == b.Hashcode() || a.Hashcode() == c.Hashcode() {
		t.Error("pools of different geometry share a hash")
	}
}

// TestMaxPool2DNoAllocation checks that warm forward and gradient runs
// reuse their buffers.
func TestMaxPool2DNoAllocation(t *testing.T) {
	fwd := &MaxPool2DOp{geom: poolGeom{kh: 2, kw: 2, sh: 2, sw: 2}}
	grad := &maxPoolGradOp{fwd: fwd}
	x := randTensor(1, 1, 8, 6, 28, 28)
	dy := randTensor(2, 1, 8, 6, 14, 14)
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
