package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// vecLengths cover empty, single elements, the 8-float vectors of the
// element-wise kernels and the 16 lanes of the sums, with and without tails.
var vecLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257}

// specialInput returns n values drawn from the cases the activations treat
// specially (±0, 6, NaN, ±Inf, values near 0 and 6) and from random ones.
func specialInput(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	special := []float32{0, float32(math.Copysign(0, -1)), 6, float32(math.NaN()), float32(math.Inf(1)),
		float32(math.Inf(-1)), 1e-30, -1e-30, 5.9999995, 6.0000005, math.MaxFloat32, -math.MaxFloat32}
	v := make([]float32, n)
	for i := range v {
		if r.IntN(3) == 0 {
			v[i] = special[r.IntN(len(special))]
		} else {
			v[i] = float32(r.NormFloat64() * 4)
		}
	}
	return v
}

// TestActivationKernels checks ReLU, ReLU6 and their gradients, element by
// element and bit for bit, against their documented definitions.
func TestActivationKernels(t *testing.T) {
	bits := math.Float32bits
	for _, n := range vecLengths {
		x, dy := specialInput(uint64(n), n), specialInput(uint64(n)+100, n)
		y, dx := make([]float32, n), make([]float32, n)
		y6, dx6 := make([]float32, n), make([]float32, n)
		relu(y, x)
		reluGrad(dx, x, dy)
		relu6(y6, x)
		relu6Grad(dx6, x, dy)
		for i, v := range x {
			isNaN := v != v
			wantY, wantDx := float32(0), float32(0) // +0 where cut off
			if v > 0 || isNaN {
				wantY, wantDx = v, dy[i]
			}
			wantY6, wantDx6 := min(wantY, 6), float32(0)
			if isNaN {
				wantY6 = v
			}
			if v > 0 && v < 6 {
				wantDx6 = dy[i]
			}
			if bits(y[i]) != bits(wantY) || bits(dx[i]) != bits(wantDx) || bits(y6[i]) != bits(wantY6) || bits(dx6[i]) != bits(wantDx6) {
				t.Fatalf("n=%d i=%d x=%g dy=%g: relu %g grad %g, relu6 %g grad %g; want %g %g %g %g",
					n, i, v, dy[i], y[i], dx[i], y6[i], dx6[i], wantY, wantDx, wantY6, wantDx6)
			}
		}
	}
}

// bnCase is a batch norm input: shape, and whether to use batch statistics.
type bnCase struct {
	shape    tensor.Shape
	training bool
}

// bnCases cover both layouts, odd channel counts, planes that are not a
// multiple of 8 or 16, planes longer than the vectors, and 1 element.
var bnCases = []bnCase{
	{tensor.Shape{3, 5, 3, 7}, true}, {tensor.Shape{2, 3, 9, 9}, true}, {tensor.Shape{2, 3, 4, 4}, true},
	{tensor.Shape{4, 6, 28, 28}, true}, {tensor.Shape{2, 1, 1, 1}, true}, {tensor.Shape{4, 7}, true},
	{tensor.Shape{33, 3}, true}, {tensor.Shape{3, 5, 3, 7}, false}, {tensor.Shape{1, 1, 1, 1}, false},
	{tensor.Shape{1, 1}, false}, {tensor.Shape{5, 7}, false},
}

// runBatchNorm runs the forward op and the three gradient ops (dx first,
// as a graph orders them) and returns y, dx, dscale, dbias and the state.
func runBatchNorm(t *testing.T, c bnCase, seed uint64) (state *BatchNormState, out [4][]float32) {
	t.Helper()
	ch := c.shape[1]
	x, dy := randTensor(seed, 2, c.shape...), randTensor(seed+1, 1, c.shape...)
	// Shift the channels apart so the means matter.
	xv := x.Float32s()
	_, _, hw := splitNCS(c.shape)
	for i := range xv {
		xv[i] += float32((i / hw) % ch)
	}
	s, b := randTensor(seed+2, 1, ch), randTensor(seed+3, 1, ch)
	state = NewBatchNormState(ch)
	state.Training = c.training
	if !c.training {
		for i := range state.Mean {
			state.Mean[i] = float32(i) + 0.25
			state.Var[i] = 0.5 + float32(i)
		}
	}
	fwd := &BatchNormOp{state: state, dims: c.shape.Dims(), channels: ch}
	y, err := fwd.Do(x, s, b)
	if err != nil {
		t.Fatal(err)
	}
	out[0] = append([]float32(nil), y.Data().([]float32)...)
	for wrt := 0; wrt < 3; wrt++ {
		in := []G.Value{x, s, dy, x}[:(&batchNormGradOp{wrt: wrt}).Arity()]
		g, err := (&batchNormGradOp{fwd: fwd, wrt: wrt}).Do(in...)
		if err != nil {
			t.Fatal(err)
		}
		out[wrt+1] = append([]float32(nil), g.Data().([]float32)...)
	}
	return state, out
}

