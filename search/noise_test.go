package search

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// noiseRun is the result of one forward and backward pass of
// cost = Σ LearnedNoise(x·W, σ) ⊙ C.
type noiseResult struct {
	cost   float64
	out    []float64
	dSigma float64
	dW     []float64
	runs   uint64
}

type noiseCase struct {
	dt          tensor.Dtype
	x, w, c     []float64
	batch, in   int
	outs        int
	sigma       float64
	seed        uint64
	threads     int
	training    bool
	startRun    uint64
	identityMul bool // y = x (w unused): outputs of any size, no matmul
}

func tensorOf(dt tensor.Dtype, v []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float64 {
		return tensor.New(tensor.WithBacking(append([]float64(nil), v...)), tensor.WithShape(shape...))
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return tensor.New(tensor.WithBacking(f), tensor.WithShape(shape...))
}

func valuesOf(t *testing.T, v gorgonia.Value) []float64 {
	t.Helper()
	f, err := tensorFloats(v, "test")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, f.len())
	for i := range out {
		out[i] = f.at(i)
	}
	return out
}

func runNoise(t *testing.T, c noiseCase) noiseResult {
	t.Helper()
	g := gorgonia.NewGraph()
	x := gorgonia.NodeFromAny(g, tensorOf(c.dt, c.x, c.batch, c.in), gorgonia.WithName("x"))
	var sigma *gorgonia.Node
	if c.dt == tensor.Float64 {
		sigma = gorgonia.NewScalar(g, c.dt, gorgonia.WithName("sigma"), gorgonia.WithValue(c.sigma))
	} else {
		sigma = gorgonia.NewScalar(g, c.dt, gorgonia.WithName("sigma"), gorgonia.WithValue(float32(c.sigma)))
	}
	wrt := gorgonia.Nodes{sigma}
	y := x
	var w *gorgonia.Node
	outShape := []int{c.batch, c.in}
	if !c.identityMul {
		w = gorgonia.NodeFromAny(g, tensorOf(c.dt, c.w, c.in, c.outs), gorgonia.WithName("w"))
		var err error
		if y, err = gorgonia.Mul(x, w); err != nil {
			t.Fatal(err)
		}
		wrt = append(wrt, w)
		outShape = []int{c.batch, c.outs}
	}
	out, op, err := LearnedNoise(y, sigma, "layer", c.seed, c.threads)
	if err != nil {
		t.Fatal(err)
	}
	op.SetTraining(c.training)
	op.SetRuns(c.startRun)
	cn := gorgonia.NodeFromAny(g, tensorOf(c.dt, c.c, outShape...), gorgonia.WithName("c"))
	prod, err := gorgonia.HadamardProd(out, cn)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(cost, wrt...); err != nil {
		t.Fatal(err)
	}
	var outVal gorgonia.Value
	gorgonia.Read(out, &outVal)
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(wrt...))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	var r noiseResult
	if r.cost, _, err = scalarValue(cost.Value(), "cost"); err != nil {
		t.Fatal(err)
	}
	r.out = valuesOf(t, outVal)
	gs, err := sigma.Grad()
	if err != nil {
		t.Fatal(err)
	}
	if r.dSigma, _, err = scalarValue(gs, "d sigma"); err != nil {
		t.Fatal(err)
	}
	if w != nil {
		gw, err := w.Grad()
		if err != nil {
			t.Fatal(err)
		}
		r.dW = valuesOf(t, gw)
	}
	r.runs = op.Runs()
	return r
}

func randomValues(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Float64()*2 - 1
	}
	return v
}

func smallLayer(dt tensor.Dtype) noiseCase {
	const batch, in, outs = 4, 5, 3
	return noiseCase{dt: dt, batch: batch, in: in, outs: outs,
		x: randomValues(1, batch*in), w: randomValues(2, in*outs), c: randomValues(3, batch*outs),
		sigma: 0.4, seed: 11, threads: 1, training: true}
}

