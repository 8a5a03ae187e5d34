package ops

import (
	"errors"
	"fmt"
	"math"
	randv2 "math/rand/v2"

	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/values"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/quantize"
)

// runRecord is what the forward run of one op node leaves for the gradient
// ops of the same node: the mode and parameters it used (observers may have
// changed the state's), the noise it added, and the quantized inputs. One
// record per node keeps a layer applied twice in one graph correct. It also
// owns the node's scratch memory, reused from run to run.
type runRecord struct {
	ran    bool
	mode   Mode
	grad   Gradient   // the state's gradient choice at the forward run
	table  *lut.Table // the table the forward run used (nil outside Approximate and Surrogate mode)
	both   fusedGrads // a linear node's two table gradients, computed in one pass
	xp, wp quantize.Params
	noise  *noiseRecord // nil when no noise was added
	// grads is set when gradient ops were added for the node: the forward
	// run then keeps the fake-quantized inputs and masks they need.
	grads bool
	// checkXLater: begin left x's check for NaN and infinities to
	// quantizeInputs.
	checkXLater bool
	x, w        operand

	noiseBuf noiseRecord
	acc      []int32
	facc     []float32 // the surrogate's sums (Surrogate mode)
	sums     []int64   // code sums of rows (linear) or weight channels (conv)
	corr     []int64   // a convolution's per-channel rescale (convRescale)
	scales   []float64
	wT       []byte // InOut linear weights transposed to one row per output
	workers  []convScratch

	// The runs of the generic (float64, vector weight) code.
	g32 *recordG[float32]
	g64 *recordG[float64]
}

// operand is one input of a run after quantization, with the identity of
// the data it was computed from so that the gradient ops of the same run
// can reuse it instead of quantizing again.
type operand struct {
	src    *float32 // &values[0] of the quantized data; nil when none
	n      int
	params *quantize.Params // the parameters used (the record's)
	q      quantized        // the outputs computed; nil slices were not

	bytes []byte // backing memory of q, kept between runs
	fq    []float32
	mask  []bool
}

// quantize quantizes values with p into the operand's buffers, computing
// table indices, fake-quantized values and masks as asked.
func (o *operand) quantize(p *quantize.Params, values []float32, shape []int, hist *[256]int64, threads int, bytes, fq, mask bool) {
	n := len(values)
	o.q = quantized{}
	if bytes {
		o.bytes = grow(o.bytes, n)
		o.q.bytes = o.bytes
	}
	if fq {
		o.fq = grow(o.fq, n)
		o.q.fq = o.fq
	}
	if mask {
		o.mask = grow(o.mask, n)
		o.q.mask = o.mask
	}
	quantizeTensor(&o.q, *p, values, shape, hist, threads)
	o.src, o.n, o.params = nil, n, p
	if n > 0 {
		o.src = &values[0]
	}
}

// forget marks the operand as holding nothing.
func (o *operand) forget() { o.src, o.n, o.q = nil, 0, quantized{} }

// holds reports whether the operand quantized exactly these data with p
// and computed the masks and the fake-quantized values (or, with
// codesWill, at least the table indices).
func (o *operand) holds(values []float32, p *quantize.Params, codesWill bool) bool {
	return o.src != nil && len(values) == o.n && &values[0] == o.src && o.params == p &&
		o.q.mask != nil && (o.q.fq != nil || codesWill && o.q.bytes != nil)
}

// NonFiniteError reports a NaN or an infinity in an operand of a layer in
// a mode that quantizes its operands: quantization would turn it into a
// code (the zero point) without a trace, and training would go on with a
// network that no longer computes what its weights say. Observe mode
// reports them too: its observers would take them into their ranges.
type NonFiniteError struct {
	Layer   string  // LayerState.ID
	Operand string  // "input" or "weight"
	Index   int     // of the first such element, in row-major order
	Value   float32 // NaN, +Inf or -Inf
	Mode    Mode
}

func (e *NonFiniteError) Error() string {
	what := "would quantize to a code as if it were a number"
	if e.Mode == Observe {
		what = "would hand to the observers as if it were a number, spoiling the quantization ranges"
	}
	return fmt.Sprintf("ops: layer %s: its %s holds %v at element %d, which %s mode %s: find where it comes from (an earlier layer, the data) or lower the learning rate",
		e.Layer, e.Operand, e.Value, e.Index, e.Mode, what)
}

