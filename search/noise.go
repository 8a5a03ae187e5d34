package search

import (
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/values"
	"hash"
	"math"
	randv2 "math/rand/v2"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/parallel"
)

// LearnedNoise adds trainable relative noise after a layer's output y:
//
//	out = y + N(0,1)·std(y)·σ
//
// with σ a scalar node (or a one-element tensor) of y's dtype (float32 or float64) that the search
// trains, std(y) the unbiased standard deviation over the whole batch (as
// torch.std and ops' Noise mode compute it). The gradient reaches σ
// (d out_i/d σ = n_i·std(y)) and y, including the flow through std(y):
// TorchApprox's noise_fwd computes torch.randn_like(y)·torch.std(y)·stdev
// without detaching std(y), and ops' Noise mode does the same.
//
// The noise of a run depends only on seed and the run's index, drawn in
// chunks of fixed size from generator streams of their own and summed in
// order, so it is the same for any number of threads; id names the layer in
// errors. The returned op switches the noise off for evaluation
// (SetTraining) and sets the run index when a search resumes (SetRuns).
func LearnedNoise(y, sigma *gorgonia.Node, id string, seed uint64, threads int) (*gorgonia.Node, *LearnedNoiseOp, error) {
	if y == nil || sigma == nil {
		return nil, nil, fmt.Errorf("search: learned noise of layer %q needs the output and sigma nodes", id)
	}
	if !isScalarShape(sigma.Shape()) {
		return nil, nil, fmt.Errorf("search: sigma node %s of layer %q has shape %v; it must be a scalar", sigma.Name(), id, sigma.Shape())
	}
	if y.Dtype() != sigma.Dtype() {
		return nil, nil, fmt.Errorf("search: layer %q output is %v but its sigma is %v", id, y.Dtype(), sigma.Dtype())
	}
	if y.Dtype() != tensor.Float32 && y.Dtype() != tensor.Float64 {
		return nil, nil, fmt.Errorf("search: layer %q output is %v; learned noise needs float32 or float64", id, y.Dtype())
	}
	if y.Shape().Dims() < 1 {
		return nil, nil, fmt.Errorf("search: layer %q output is a scalar; learned noise needs a tensor", id)
	}
	op := NewLearnedNoiseOp(id, seed, y.Shape().Dims(), threads)
	op.SigmaDims = sigma.Shape().Dims()
	out, err := gorgonia.ApplyOp(op, y, sigma)
	if err != nil {
		return nil, nil, err
	}
	return out, op, nil
}

// NoiseChunk is the number of outputs whose noise one generator stream
// draws; chunks are drawn and summed in parallel and added in order.
const NoiseChunk = 1 << 13

// LearnedNoiseOp is the op LearnedNoise builds. ID names the layer, Seed
// fixes the noise, Dims is the output's rank and Threads bounds the workers
// (0: all cores). SigmaDims is the rank of the sigma node: 0 for a
// scalar, 1 for a one-element vector (the form an optimizer that updates
// tensors trains). The op's run state (training switch, run index, what the
// gradient of the last run needs) is its own: two ops never share noise.
type LearnedNoiseOp struct {
	ID        string
	Seed      uint64
	Dims      int
	SigmaDims int
	Threads   int
	run       *noiseRun
}

// NewLearnedNoiseOp returns the op for an output of rank dims, in training
// (noise on) at run 0.
func NewLearnedNoiseOp(id string, seed uint64, dims, threads int) *LearnedNoiseOp {
	return &LearnedNoiseOp{ID: id, Seed: seed, Dims: dims, Threads: threads, run: &noiseRun{training: true}}
}

// SetTraining switches the noise on (training) or off (evaluation: the op
// passes y through and σ gets no gradient).
func (op *LearnedNoiseOp) SetTraining(on bool) { op.run.training = on }

// Training reports whether the noise is on.
func (op *LearnedNoiseOp) Training() bool { return op.run.training }