// The gradient reaches sigma and, through y and std(y), the layer's
// weights: both agree with central finite differences of the cost with
// the noise fixed by the seed.
func TestLearnedNoiseFiniteDifferences(t *testing.T) {
	base := smallLayer(tensor.Float64)
	r := runNoise(t, base)
	const h = 1e-6
	at := func(mod func(*noiseCase)) float64 {
		c := base
		c.w = append([]float64(nil), base.w...)
		mod(&c)
		return runNoise(t, c).cost
	}
	fd := (at(func(c *noiseCase) { c.sigma += h }) - at(func(c *noiseCase) { c.sigma -= h })) / (2 * h)
	if math.Abs(fd-r.dSigma) > 1e-7*math.Max(1, math.Abs(fd)) {
		t.Errorf("d cost/d sigma = %v, finite difference %v", r.dSigma, fd)
	}
	if r.dSigma == 0 {
		t.Error("sigma got no gradient")
	}
	for i := range base.w {
		fd := (at(func(c *noiseCase) { c.w[i] += h }) - at(func(c *noiseCase) { c.w[i] -= h })) / (2 * h)
		if math.Abs(fd-r.dW[i]) > 1e-7*math.Max(1, math.Abs(fd)) {
			t.Errorf("d cost/d w[%d] = %v, finite difference %v", i, r.dW[i], fd)
		}
	}
	// Without the flow through std(y) the weight gradient would differ:
	// check that the term matters here, so the comparison above tests it.
	noStd := base
	noStd.sigma = 0
	if r0 := runNoise(t, noStd); closeAll(r0.dW, r.dW, 1e-9) {
		t.Error("the std(y) term does not change the weight gradient; the test cannot see it")
	}
}

func closeAll(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// The float32 op computes what the float64 op computes, to float32
// precision.
func TestLearnedNoiseFloat32MatchesFloat64(t *testing.T) {
	r64 := runNoise(t, smallLayer(tensor.Float64))
	r32 := runNoise(t, smallLayer(tensor.Float32))
	if !closeAll(r32.out, r64.out, 1e-5) || !closeAll(r32.dW, r64.dW, 1e-4) || math.Abs(r32.dSigma-r64.dSigma) > 1e-4 {
		t.Errorf("float32 %+v\nfloat64 %+v", r32, r64)
	}
}

// The noise has the asked relative spread: (out − y)/(std(y)·σ) is a
// standard normal sample.
func TestLearnedNoiseSpread(t *testing.T) {
	const n = 50000
	c := noiseCase{dt: tensor.Float64, batch: 1, in: n, x: randomValues(5, n), c: randomValues(6, n),
		sigma: 0.3, seed: 3, threads: 2, training: true, identityMul: true}
	r := runNoise(t, c)
	var mean, sq float64
	for _, v := range c.x {
		mean += v
	}
	mean /= n
	for _, v := range c.x {
		sq += (v - mean) * (v - mean)
	}
	std := math.Sqrt(sq / (n - 1))
	var m1, m2 float64
	for i, v := range r.out {
		z := (v - c.x[i]) / (std * c.sigma)
		m1 += z
		m2 += z * z
	}
	m1 /= n
	m2 = m2/n - m1*m1
	// A standard normal sample of 50000: mean within 4.5/sqrt(n), variance
	// within 4.5·sqrt(2/n).
	if math.Abs(m1) > 4.5/math.Sqrt(n) || math.Abs(m2-1) > 4.5*math.Sqrt(2.0/n) {
		t.Errorf("normalised noise has mean %v and variance %v", m1, m2)
	}
}

// Outputs and gradients are bit-identical for 1, 2 and 3 threads on an
// output of several chunks.
func TestLearnedNoiseThreadIndependent(t *testing.T) {
	const batch, in = 3, NoiseChunk + 9 // four chunks, the last short
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		var ref noiseResult
		for threads := 1; threads <= 3; threads++ {
			c := noiseCase{dt: dt, batch: batch, in: in, x: randomValues(8, batch*in), c: randomValues(9, batch*in),
				sigma: 0.2, seed: 99, threads: threads, training: true, identityMul: true}
			r := runNoise(t, c)
			if threads == 1 {
				ref = r
				continue
			}
			if r.dSigma != ref.dSigma || r.cost != ref.cost {
				t.Errorf("%v, %d threads: d sigma %v cost %v; 1 thread: %v %v", dt, threads, r.dSigma, r.cost, ref.dSigma, ref.cost)
			}
			for i := range r.out {
				if r.out[i] != ref.out[i] {
					t.Fatalf("%v, %d threads: output %d is %v, 1 thread %v", dt, threads, i, r.out[i], ref.out[i])
				}
			}
		}
	}
}