// AsNonFinite finds a *NonFiniteError in err, including inside the errors
// of Gorgonia's machines, which wrap an op's error in a type that does not
// unwrap (it offers Err instead).
func AsNonFinite(err error) (*NonFiniteError, bool) {
	for err != nil {
		var nf *NonFiniteError
		if errors.As(err, &nf) {
			return nf, true
		}
		inner, ok := err.(interface{ Err() error })
		if !ok {
			return nil, false
		}
		err = inner.Err()
	}
	return nil, false
}

// checkFinite returns a *NonFiniteError for the first NaN or infinity of
// v; the vector test runs first, so the common all-finite case costs one
// read of v.
func checkFinite(s *LayerState, operand string, v []float32) error {
	if f32.AllFinite(v) {
		return nil
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return &NonFiniteError{Layer: s.ID, Operand: operand, Index: i, Value: x, Mode: s.Mode}
		}
	}
	return nil
}

var errNoForward = errors.New("ops: gradient op ran before its forward op: run the forward pass first (TapeMachine)")

// begin validates the state, runs the observers, and records the mode and
// parameters of this run. With quantizeChecksX the caller quantizes x
// through quantizeInputs, which then reports a NaN or an infinity in x
// when no observer reads x first (see checkXLater).
func (r *runRecord) begin(s *LayerState, x []float32, xShape []int, w []float32, wShape []int, wAxis int, quantizeChecksX bool) error {
	if err := s.Validate(); err != nil {
		return err
	}
	r.checkXLater = false
	if s.Mode.Quantizes() || s.Mode == Observe && s.Training {
		// Before the observers, which would take a NaN into their ranges
		// (Observe mode computes in float and has nothing else to guard).
		// Without an observer reading x, quantization finds a NaN as it
		// reads x anyway, which saves a pass over every layer's input.
		// (Nor do code histograms, which quantization fills.)
		observed := s.Training && s.XObserver != nil && !s.XObserver.Frozen()
		r.checkXLater = quantizeChecksX && s.Mode.Quantizes() && !observed && !s.RecordHistograms
		if !r.checkXLater {
			if err := checkFinite(s, "input", x); err != nil {
				return err
			}
		}
		if err := checkFinite(s, "weight", w); err != nil {
			return err
		}
	}
	if err := s.observe(x, xShape, w, wShape); err != nil {
		return err
	}
	if s.Mode != Float {
		// Observers may have produced new parameters: check them again.
		if err := s.Validate(); err != nil {
			return err
		}
		if s.WParams.IsPerChannel() && s.WParams.Axis != wAxis {
			return errWeightAxis(s, wAxis)
		}
		if err := s.WParams.CheckShape(wShape); err != nil {
			return err
		}
	}
	r.ran, r.mode, r.noise = true, s.Mode, nil
	r.grad, r.table = s.Gradient, nil
	r.both.forget()
	if s.Mode.NeedsTable() {
		r.table = s.Table
	}
	copyParams(&r.xp, s.XParams)
	copyParams(&r.wp, s.WParams)
	r.x.forget()
	r.w.forget()
	return nil
}

// copyParams deep-copies src into dst, reusing dst's slices.
func copyParams(dst *quantize.Params, src quantize.Params) {
	scale := append(dst.Scale[:0], src.Scale...)
	zp := append(dst.ZeroPoint[:0], src.ZeroPoint...)
	*dst = src
	dst.Scale, dst.ZeroPoint = scale, zp
}

// gradX says how a node's weight gradient reads the forward input x.
type gradX int

const (
	// gradXFloat: as fake-quantized floats, kept by the forward run.
	gradXFloat gradX = iota
	// gradXCodes: as the table indices the forward run computed anyway
	// (convolutions in Approximate and Surrogate mode), so the forward run
	// writes no input-sized float tensor that only the gradient reads.
	gradXCodes
)