// TestBatchNormAgainstFloat64 checks the forward op (batch and running
// statistics), the running statistics' update and the three gradients
// against the definitions evaluated in float64.
func TestBatchNormAgainstFloat64(t *testing.T) {
	for k, c := range bnCases {
		seed := uint64(10 * (k + 1))
		state, got := runBatchNorm(t, c, seed)
		x, dy := randTensor(seed, 2, c.shape...).Float32s(), randTensor(seed+1, 1, c.shape...).Float32s()
		n, ch, hw := splitNCS(c.shape)
		for i := range x {
			x[i] += float32((i / hw) % ch)
		}
		gamma, beta := randTensor(seed+2, 1, ch).Float32s(), randTensor(seed+3, 1, ch).Float32s()
		m := float64(n * hw)
		idx := func(i, c, j int) int { return (i*ch+c)*hw + j }
		for cc := 0; cc < ch; cc++ {
			mean, variance := float64(cc)+0.25, 0.5+float64(cc)
			var sum, sq float64
			for i := 0; i < n; i++ {
				for j := 0; j < hw; j++ {
					sum += float64(x[idx(i, cc, j)])
				}
			}
			for i := 0; i < n; i++ {
				for j := 0; j < hw; j++ {
					d := float64(x[idx(i, cc, j)]) - sum/m
					sq += d * d
				}
			}
			if c.training {
				mean, variance = sum/m, sq/m
				wantMean, wantVar := 0.1*mean, 0.9+0.1*sq/(m-1)
				if !near(float64(state.Mean[cc]), wantMean, 1e-6*(1+math.Abs(wantMean))) || !near(float64(state.Var[cc]), wantVar, 1e-6*wantVar) {
					t.Errorf("%v channel %d: running mean, var %g %g; want %g %g", c.shape, cc, state.Mean[cc], state.Var[cc], wantMean, wantVar)
				}
			}
			inv := 1 / math.Sqrt(variance+1e-5)
			var sdy, sdyx, sabs float64
			for i := 0; i < n; i++ {
				for j := 0; j < hw; j++ {
					p := idx(i, cc, j)
					xhat := (float64(x[p]) - mean) * inv
					sdy += float64(dy[p])
					sdyx += float64(dy[p]) * xhat
					sabs += math.Abs(float64(dy[p])) * (1 + math.Abs(xhat))
					want := float64(gamma[cc])*xhat + float64(beta[cc])
					if !near(float64(got[0][p]), want, 2e-6*(1+math.Abs(want))) {
						t.Fatalf("%v training=%v: y[%d] = %g, want %g", c.shape, c.training, p, got[0][p], want)
					}
				}
			}
			if !near(float64(got[2][cc]), sdyx, 1e-6*sabs) || !near(float64(got[3][cc]), sdy, 1e-6*sabs) {
				t.Errorf("%v training=%v channel %d: dscale, dbias %g %g; want %g %g", c.shape, c.training, cc, got[2][cc], got[3][cc], sdyx, sdy)
			}
			for i := 0; i < n; i++ {
				for j := 0; j < hw; j++ {
					p := idx(i, cc, j)
					want := float64(dy[p])
					if c.training {
						xhat := (float64(x[p]) - mean) * inv
						want = float64(dy[p]) - sdy/m - xhat*sdyx/m
					}
					want *= float64(gamma[cc]) * inv
					if !near(float64(got[1][p]), want, 1e-5*(1+math.Abs(want))*float64(1+math.Abs(float64(gamma[cc]))*inv)) {
						t.Fatalf("%v training=%v: dx[%d] = %g, want %g", c.shape, c.training, p, got[1][p], want)
					}
				}
			}
		}
	}
}
