package nn

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

var fusedActs = []Activation{ActReLU, ActReLU6}

// sameBits32 and sameBits64 compare bit patterns, so NaNs compare too.
func sameBits32(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// sameSum compares float64 sums by bits, except that any two NaNs match:
// which NaN a sum of NaNs ends with depends on the order the compiler
// gives the operands of a product, which nothing pins.
func sameSum(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// separateAct is the activation op and gradient the fused kernels replace.
func separateAct(a Activation) (fwd func(y, x []float32), grad func(dx, x, dy []float32)) {
	if a == ActReLU6 {
		return relu6, relu6Grad
	}
	return relu, reluGrad
}

// TestFusedKernelsMatchSeparate checks each fused kernel against the
// separate kernels it replaces, bit for bit, on the values the activations
// treat specially. With k = 1 and b = -0 the pre-activation value is x
// itself (x + -0 = x, even for -0), so ±0, 6, NaN, ±Inf and the floats
// next to 0 and 6 all reach the masks exactly.
func TestFusedKernelsMatchSeparate(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, a := range fusedActs {
		fwd, grad := separateAct(a)
		p := a.params()
		for _, n := range append(vecLengths, 1000) {
			x, dy := specialInput(uint64(n)+200, n), specialInput(uint64(n)+300, n)
			for _, kb := range [][2]float32{{1, negZero}, {1.3, -0.7}} {
				k, b := kb[0], kb[1]
				z, want, got := make([]float32, n), make([]float32, n), make([]float32, n)
				scaleShift(z, x, k, b)
				fwd(want, z)
				scaleShiftAct(got, x, k, b, a)
				if !sameBits32(got, want) {
					t.Fatalf("%v n=%d k=%g: fused forward differs from scaleShift then %v", a, n, k, a)
				}

				masked := make([]float32, n)
				grad(masked, z, dy)
				const mean, inv, kk, meanDy, meanDyX = 0.3, 1.7, 0.9, 0.11, -0.23
				bnGradX(want, x, masked, mean, inv, kk, meanDy, meanDyX)
				bnGradXAct(got, x, dy, mean, inv, kk, meanDy, meanDyX, k, b, p)
				if !sameBits32(got, want) {
					t.Fatalf("%v n=%d k=%g: fused dx differs from the %v gradient then bnGradX", a, n, k, a)
				}

				// The sums again with finite dy, so that Σdy shows
				// which values the mask passed, NaN x included.
				for _, dy := range [][]float32{dy, randTensor(uint64(n)+400, 1, n).Float32s()} {
					grad(masked, z, dy)
					var wa, wb, ga, gb laneSum
					addDyXhat(&wa, &wb, x, masked, mean, inv)
					addDyXhatAct(&ga, &gb, x, dy, mean, inv, k, b, p)
					if !sameSum(ga.result(), wa.result()) || !sameSum(gb.result(), wb.result()) {
						t.Fatalf("%v n=%d k=%g: fused sums %g %g, separate %g %g", a, n, k, ga.result(), gb.result(), wa.result(), wb.result())
					}
				}
			}
		}
	}
}

// TestFusedMaskDefinition pins the mask on hand-picked values against the
// documented semantics (ReLU passes dy where x > 0 or NaN, ReLU6 where
// 0 < x < 6).
func TestFusedMaskDefinition(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	zs := []float32{-1, float32(math.Copysign(0, -1)), 0, 1e-45, 3, 5.9999995, 6, 6.0000005, inf, -inf, nan}
	relu := []bool{false, false, false, true, true, true, true, true, true, false, true}
	relu6 := []bool{false, false, false, true, true, true, false, false, false, false, false}
	for i, z := range zs {
		for _, c := range []struct {
			a    Activation
			want bool
		}{{ActReLU, relu[i]}, {ActReLU6, relu6[i]}} {
			got := c.a.params().maskDy(z, 2.5)
			if (got == 2.5) != c.want || (got != 2.5 && math.Float32bits(got) != 0) {
				t.Errorf("%v: gradient at %g passes %g, want pass=%v (else +0)", c.a, z, got, c.want)
			}
		}
	}
}

// runBatchNormAct runs batch norm and act on one case, as the fused op or
// as BatchNormOp then the activation op (the way the zoo built them), and
// returns y, dx, dscale, dbias and the running mean and variance. dy is the
// gradient of the activation's output.
func runBatchNormAct(t *testing.T, c bnCase, seed uint64, a Activation, fused bool) [][]float32 {
	t.Helper()
	ch := c.shape[1]
	x, dy := randTensor(seed, 2, c.shape...), randTensor(seed+1, 1, c.shape...)
	xv := x.Float32s()
	_, _, hw := splitNCS(c.shape)
	for i := range xv {
		xv[i] += float32((i / hw) % ch)
	}
	s, b := randTensor(seed+2, 1, ch), randTensor(seed+3, 3, ch)
	state := NewBatchNormState(ch)
	state.Training = c.training
	if !c.training {
		for i := range state.Mean {
			state.Mean[i] = float32(i) + 0.25
			state.Var[i] = 0.5 + float32(i)
		}
	}
	do := func(op interface {
		Do(...G.Value) (G.Value, error)
	}, in ...G.Value) G.Value {
		v, err := op.Do(in...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fwd := &BatchNormOp{state: state, dims: c.shape.Dims(), channels: ch}
	var y, bnDy G.Value
	if fused {
		fwd.act = a
		y, bnDy = do(fwd, x, s, b), dy
	} else {
		z := do(fwd, x, s, b)
		if a == ActReLU6 {
			y = do(newReLU6Op(c.shape.Dims()), z)
			bnDy = do(&ClampGradOp{Six: true, dims: c.shape.Dims()}, z, dy)
		} else {
			y = do(newReLUOp(c.shape.Dims()), z)
			bnDy = do(&ClampGradOp{dims: c.shape.Dims()}, z, dy)
		}
	}
	out := [][]float32{slices.Clone(y.Data().([]float32))}
	dx := do(&batchNormGradOp{fwd: fwd, wrt: 0}, x, s, bnDy)
	out = append(out, slices.Clone(dx.Data().([]float32)))
	for wrt := 1; wrt < 3; wrt++ {
		out = append(out, slices.Clone(do(&batchNormGradOp{fwd: fwd, wrt: wrt}, x, s, bnDy, dx).Data().([]float32)))
	}
	return append(out, state.Mean, state.Var)
}

// checkFusedMatchesSeparate compares the fused op with batch norm then the
// activation on every bnCase, on the kernels currently selected.
func checkFusedMatchesSeparate(t *testing.T) {
	names := []string{"y", "dx", "dscale", "dbias", "running mean", "running var"}
	for k, c := range bnCases {
		for _, a := range fusedActs {
			want := runBatchNormAct(t, c, uint64(k)+40, a, false)
			got := runBatchNormAct(t, c, uint64(k)+40, a, true)
			for i := range want {
				if !sameBits32(got[i], want[i]) {
					t.Fatalf("%v training=%v %v: fused %s differs from batch norm then %v", c.shape, c.training, a, names[i], a)
				}
			}
		}
	}
}

func TestBatchNormActMatchesSeparateOps(t *testing.T) { checkFusedMatchesSeparate(t) }

// TestBatchNormActGraphMatchesSeparate builds both forms as graphs and
// compares the machine's values and all three gradients bit for bit, in
// training and then evaluation mode on the same compiled machines.
func TestBatchNormActGraphMatchesSeparate(t *testing.T) {
	for _, a := range fusedActs {
		for _, shape := range []tensor.Shape{{4, 3, 5, 6}, {9, 5}} {
			type run struct {
				m     G.VM
				y     G.Value
				nodes []*G.Node
				st    *BatchNormState
			}
			build := func(fused bool) *run {
				g := G.NewGraph()
				c := shape[1]
				x := G.NodeFromAny(g, randTensor(50, 2, shape...), G.WithName("x"))
				s := G.NodeFromAny(g, randTensor(51, 1, c), G.WithName("s"))
				b := G.NodeFromAny(g, randTensor(52, 1, c), G.WithName("b"))
				st := NewBatchNormState(c)
				var y *G.Node
				if fused {
					y = G.Must(BatchNormAct(x, s, b, st, a))
				} else {
					y = G.Must(BatchNorm(x, s, b, st))
					if a == ActReLU6 {
						y = G.Must(ReLU6(y))
					} else {
						y = G.Must(ReLU(y))
					}
				}
				w := G.NodeFromAny(g, randTensor(53, 1, shape...), G.WithName("w"))
				cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, w))))
				if _, err := G.Grad(cost, x, s, b); err != nil {
					t.Fatal(err)
				}
				r := &run{nodes: []*G.Node{x, s, b}, st: st}
				G.Read(y, &r.y)
				r.m = G.NewTapeMachine(g)
				return r
			}
			sep, fus := build(false), build(true)
			for _, training := range []bool{true, false} {
				for _, r := range []*run{sep, fus} {
					r.st.Training = training
					r.m.Reset()
					if err := r.m.RunAll(); err != nil {
						t.Fatal(err)
					}
				}
				if !sameBits32(fus.y.Data().([]float32), sep.y.Data().([]float32)) {
					t.Fatalf("%v %v training=%v: outputs differ", a, shape, training)
				}
				for i := range sep.nodes {
					gs, _ := sep.nodes[i].Grad()
					gf, _ := fus.nodes[i].Grad()
					if !sameBits32(gf.Data().([]float32), gs.Data().([]float32)) {
						t.Fatalf("%v %v training=%v: gradient %d differs", a, shape, training, i)
					}
				}
				if !sameBits32(fus.st.Mean, sep.st.Mean) || !sameBits32(fus.st.Var, sep.st.Var) {
					t.Fatalf("%v %v training=%v: running statistics differ", a, shape, training)
				}
			}
			sep.m.Close()
			fus.m.Close()
		}
	}
}