// Runs is the number of forward runs that drew noise; the next one draws
// the noise of run index Runs().
func (op *LearnedNoiseOp) Runs() uint64 { return op.run.runs }

// SetRuns sets the index of the next noisy run, so that a resumed search
// draws the noise it would have drawn without the interruption.
func (op *LearnedNoiseOp) SetRuns(n uint64) { op.run.runs = n }

// runSeed mixes the op's seed and a run index into the seed of that run's
// streams (SplitMix64's finaliser, so neighbouring indices give unrelated
// seeds).
func runSeed(seed, run uint64) uint64 {
	z := seed + (run+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// noiseRun is the state of one LearnedNoiseOp: the switch, the run index,
// and the record of the last forward run its gradient ops read.
type noiseRun struct {
	training bool
	runs     uint64

	ran       bool
	noisy     bool
	n         int
	sigma     float64
	mean, std float64
	draws     []float64 // the standard normal draws
	centred   []float64 // y − mean
	partial   []float64 // per chunk: a partial sum
	out       *tensor.Dense
}

// chunkSum returns Σ over the chunks of n items of f(lo, hi), chunks
// computed in parallel and added in chunk order.
func (r *noiseRun) chunkSum(n, threads int, f func(lo, hi int) float64) float64 {
	chunks := (n + NoiseChunk - 1) / NoiseChunk
	if cap(r.partial) < chunks {
		r.partial = make([]float64, chunks)
	}
	r.partial = r.partial[:chunks]
	parallel.Run(chunks, threads, 1, parallel.Func(func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			r.partial[c] = f(c*NoiseChunk, min((c+1)*NoiseChunk, n))
		}
	}))
	var sum float64
	for _, v := range r.partial {
		sum += v
	}
	return sum
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func (op *LearnedNoiseOp) Arity() int { return 2 }
func (op *LearnedNoiseOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := gorgonia.TensorType{Dims: op.Dims, Of: a}
	return hm.NewFnType(t, sigmaType(op.SigmaDims, a), t)
}

// sigmaType is the type of a sigma node of rank dims holding a.
func sigmaType(dims int, a hm.Type) hm.Type {
	if dims == 0 {
		return a
	}
	return gorgonia.TensorType{Dims: dims, Of: a}
}
func (op *LearnedNoiseOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("search learned noise %q: %d inputs, expected the output and sigma", op.ID, len(in))
	}
	s, err := values.Shape(in[0], -1, "search learned noise input")
	if err != nil {
		return nil, err
	}
	if s.Dims() != op.Dims {
		return nil, fmt.Errorf("search learned noise %q: input shape %v; the op was built for %d dimensions", op.ID, s, op.Dims)
	}
	sg, err := values.Shape(in[1], -1, "search learned noise sigma")
	if err != nil {
		return nil, err
	}
	if !isScalarShape(sg) {
		return nil, fmt.Errorf("search learned noise %q: sigma has shape %v; expected a scalar", op.ID, sg)
	}
	return s.Clone(), nil
}