// quantizeInputs quantizes the forward inputs x and w with the recorded
// parameters: table indices when bytes is set (Approximate mode), the
// fake-quantized values when fq is set (Quantized and Noise modes), and
// whatever the gradient ops will need when the node has them: both masks,
// w's fake-quantized values and, unless gx is gradXCodes, x's. It returns
// the *NonFiniteError of x that begin left to it.
func (r *runRecord) quantizeInputs(s *LayerState, x []float32, xs []int, w []float32, ws []int, bytes, fq bool, gx gradX) error {
	var xh, wh *[256]int64
	if s.RecordHistograms {
		xh, wh = &s.XHist, &s.WHist
	}
	keep := r.grads
	// Table gradients read the table indices, not fake-quantized values.
	tableGrad := bytes && r.grad.Kind == TableGradient
	keepXFloat := keep && !(gx == gradXCodes && bytes) && !tableGrad
	keepWFloat := keep && !tableGrad
	r.x.quantize(&r.xp, x, xs, xh, s.threads(), bytes, fq || keepXFloat, keep)
	if r.checkXLater && r.x.q.nonFinite != 0 {
		r.x.forget()
		r.ran = false // no gradient op may take this run's record
		return checkFinite(s, "input", x)
	}
	r.w.quantize(&r.wp, w, ws, wh, s.threads(), bytes, fq || keepWFloat, keep)
	return nil
}

// gradOperands returns what a gradient op with respect to input wrt needs:
// the fake-quantized other input and the straight-through mask of input
// wrt, taken from the forward run when it quantized these very data and
// computed otherwise into own (the gradient op's scratch).
func (r *runRecord) gradOperands(wrt int, x []float32, xs []int, w []float32, ws []int, own *[2]operand, threads int) (xfq, wfq []float32, mask []bool) {
	xq, wq := r.gradInputs(x, xs, w, ws, own, threads, gradXFloat)
	if wrt == 0 {
		return xq.fq, wq.fq, xq.mask
	}
	return xq.fq, wq.fq, wq.mask
}

// gradInputs returns the quantized x and w a gradient op needs, from the
// forward run when it quantized these very data and computed otherwise
// into own (the gradient op's scratch): both masks, w's fake-quantized
// values, and x's fake-quantized values or, with gx gradXCodes and the
// forward run's table indices at hand, those indices alone (xq.fq nil).
func (r *runRecord) gradInputs(x []float32, xs []int, w []float32, ws []int, own *[2]operand, threads int, gx gradX) (xq, wq quantized) {
	get := func(i int, values []float32, shape []int, p *quantize.Params, fromRun *operand, codes bool) quantized {
		if fromRun.holds(values, p, codes) {
			return fromRun.q
		}
		own[i].quantize(p, values, shape, nil, threads, false, true, true)
		return own[i].q
	}
	return get(0, x, xs, &r.xp, &r.x, gx == gradXCodes), get(1, w, ws, &r.wp, &r.w, false)
}

// gradCodes returns the table indices and masks of x and w for table
// gradients, from the forward run when it quantized these very data and
// computed otherwise into own.
func (r *runRecord) gradCodes(x []float32, xs []int, w []float32, ws []int, own *[2]operand, threads int) (xq, wq quantized) {
	get := func(i int, values []float32, shape []int, p *quantize.Params, fromRun *operand) quantized {
		if fromRun.src != nil && len(values) == fromRun.n && &values[0] == fromRun.src && fromRun.params == p &&
			fromRun.q.bytes != nil && fromRun.q.mask != nil {
			return fromRun.q
		}
		own[i].quantize(p, values, shape, nil, threads, true, false, true)
		return own[i].q
	}
	return get(0, x, xs, &r.xp, &r.x), get(1, w, ws, &r.wp, &r.w)
}

// noiseRec holds what the gradient through y = yq + n·std(yq)·sigma + mu
// needs, for outputs of element type T.
type noiseRec[T values.Float] struct {
	sigma     float64
	n         []T // the standard normal draws
	yq        []T // the output before noise
	mean, std float64
	grad      []T // backward's result, reused
	// gradOf is &g[0] of the output gradient grad was computed from (both
	// gradient ops of a node pass the same one), nil after a forward run.
	gradOf  *T
	partial []float64     // per chunk: a partial sum
	streams []noiseStream // per chunk: its generator
}

// noiseRecord is the noise record of a float32 layer.
type noiseRecord = noiseRec[float32]

