package nn

import (
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestSubsamplePadHandComputed: a 3x3 plane 1..9 with stride 2 keeps the
// corners 1, 3, 7, 9; one zero channel goes in front and two behind.
func TestSubsamplePadHandComputed(t *testing.T) {
	x := f32(tensor.Shape{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	dy := []float32{
		10, 11, 12, 13, // padded channel: no input receives these
		1, 2, 3, 4,
		20, 21, 22, 23,
		30, 31, 32, 33,
	}
	y, dx := runWithGrad(t, x, dy, func(n *G.Node) (*G.Node, error) { return SubsamplePad(n, 2, 1, 2) })
	wantY := []float32{0, 0, 0, 0, 1, 3, 7, 9, 0, 0, 0, 0, 0, 0, 0, 0}
	wantDx := []float32{1, 0, 2, 0, 0, 0, 3, 0, 4}
	if !equal(y, wantY) {
		t.Errorf("forward %v, want %v", y, wantY)
	}
	if !equal(dx, wantDx) {
		t.Errorf("gradient %v, want %v", dx, wantDx)
	}
}

// refSubsamplePad is the definition written element by element: output
// channel k holds input channel k-before at rows and columns i*s, j*s.
func refSubsamplePad(x []float32, n, c, h, w, s, before, after int, dy []float32) (y, dx []float32) {
	oc, oh, ow := before+c+after, (h+s-1)/s, (w+s-1)/s
	y = make([]float32, n*oc*oh*ow)
	dx = make([]float32, len(x))
	for b := range n {
		for k := range oc {
			for i := range oh {
				for j := range ow {
					o := ((b*oc+k)*oh+i)*ow + j
					if ch := k - before; ch >= 0 && ch < c {
						in := ((b*c+ch)*h+i*s)*w + j*s
						y[o] = x[in]
						dx[in] = dy[o]
					}
				}
			}
		}
	}
	return y, dx
}

// TestSubsamplePadReference compares values and gradients with the
// element-by-element definition on odd shapes, strides 1 to 3 and
// paddings on either side or none, running each graph twice so that the
// reused buffers are checked as well.
func TestSubsamplePadReference(t *testing.T) {
	cases := []struct{ n, c, h, w, s, before, after int }{
		{2, 3, 5, 7, 2, 1, 2}, {1, 4, 8, 8, 2, 2, 2}, {3, 2, 7, 4, 3, 0, 3},
		{2, 5, 1, 1, 2, 4, 0}, {1, 3, 6, 5, 1, 0, 0}, {2, 16, 32, 32, 2, 8, 8},
	}
	for i, c := range cases {
		x := randTensor(uint64(10+i), 1, c.n, c.c, c.h, c.w)
		oc, oh, ow := c.before+c.c+c.after, (c.h+c.s-1)/c.s, (c.w+c.s-1)/c.s
		dy := randTensor(uint64(20+i), 1, c.n, oc, oh, ow).Float32s()
		wantY, wantDx := refSubsamplePad(x.Float32s(), c.n, c.c, c.h, c.w, c.s, c.before, c.after, dy)

		g := G.NewGraph()
		xn := G.NodeFromAny(g, x, G.WithName("x"))
		y, err := SubsamplePad(xn, c.s, c.before, c.after)
		if err != nil {
			t.Fatal(err)
		}
		if want := (tensor.Shape{c.n, oc, oh, ow}); !y.Shape().Eq(want) {
			t.Fatalf("case %d: shape %v, want %v", i, y.Shape(), want)
		}
		wn := G.NodeFromAny(g, tensor.New(tensor.WithShape(c.n, oc, oh, ow), tensor.WithBacking(dy)), G.WithName("w"))
		prod, err := G.HadamardProd(y, wn)
		if err != nil {
			t.Fatal(err)
		}
		cost, err := G.Sum(prod)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := G.Grad(cost, xn); err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		for run := range 2 {
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			gv, _ := xn.Grad()
			if got := y.Value().Data().([]float32); !equal(got, wantY) {
				t.Errorf("case %+v run %d: forward differs from the definition", c, run)
			}
			if got := gv.Data().([]float32); !equal(got, wantDx) {
				t.Errorf("case %+v run %d: gradient differs from the definition", c, run)
			}
			m.Reset()
		}
		m.Close()
	}
}

// TestSubsamplePadFiniteDifferences checks the gradient against central
// differences of Σ w⊙y.
func TestSubsamplePadFiniteDifferences(t *testing.T) {
	for _, c := range []struct{ s, before, after int }{{2, 1, 1}, {3, 0, 2}, {1, 2, 0}} {
		x := randTensor(uint64(c.s), 1, 2, 2, 5, 4)
		checkGrad(t, func(in []*G.Node) (*G.Node, error) { return SubsamplePad(in[0], c.s, c.before, c.after) },
			[]*tensor.Dense{x}, []bool{true}, 1e-2, 1e-3, 1e-3)
	}
}

func TestSubsamplePadHashAndErrors(t *testing.T) {
	ops := []*SubsamplePadOp{
		{stride: 2, padBefore: 8, padAfter: 8}, {stride: 1, padBefore: 8, padAfter: 8},
		{stride: 2, padBefore: 4, padAfter: 8}, {stride: 2, padBefore: 8, padAfter: 4},
	}
	seen := map[uint32]int{}
	for i, op := range ops {
		if j, ok := seen[op.Hashcode()]; ok {
			t.Errorf("ops %d and %d hash alike", j, i)
		}
		seen[op.Hashcode()] = i
		grad := &reshapeGradOp{fwd: op}
		if grad.Hashcode() == op.Hashcode() {
			t.Errorf("op %d: gradient op hashes as the forward op", i)
		}
	}
	if ops[0].Hashcode() != (&SubsamplePadOp{stride: 2, padBefore: 8, padAfter: 8}).Hashcode() {
		t.Error("equal ops hash differently")
	}

	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 4, 4), G.WithName("x"))
	v := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 4), G.WithName("v"))
	for _, c := range []struct {
		build func() (*G.Node, error)
		want  string
	}{
		{func() (*G.Node, error) { return SubsamplePad(x, 0, 1, 1) }, "stride 0 must be at least 1"},
		{func() (*G.Node, error) { return SubsamplePad(x, 2, -1, 1) }, "at least 0"},
		{func() (*G.Node, error) { return SubsamplePad(v, 2, 1, 1) }, "expected (N, C, H, W)"},
	} {
		if _, err := c.build(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
	op := &SubsamplePadOp{stride: 2, padBefore: 1, padAfter: 1}
	f64 := tensor.New(tensor.WithShape(1, 1, 2, 2), tensor.WithBacking([]float64{1, 2, 3, 4}))
	if _, err := op.Do(f64); err == nil || !strings.Contains(err.Error(), "has dtype float64, want float32") {
		t.Errorf("float64 input: error %v", err)
	}
	grad := &reshapeGradOp{fwd: op}
	x32 := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(1, 1, 4, 4))
	dyWrong := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(1, 3, 4, 4))
	if _, err := grad.Do(x32, dyWrong); err == nil || !strings.Contains(err.Error(), "want (1, 3, 2, 2)") {
		t.Errorf("mismatched dy: error %v", err)
	}
}

// TestSubsamplePadNoAllocation checks that warm forward and gradient runs
// reuse their buffers.
func TestSubsamplePadNoAllocation(t *testing.T) {
	fwd := &SubsamplePadOp{stride: 2, padBefore: 8, padAfter: 8}
	grad := &reshapeGradOp{fwd: fwd}
	x := randTensor(1, 1, 4, 16, 32, 32)
	dy := randTensor(2, 1, 4, 32, 16, 16)
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