func (op *LearnedNoiseOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("search learned noise %q: %d inputs, expected 2", op.ID, len(in))
	}
	y, err := tensorFloats(in[0], "search learned noise input")
	if err != nil {
		return nil, err
	}
	sigma, sdt, err := scalarValue(in[1], "search learned noise sigma")
	if err != nil {
		return nil, err
	}
	if sdt != y.dtype() {
		return nil, fmt.Errorf("search learned noise %q: input is %v but sigma is %v", op.ID, y.dtype(), sdt)
	}
	if math.IsNaN(sigma) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("search learned noise %q: sigma is %v; lower the learning rate or lambda", op.ID, sigma)
	}
	r := op.run
	n := y.len()
	r.ran, r.noisy, r.n, r.sigma = true, r.training, n, sigma
	out := r.output(y)
	if !r.training {
		copyInto(out, y)
		return r.out, nil
	}
	threads := op.Threads
	r.mean = r.chunkSum(n, threads, func(lo, hi int) float64 {
		var s float64
		for i := lo; i < hi; i++ {
			s += y.at(i)
		}
		return s
	}) / float64(n)
	r.centred = grow(r.centred, n)
	ss := r.chunkSum(n, threads, func(lo, hi int) float64 {
		var s float64
		for i := lo; i < hi; i++ {
			d := y.at(i) - r.mean
			r.centred[i] = d
			s += d * d
		}
		return s
	})
	r.std = 0
	if n > 1 {
		r.std = math.Sqrt(ss / float64(n-1))
	}
	seed := runSeed(op.Seed, r.runs)
	r.runs++
	r.draws = grow(r.draws, n)
	scale := r.std * sigma
	chunks := (n + NoiseChunk - 1) / NoiseChunk
	parallel.Run(chunks, threads, 1, parallel.Func(func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			rng := randv2.New(randv2.NewPCG(seed, uint64(c)))
			for i := c * NoiseChunk; i < min((c+1)*NoiseChunk, n); i++ {
				d := rng.NormFloat64()
				r.draws[i] = d
				v := y.at(i) + d*scale
				if out.f32 != nil {
					out.f32[i] = float32(v)
				} else {
					out.f64[i] = v
				}
			}
		}
	}))
	return r.out, nil
}

// output returns the run's output buffer for an input like y, reused from
// the previous run when it fits (a result is valid until the next run, as
// for any Gorgonia value).
func (r *noiseRun) output(y floats) floats {
	if r.out == nil || r.out.Dtype() != y.dtype() || !r.out.Shape().Eq(y.shape) || r.out.Shape().TotalSize() != y.len() {
		r.out = tensor.New(tensor.Of(y.dtype()), tensor.WithShape(y.shape.Clone()...))
	}
	if y.f32 != nil {
		return floats{f32: r.out.Float32s(), shape: y.shape}
	}
	return floats{f64: r.out.Float64s(), shape: y.shape}
}

func copyInto(dst, src floats) {
	if dst.f32 != nil {
		copy(dst.f32, src.f32)
	} else {
		copy(dst.f64, src.f64)
	}
}

func (op *LearnedNoiseOp) ReturnsPtr() bool     { return false }
func (op *LearnedNoiseOp) CallsExtern() bool    { return false }
func (op *LearnedNoiseOp) OverwritesInput() int { return -1 }

// WriteHash covers the run state by identity: two ops with equal settings
// but their own states are different ops (their noise runs and training
// switches are separate), and must not be merged into one node.
func (op *LearnedNoiseOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "search.LearnedNoise(id=%q seed=%d dims=%d sigmadims=%d threads=%d run=%p)", op.ID, op.Seed, op.Dims, op.SigmaDims, op.Threads, op.run)
}
func (op *LearnedNoiseOp) Hashcode() uint32 { return values.Hash(op.WriteHash) }
func (op *LearnedNoiseOp) String() string   { return fmt.Sprintf("LearnedNoise(%s)", op.ID) }

func (op *LearnedNoiseOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

func (op *LearnedNoiseOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("search learned noise %q: %d inputs, expected 2", op.ID, len(inputs))
	}
	out := make(gorgonia.Nodes, 2)
	for wrt := range out {
		g, err := gorgonia.ApplyOp(&LearnedNoiseGradOp{Wrt: wrt, ID: op.ID, Dims: op.Dims, SigmaDims: op.SigmaDims, Threads: op.Threads, run: op.run}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
		}
		out[wrt] = g
	}
	return out, nil
}

// LearnedNoiseGradOp is the gradient of a LearnedNoiseOp's last forward run
// with respect to its input (Wrt 0) or its sigma (Wrt 1), from the inputs
// and the upstream gradient g:
//
//	d/dy_i = g_i + σ·(Σ_j g_j·n_j)·(y_i − mean)/((N−1)·std)   (0 when std is 0)
//	d/dσ   = std·Σ_j g_j·n_j
//
// the second term of d/dy_i being the flow through std(y).
type LearnedNoiseGradOp struct {
	Wrt       int
	ID        string
	Dims      int
	SigmaDims int
	Threads   int
	run       *noiseRun
	out       *tensor.Dense // result buffer reused between runs
}