// TestBatchNormActGradients checks the fused op's gradients against finite
// differences. The inputs keep every pre-activation value at least 0.1
// from the kinks at 0 and 6 (checked below), where finite differences
// with step 1e-2 stay on one side.
func TestBatchNormActGradients(t *testing.T) {
	for _, a := range fusedActs {
		for _, training := range []bool{true, false} {
			for _, shape := range []tensor.Shape{{2, 3, 2, 2}, {5, 4}} {
				t.Run(fmt.Sprintf("%v/training=%v/%v", a, training, shape), func(t *testing.T) {
					c := shape[1]
					st := NewBatchNormState(c)
					st.Training = training
					build := func(in []*G.Node) (*G.Node, error) { return BatchNormAct(in[0], in[1], in[2], st, a) }
					x := randTensor(61, 1, shape...)
					scale, bias := randTensor(62, 1.5, c), randTensor(63, 2, c)
					if !training {
						for i := range st.Var {
							st.Mean[i], st.Var[i] = 0.2*float32(i), 0.5+0.3*float32(i)
						}
					}
					inputs := []*tensor.Dense{x, scale, bias}
					nudgeFromKinks(t, inputs, st, a)
					checkGrad(t, build, inputs, []bool{true, true, true}, 1e-2, 2e-3, 1e-2)
				})
			}
		}
	}
}