// The noise depends on the seed and the run index only: run k of a
// resumed op repeats run k, and different runs and seeds differ.
func TestLearnedNoiseRunsAndSeeds(t *testing.T) {
	c := smallLayer(tensor.Float64)
	a := runNoise(t, c)
	if a.runs != 1 {
		t.Errorf("one noisy run counted %d", a.runs)
	}
	again := runNoise(t, c)
	if !closeAll(a.out, again.out, 0) {
		t.Error("the same seed and run index gave different noise")
	}
	c.startRun = 1
	b := runNoise(t, c)
	if closeAll(a.out, b.out, 1e-12) {
		t.Error("runs 0 and 1 drew the same noise")
	}
	c.startRun, c.seed = 0, 12
	if closeAll(a.out, runNoise(t, c).out, 1e-12) {
		t.Error("seeds 11 and 12 drew the same noise")
	}
}

// Out of training the op is the identity and sigma gets no gradient.
func TestLearnedNoiseEvaluation(t *testing.T) {
	c := smallLayer(tensor.Float64)
	c.training = false
	r := runNoise(t, c)
	exact := c
	exact.sigma = 0
	exact.training = true
	e := runNoise(t, exact)
	if !closeAll(r.out, e.out, 1e-15) || !closeAll(r.dW, e.dW, 1e-15) || r.dSigma != 0 || r.runs != 0 {
		t.Errorf("evaluation run: out %v dW %v dSigma %v runs %d; want out %v dW %v, no sigma gradient, no run", r.out, r.dW, r.dSigma, r.runs, e.out, e.dW)
	}
}

func TestLearnedNoiseErrorsAndHash(t *testing.T) {
	g := gorgonia.NewGraph()
	y := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 3), gorgonia.WithName("y"))
	s64 := gorgonia.NewScalar(g, tensor.Float64, gorgonia.WithName("s64"))
	v := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(2), gorgonia.WithName("v"))
	for _, c := range []struct {
		err  error
		want string
	}{
		{errOf3(LearnedNoise(y, s64, "conv1", 1, 0)), "sigma is float64"},
		{errOf3(LearnedNoise(y, v, "conv1", 1, 0)), "must be a scalar"},
		{errOf3(LearnedNoise(nil, v, "conv1", 1, 0)), "needs the output"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) || !strings.Contains(c.err.Error(), "conv1") {
			t.Errorf("error %v, want one naming conv1 and containing %q", c.err, c.want)
		}
	}
	a := NewLearnedNoiseOp("l", 1, 2, 0)
	for _, b := range []*LearnedNoiseOp{NewLearnedNoiseOp("m", 1, 2, 0), NewLearnedNoiseOp("l", 2, 2, 0),
		NewLearnedNoiseOp("l", 1, 4, 0), NewLearnedNoiseOp("l", 1, 2, 3), NewLearnedNoiseOp("l", 1, 2, 0)} {
		if a.Hashcode() == b.Hashcode() {
			t.Errorf("%+v hashes like %+v", b, a)
		}
	}
	ga := &LearnedNoiseGradOp{Wrt: 0, ID: "l", Dims: 2, run: a.run}
	gb := &LearnedNoiseGradOp{Wrt: 1, ID: "l", Dims: 2, run: a.run}
	if ga.Hashcode() == gb.Hashcode() {
		t.Error("gradient op hash ignores Wrt")
	}
	if _, err := ga.Do(nil, nil, nil); err != errNoForward {
		t.Errorf("gradient before forward: %v", err)
	}
}

func errOf3[A, B any](_ A, _ B, err error) error { return err }