var errNoForward = errors.New("search: a learned-noise gradient ran before its forward op: run the forward pass first")

func (op *LearnedNoiseGradOp) Arity() int { return 3 }
func (op *LearnedNoiseGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := gorgonia.TensorType{Dims: op.Dims, Of: a}
	s := sigmaType(op.SigmaDims, a)
	if op.Wrt == 0 {
		return hm.NewFnType(t, s, t, t)
	}
	return hm.NewFnType(t, s, t, s)
}
func (op *LearnedNoiseGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("search learned noise gradient %q: %d inputs, expected y, sigma and the upstream gradient", op.ID, len(in))
	}
	s, err := values.Shape(in[op.Wrt], -1, "search learned noise gradient input")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *LearnedNoiseGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("search learned noise gradient %q: %d inputs, expected 3", op.ID, len(in))
	}
	r := op.run
	if !r.ran {
		return nil, errNoForward
	}
	g, err := tensorFloats(in[2], "search learned noise upstream gradient")
	if err != nil {
		return nil, err
	}
	if g.len() != r.n {
		return nil, fmt.Errorf("search learned noise gradient %q: %d upstream gradients for %d outputs", op.ID, g.len(), r.n)
	}
	var gn float64
	if r.noisy {
		gn = r.chunkSum(r.n, op.Threads, func(lo, hi int) float64 {
			var s float64
			for i := lo; i < hi; i++ {
				s += g.at(i) * r.draws[i]
			}
			return s
		})
	}
	if op.Wrt == 1 {
		_, dt, err := scalarValue(in[1], "search learned noise sigma")
		if err != nil {
			return nil, err
		}
		d := r.std * gn
		if !r.noisy {
			d = 0
		}
		if t, ok := in[1].(*tensor.Dense); ok {
			out := tensor.New(tensor.Of(dt), tensor.WithShape(t.Shape().Clone()...))
			if dt == tensor.Float64 {
				out.Float64s()[0] = d
			} else {
				out.Float32s()[0] = float32(d)
			}
			return out, nil
		}
		return newScalar(d, dt), nil
	}
	if op.out == nil || op.out.Dtype() != g.dtype() || !op.out.Shape().Eq(g.shape) {
		op.out = tensor.New(tensor.Of(g.dtype()), tensor.WithShape(g.shape.Clone()...))
	}
	out := op.out
	dst := floats{shape: g.shape}
	if g.f32 != nil {
		dst.f32 = out.Float32s()
	} else {
		dst.f64 = out.Float64s()
	}
	copyInto(dst, g)
	if !r.noisy || r.std == 0 || r.sigma == 0 {
		return out, nil
	}
	c := r.sigma * gn / (float64(r.n-1) * r.std)
	parallel.Run(r.n, op.Threads, NoiseChunk, parallel.Func(func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			v := g.at(i) + c*r.centred[i]
			if dst.f32 != nil {
				dst.f32[i] = float32(v)
			} else {
				dst.f64[i] = v
			}
		}
	}))
	return out, nil
}
func (op *LearnedNoiseGradOp) ReturnsPtr() bool     { return false }
func (op *LearnedNoiseGradOp) CallsExtern() bool    { return false }
func (op *LearnedNoiseGradOp) OverwritesInput() int { return -1 }
func (op *LearnedNoiseGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "search.LearnedNoiseGrad(wrt=%d id=%q dims=%d sigmadims=%d threads=%d run=%p)", op.Wrt, op.ID, op.Dims, op.SigmaDims, op.Threads, op.run)
}
func (op *LearnedNoiseGradOp) Hashcode() uint32 { return values.Hash(op.WriteHash) }
func (op *LearnedNoiseGradOp) String() string {
	return fmt.Sprintf("LearnedNoiseGrad(%s, wrt=%d)", op.ID, op.Wrt)
}