// Noise is drawn and summed in chunks of noiseChunk outputs, each with a
// generator stream of its own seeded from one draw of the layer's Rand and
// the chunk's index, and the chunks' sums are added in order: the chunks
// run in parallel, and the noise and every sum are the same for any number
// of threads. (One serial draw of Rand per output made the noise phase
// far slower than an approximate step.)
const noiseChunk = 1 << 13

// noiseStream is one chunk's generator, reseeded on every run.
type noiseStream struct {
	pcg *randv2.PCG
	rng *randv2.Rand
}

// chunkSum returns the sum over the chunks of n outputs of f(lo, hi), the
// chunks computed in parallel and added in order.
func (r *noiseRec[T]) chunkSum(n, threads int, f func(lo, hi int) float64) float64 {
	chunks := (n + noiseChunk - 1) / noiseChunk
	r.partial = grow(r.partial, chunks)
	parallelRanges(chunks, threads, 1, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			r.partial[c] = f(c*noiseChunk, min((c+1)*noiseChunk, n))
		}
	})
	var sum float64
	for _, v := range r.partial {
		sum += v
	}
	return sum
}

// addNoise adds N(0,1)·std(y)·sigma + mu to y in place (std unbiased, like
// torch.std) and returns the record for the gradient, rec's memory reused.
func addNoise[T values.Float](s *LayerState, y []T, rec *noiseRec[T]) *noiseRec[T] {
	n, threads := len(y), s.threads()
	rec.sigma, rec.gradOf = s.NoiseSigma, nil
	rec.n = grow(rec.n, n)
	rec.yq = append(rec.yq[:0], y...)
	rec.mean = rec.chunkSum(n, threads, func(lo, hi int) float64 {
		var sum float64
		for _, v := range y[lo:hi] {
			sum += float64(v)
		}
		return sum
	}) / float64(n)
	ss := rec.chunkSum(n, threads, func(lo, hi int) float64 {
		var ss float64
		for _, v := range y[lo:hi] {
			d := float64(v) - rec.mean
			ss += d * d
		}
		return ss
	})
	rec.std = 0
	if n > 1 {
		rec.std = math.Sqrt(ss / float64(n-1))
	}
	seed := s.Rand.Uint64()
	chunks := (n + noiseChunk - 1) / noiseChunk
	for len(rec.streams) < chunks {
		pcg := randv2.NewPCG(0, 0)
		rec.streams = append(rec.streams, noiseStream{pcg: pcg, rng: randv2.New(pcg)})
	}
	sigma, mu := s.NoiseSigma, s.NoiseMu
	parallelRanges(chunks, threads, 1, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			st := rec.streams[c]
			st.pcg.Seed(seed, uint64(c))
			for i := c * noiseChunk; i < min((c+1)*noiseChunk, n); i++ {
				rec.n[i] = T(st.rng.NormFloat64())
				y[i] = T(float64(y[i]) + float64(rec.n[i])*rec.std*sigma + mu)
			}
		}
	})
	return rec
}

// backward returns the gradient with respect to yq given the gradient g with
// respect to y: g + sigma·(Σ g·n)·(yq − mean)/((N−1)·std), the second term
// being the flow through std(yq). With a zero std the second term is 0.
// Without noise it returns g itself. The second gradient op of a node gets
// the result the first computed from the same g.
func (r *noiseRec[T]) backward(g []T, threads int) []T {
	if r == nil {
		return g
	}
	if len(g) > 0 && r.gradOf == &g[0] && len(r.grad) == len(g) {
		return r.grad
	}
	r.grad = append(r.grad[:0], g...)
	if len(g) > 0 {
		r.gradOf = &g[0]
	}
	if r.std == 0 || r.sigma == 0 {
		return r.grad
	}
	gn := r.chunkSum(len(g), threads, func(lo, hi int) float64 {
		var sum float64
		for i, v := range g[lo:hi] {
			sum += float64(v) * float64(r.n[lo+i])
		}
		return sum
	})
	c := r.sigma * gn / (float64(len(g)-1) * r.std)
	parallelRanges(len(g), threads, noiseChunk, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			r.grad[i] = T(float64(r.grad[i]) + c*(float64(r.yq[i])-r.mean))
		}
	})
	return r.grad
}