// nudgeFromKinks moves x values whose pre-activation value lies within 0.1
// of a kink of the activation away from it, then fails if any still does.
func nudgeFromKinks(t *testing.T, in []*tensor.Dense, st *BatchNormState, a Activation) {
	t.Helper()
	kinks := []float64{0}
	if a == ActReLU6 {
		kinks = append(kinks, 6)
	}
	near := func() []int {
		z := batchNormRef(in[0], in[1].Float32s(), in[2].Float32s(), st)
		var bad []int
		for i, v := range z {
			for _, k := range kinks {
				if math.Abs(v-k) < 0.1 {
					bad = append(bad, i)
				}
			}
		}
		return bad
	}
	for range 20 {
		bad := near()
		if len(bad) == 0 {
			return
		}
		for _, i := range bad {
			in[0].Float32s()[i] += 0.37
		}
	}
	t.Fatalf("could not move the inputs away from the kinks")
}

// batchNormRef is batch norm's output in float64 (batch statistics when
// st.Training, else running ones), without updating st.
func batchNormRef(x *tensor.Dense, gamma, beta []float32, st *BatchNormState) []float64 {
	n, c, hw := splitNCS(x.Shape())
	xv := x.Float32s()
	out := make([]float64, len(xv))
	for ch := 0; ch < c; ch++ {
		mean, variance := float64(st.Mean[ch]), float64(st.Var[ch])
		if st.Training {
			var s, sq float64
			for i := 0; i < n; i++ {
				for j := 0; j < hw; j++ {
					s += float64(xv[(i*c+ch)*hw+j])
				}
			}
			mean = s / float64(n*hw)
			for i := 0; i < n; i++ {
				for j := 0; j < hw; j++ {
					d := float64(xv[(i*c+ch)*hw+j]) - mean
					sq += d * d
				}
			}
			variance = sq / float64(n*hw)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				p := (i*c+ch)*hw + j
				out[p] = (float64(xv[p])-mean)/math.Sqrt(variance+float64(st.Eps))*float64(gamma[ch]) + float64(beta[ch])
			}
		}
	}
	return out
}

func TestBatchNormActHashAndErrors(t *testing.T) {
	s := NewBatchNormState(3)
	plain := &BatchNormOp{state: s, dims: 4, channels: 3}
	r := &BatchNormOp{state: s, dims: 4, channels: 3, act: ActReLU}
	r6 := &BatchNormOp{state: s, dims: 4, channels: 3, act: ActReLU6}
	if plain.Hashcode() == r.Hashcode() || r.Hashcode() == r6.Hashcode() || plain.Hashcode() == r6.Hashcode() {
		t.Error("batch norm ops with different activations share a hash")
	}
	if r.Hashcode() != (&BatchNormOp{state: s, dims: 4, channels: 3, act: ActReLU}).Hashcode() {
		t.Error("equal fused ops hash differently")
	}
	if !strings.HasPrefix(r6.String(), "BatchNormReLU6(") {
		t.Errorf("String() = %q, want BatchNormReLU6(...)", r6.String())
	}

	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 2, 2), G.WithName("x"))
	sc := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("s"))
	bi := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("b"))
	y1 := G.Must(BatchNorm(x, sc, bi, s))
	y2 := G.Must(BatchNormAct(x, sc, bi, s, ActReLU))
	if y1 == y2 {
		t.Error("batch norm with and without ReLU were merged into one node")
	}
	if got := y2.Op().(*BatchNormOp).Activation(); got != ActReLU {
		t.Errorf("Activation() = %v", got)
	}
	if _, err := BatchNormAct(x, sc, bi, s, Activation(7)); err == nil || !strings.Contains(err.Error(), "unknown activation") {
		t.Errorf("unknown activation: %v", err)
	}
	if _, err := BatchNormAct(x, sc, bi, NewBatchNormState(2), ActReLU); err == nil {
		t.Error("state with the wrong channel count accepted")
	}
}
