package nn

import (
	"fmt"
	"hash"
	"math"
	"unsafe"

	"github.com/chewxy/hm"
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/internal/values"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchNormState holds what a BatchNorm layer keeps between runs. The op
// reads it at run time, so flipping Training switches a compiled graph between
// batch statistics (training) and running statistics (evaluation) without
// rebuilding. All fields are exported so checkpoints can save them.
type BatchNormState struct {
	// Training selects batch statistics and updates Mean and Var on every
	// forward pass; false uses Mean and Var and leaves them unchanged.
	Training bool
	// Mean and Var are the running statistics, one value per channel. Var is
	// tracked with the unbiased (n-1) batch variance, as PyTorch does.
	Mean []float32
	Var  []float32
	// Momentum is the weight of the new batch in the running update:
	// running = (1-Momentum)*running + Momentum*batch.
	Momentum float32
	// Eps is added to the variance before the square root.
	Eps float32
}

// NewBatchNormState returns PyTorch's defaults: training mode, running mean 0,
// running variance 1, momentum 0.1, eps 1e-5.
func NewBatchNormState(channels int) *BatchNormState {
	s := &BatchNormState{Training: true, Mean: make([]float32, channels), Var: make([]float32, channels),
		Momentum: 0.1, Eps: 1e-5}
	for i := range s.Var {
		s.Var[i] = 1
	}
	return s
}

// Validate checks that the state fits a layer with the given channel count.
func (s *BatchNormState) Validate(channels int) error {
	switch {
	case s == nil:
		return fmt.Errorf("batch norm: nil state")
	case len(s.Mean) != channels || len(s.Var) != channels:
		return fmt.Errorf("batch norm: state has %d means and %d variances for %d channels", len(s.Mean), len(s.Var), channels)
	case !(s.Eps > 0):
		return fmt.Errorf("batch norm: eps must be positive, got %g", s.Eps)
	case !(s.Momentum >= 0 && s.Momentum <= 1):
		return fmt.Errorf("batch norm: momentum must be in [0, 1], got %g", s.Momentum)
	}
	for c, v := range s.Var {
		if !(v >= 0) {
			return fmt.Errorf("batch norm: running variance of channel %d is %g", c, v)
		}
	}
	return nil
}

// BatchNorm normalises x per channel and applies scale and bias:
// y = scale[c] * (x - mean[c]) / sqrt(var[c] + eps) + bias[c].
// x is (N, C, H, W) or (N, C); scale and bias are vectors of length C.
func BatchNorm(x, scale, bias *gorgonia.Node, state *BatchNormState) (*gorgonia.Node, error) {
	xs := x.Shape()
	if xs.Dims() != 2 && xs.Dims() != 4 {
		return nil, fmt.Errorf("batch norm: input %s has shape %v; expected (N, C, H, W) or (N, C)", x.Name(), xs)
	}
	op := &BatchNormOp{state: state, dims: xs.Dims(), channels: xs[1]}
	if err := state.Validate(op.channels); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, scale, bias)
}

// BatchNormOp is the forward op built by BatchNorm and BatchNormAct. Its
// inputs are x, scale and bias. It saves the mean and 1/std it used for the
// gradient ops, which run after it in the same pass.
type BatchNormOp struct {
	state    *BatchNormState
	dims     int
	channels int
	act      Activation // applied to the output (bnact.go)

	// Saved by the last Do for the gradient.
	mean, invStd  []float32
	usedBatchStat bool
	// With an activation, the per-channel k and b of the output's
	// pre-activation value x·k + b, which the gradient recomputes for the
	// activation's mask.
	actK, actB []float32
	ran        bool
	out        *tensor.Dense // output buffer reused between runs

	// The per-channel sums Σdy and Σdy·x̂ that all three gradient ops
	// need, computed by the first of them to run and kept for the others
	// while they are handed the same dy (first element and length) after
	// the same forward run.
	sumDy, sumDyXhat []float64
	sumsFor          *float32
	sumsLen          int

	loop bnLoop // the per-channel loop, set for the duration of a run

	// Scratch of the (N, F) path.
	rowAcc   []float64
	rowVec   []float32
	rowDyBuf []float32
}

// State returns the shared state the op reads.
func (op *BatchNormOp) State() *BatchNormState { return op.state }

func (op *BatchNormOp) Arity() int { return 3 }

func (op *BatchNormOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: op.dims, Of: a}, gorgonia.TensorType{Dims: 1, Of: a},
		gorgonia.TensorType{Dims: 1, Of: a}, gorgonia.TensorType{Dims: op.dims, Of: a})
}

func (op *BatchNormOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("batch norm: %d inputs, expected x, scale, bias", len(in))
	}
	xs, err := shapeOf(in[0], "batch norm x")
	if err != nil {
		return nil, err
	}
	if err := op.checkShapes(xs, in[1], in[2]); err != nil {
		return nil, err
	}
	return xs.Clone(), nil
}

func (op *BatchNormOp) checkShapes(xs tensor.Shape, scale, bias gorgonia.DimSizer) error {
	if xs.Dims() != op.dims || xs[1] != op.channels {
		return fmt.Errorf("batch norm: x has shape %v; the op was built for %d dimensions with %d channels", xs, op.dims, op.channels)
	}
	for i, d := range []gorgonia.DimSizer{scale, bias} {
		s, err := shapeOf(d, "batch norm scale/bias")
		if err != nil {
			return err
		}
		if s.Dims() != 1 || s[0] != op.channels {
			return fmt.Errorf("batch norm: %s has shape %v; expected (%d)", [...]string{"scale", "bias"}[i], s, op.channels)
		}
	}
	return nil
}

func (op *BatchNormOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *BatchNormOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("batch norm: %d inputs, expected x, scale, bias", len(in))
	}
	x, xs, err := float32s(in[0], "batch norm x")
	if err != nil {
		return nil, err
	}
	gamma, gs, err := float32s(in[1], "batch norm scale")
	if err != nil {
		return nil, err
	}
	beta, bs, err := float32s(in[2], "batch norm bias")
	if err != nil {
		return nil, err
	}
	if err := op.checkShapes(xs, gs, bs); err != nil {
		return nil, err
	}
	if err := op.state.Validate(op.channels); err != nil {
		return nil, err
	}
	n, c, hw := splitNCS(xs)
	if op.mean == nil {
		op.mean = make([]float32, c)
		op.invStd = make([]float32, c)
		if op.act != NoActivation {
			op.actK, op.actB = make([]float32, c), make([]float32, c)
		}
	}
	st := op.state
	m := n * hw
	if st.Training && m < 2 {
		return nil, fmt.Errorf("batch norm: training needs more than one value per channel, input has shape %v", xs)
	}
	out, y := output(prealloc, &op.out, xs, x, gamma, beta)
	if hw == 1 {
		op.forwardRows(x, y, gamma, beta, n, c)
	} else {
		op.loop = bnLoop{fwd: op, x: x, y: y, gamma: gamma, beta: beta, n: n, c: c, hw: hw}
		parallel.Run(c, 0, unitsPerPart(m), &op.loop)
		op.loop = bnLoop{}
	}
	op.usedBatchStat = st.Training
	op.ran = true
	op.sumsFor, op.sumsLen = nil, 0
	return out, nil
}

// bnLoop is the per-channel loop of the forward op (y = the output) or of
// the dx op (y = dx): channels are independent, so the channels of a
// part are computed as the serial loop would.
type bnLoop struct {
	fwd               *BatchNormOp
	grad              bool
	x, y, gamma, beta []float32
	dy                []float32
	n, c, hw          int
}

func (l *bnLoop) Run(_, lo, hi int) {
	for ch := lo; ch < hi; ch++ {
		if l.grad {
			l.fwd.gradXChannel(l.y, l.x, l.dy, l.gamma, l.n, l.c, l.hw, ch)
		} else {
			l.fwd.forwardChannel(l.y, l.x, l.gamma, l.beta, l.n, l.c, l.hw, ch)
		}
	}
}

// forwardChannel normalises channel ch of an (N, C, H, W) input,
// statistics then output, so that the output pass reads the channel's
// values while they are still in cache.
func (op *BatchNormOp) forwardChannel(y, x, gamma, beta []float32, n, c, hw, ch int) {
	if op.state.Training {
		// Two passes in float64: the mean, then the squared
		// deviations, avoiding the cancellation of E[x²]-E[x]².
		m := n * hw
		var sum laneSum
		for i := 0; i < n; i++ {
			sum.add(x[(i*c+ch)*hw : (i*c+ch+1)*hw])
		}
		mean := sum.result() / float64(m)
		var sq laneSum
		for i := 0; i < n; i++ {
			sq.addSqDev(x[(i*c+ch)*hw:(i*c+ch+1)*hw], mean)
		}
		op.setBatchStats(ch, mean, sq.result(), m)
	} else {
		op.setRunningStats(ch)
	}
	k := gamma[ch] * op.invStd[ch]
	b := beta[ch] - op.mean[ch]*k
	if op.act != NoActivation {
		op.actK[ch], op.actB[ch] = k, b
		for i := 0; i < n; i++ {
			lo := (i*c + ch) * hw
			scaleShiftAct(y[lo:lo+hw], x[lo:lo+hw], k, b, op.act)
		}
		return
	}
	for i := 0; i < n; i++ {
		lo := (i*c + ch) * hw
		scaleShift(y[lo:lo+hw], x[lo:lo+hw], k, b)
	}
}

// setBatchStats records channel ch's batch mean and Σ(x-mean)² over m
// values and updates the running statistics.
func (op *BatchNormOp) setBatchStats(ch int, mean, sq float64, m int) {
	st := op.state
	op.mean[ch] = float32(mean)
	op.invStd[ch] = float32(1 / math.Sqrt(sq/float64(m)+float64(st.Eps)))
	mom := float64(st.Momentum)
	st.Mean[ch] = float32((1-mom)*float64(st.Mean[ch]) + mom*mean)
	st.Var[ch] = float32((1-mom)*float64(st.Var[ch]) + mom*sq/float64(m-1))
}

// setRunningStats uses the running statistics of channel ch.
func (op *BatchNormOp) setRunningStats(ch int) {
	op.mean[ch] = op.state.Mean[ch]
	op.invStd[ch] = float32(1 / math.Sqrt(float64(op.state.Var[ch])+float64(op.state.Eps)))
}

// forwardRows is the forward pass of (N, F) inputs, where a channel's
// values are one per row: it walks the rows with every channel's sum at
// hand instead of each channel's strided values in turn (a call per
// value). Each channel's sums add its values in row order, as the
// per-channel loop does, so the bits are the same.
func (op *BatchNormOp) forwardRows(x, y, gamma, beta []float32, n, c int) {
	if op.state.Training {
		acc := op.rowScratch(c)
		for i := 0; i < n; i++ {
			for ch, v := range x[i*c : (i+1)*c] {
				acc[ch] += float64(v)
			}
		}
		mean := acc[c : 2*c]
		for ch := range mean {
			mean[ch] = acc[ch] / float64(n)
			acc[ch] = 0
		}
		for i := 0; i < n; i++ {
			for ch, v := range x[i*c : (i+1)*c] {
				d := float64(v) - mean[ch]
				acc[ch] += float64(d * d)
			}
		}
		for ch := 0; ch < c; ch++ {
			op.setBatchStats(ch, mean[ch], acc[ch], n)
		}
	} else {
		for ch := 0; ch < c; ch++ {
			op.setRunningStats(ch)
		}
	}
	k, b := op.rowScratch32(c)
	for ch := range k {
		k[ch] = gamma[ch] * op.invStd[ch]
		b[ch] = beta[ch] - op.mean[ch]*k[ch]
	}
	if op.act != NoActivation {
		copy(op.actK, k)
		copy(op.actB, b)
	}
	for i := 0; i < n; i++ {
		ys := y[i*c : (i+1)*c]
		for ch, v := range x[i*c : (i+1)*c] {
			ys[ch] = float32(v*k[ch]) + b[ch]
		}
		applyAct(op.act, ys)
	}
}

// rowScratch returns 2c zeroed float64s of scratch for the (N, F) path.
func (op *BatchNormOp) rowScratch(c int) []float64 {
	if len(op.rowAcc) != 2*c {
		op.rowAcc = make([]float64, 2*c)
	}
	clear(op.rowAcc)
	return op.rowAcc
}

// rowScratch32 returns two vectors of c float32s of scratch.
func (op *BatchNormOp) rowScratch32(c int) (a, b []float32) {
	if len(op.rowVec) != 3*c {
		op.rowVec = make([]float32, 3*c)
	}
	return op.rowVec[:c], op.rowVec[c : 2*c]
}

// splitNCS views an (N, C, ...) shape as N, C and the size of the rest.
func splitNCS(s tensor.Shape) (n, c, rest int) {
	rest = 1
	for _, d := range s[2:] {
		rest *= d
	}
	return s[0], s[1], rest
}

func (op *BatchNormOp) ReturnsPtr() bool     { return false }
func (op *BatchNormOp) CallsExtern() bool    { return false }
func (op *BatchNormOp) OverwritesInput() int { return -1 }

// WriteHash covers the state by identity (momentum, eps, mode and running
// statistics all live there, so two layers differ exactly when their states
// do) and the activation.
func (op *BatchNormOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.BatchNorm(dims=%d, C=%d, act=%v, state=%p)", op.dims, op.channels, op.act, op.state)
}

func (op *BatchNormOp) Hashcode() uint32 { return hashOf(op) }

func (op *BatchNormOp) String() string {
	if op.act != NoActivation {
		return fmt.Sprintf("BatchNorm%v(C=%d, %p)", op.act, op.channels, op.state)
	}
	return fmt.Sprintf("BatchNorm(C=%d, %p)", op.channels, op.state)
}

func (op *BatchNormOp) DiffWRT(inputs int) []bool { return []bool{true, true, true} }

func (op *BatchNormOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 3 {
		return nil, fmt.Errorf("batch norm: %d inputs, expected 3", len(inputs))
	}
	// The scale and bias gradients take dx as a fourth input they do not
	// read: it makes them run after the dx op, which leaves them the
	// per-channel sums (see batchNormGradOp).
	dx, err := gorgonia.ApplyOp(&batchNormGradOp{fwd: op, wrt: 0}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	grads := gorgonia.Nodes{dx, nil, nil}
	for k := 1; k < 3; k++ {
		if grads[k], err = gorgonia.ApplyOp(&batchNormGradOp{fwd: op, wrt: k}, inputs[0], inputs[1], grad, dx); err != nil {
			return nil, err
		}
	}
	return grads, nil
}

// batchNormGradOp computes the gradient with respect to x (wrt 0), scale
// (wrt 1) or bias (wrt 2) from x, scale and the output gradient dy, using the
// statistics its forward op saved. With batch statistics (training),
//
//	dx = scale*invStd/m * (m*dy - Σdy - x̂*Σ(dy*x̂)),  x̂ = (x-mean)*invStd,
//
// sums over the m = N*H*W values of a channel; with running statistics the
// mean and variance are constants and dx = dy*scale*invStd.
//
// The scale gradient is Σ(dy*x̂) and the bias gradient Σdy, the very sums dx
// needs. The dx op computes them channel by channel, each right before the
// channel's dx while its values are in cache (large activations do not fit
// in cache, so every pass over them costs a trip to memory), and leaves them
// to the other two, which run after it: their fourth input is dx.
type batchNormGradOp struct {
	fwd  *BatchNormOp
	wrt  int
	out  *tensor.Dense
	loop bnLoop
}

// Arity is 3 (x, scale, dy) for dx and 4 (x, scale, dy, dx) for the scale
// and bias gradients.
func (op *batchNormGradOp) Arity() int {
	if op.wrt == 0 {
		return 3
	}
	return 4
}

func (op *batchNormGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	x := gorgonia.TensorType{Dims: op.fwd.dims, Of: a}
	vec := gorgonia.TensorType{Dims: 1, Of: a}
	if op.wrt == 0 {
		return hm.NewFnType(x, vec, x, x)
	}
	return hm.NewFnType(x, vec, x, x, vec)
}

func (op *batchNormGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("batch norm gradient: %d inputs, expected %d", len(in), op.Arity())
	}
	xs, err := shapeOf(in[0], "batch norm gradient x")
	if err != nil {
		return nil, err
	}
	if op.wrt == 0 {
		return xs.Clone(), nil
	}
	return tensor.Shape{op.fwd.channels}, nil
}

func (op *batchNormGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *batchNormGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("batch norm gradient: %d inputs, expected %d", len(in), op.Arity())
	}
	x, xs, err := float32s(in[0], "batch norm gradient x")
	if err != nil {
		return nil, err
	}
	gamma, _, err := float32s(in[1], "batch norm gradient scale")
	if err != nil {
		return nil, err
	}
	dy, dys, err := float32s(in[2], "batch norm gradient dy")
	if err != nil {
		return nil, err
	}
	f := op.fwd
	if !xs.Eq(dys) || xs.Dims() != f.dims || xs[1] != f.channels || len(gamma) != f.channels {
		return nil, fmt.Errorf("batch norm gradient: shapes x %v, dy %v, scale %d do not match the layer (%d channels)", xs, dys, len(gamma), f.channels)
	}
	if !f.ran {
		return nil, fmt.Errorf("batch norm gradient: the forward op has not run")
	}
	n, c, hw := splitNCS(xs)
	if op.wrt > 0 {
		sumDy, sumDyXhat := f.gradSums(x, dy, n, c, hw)
		out, g := output(prealloc, &op.out, tensor.Shape{c}, x, gamma, dy)
		src := sumDyXhat
		if op.wrt == 2 {
			src = sumDy
		}
		for ch := range g {
			g[ch] = float32(src[ch])
		}
		return out, nil
	}
	out, dx := output(prealloc, &op.out, xs, x, gamma, dy)
	f.growSums(c)
	if hw == 1 {
		f.rowSums(x, dy, n, c)
		f.gradXRows(dx, x, dy, gamma, n, c)
	} else {
		op.loop = bnLoop{fwd: f, grad: true, x: x, y: dx, dy: dy, gamma: gamma, n: n, c: c, hw: hw}
		parallel.Run(c, 0, unitsPerPart(n*hw), &op.loop)
		op.loop = bnLoop{}
	}
	f.sumsFor, f.sumsLen = unsafe.SliceData(dy), len(dy)
	return out, nil
}

// gradXChannel computes dx of channel ch of an (N, C, H, W) input and
// records the channel's sums for the scale and bias gradients.
func (op *BatchNormOp) gradXChannel(dx, x, dy, gamma []float32, n, c, hw, ch int) {
	mean, inv := op.mean[ch], op.invStd[ch]
	sumDy, sumDyXhat := op.channelSums(x, dy, n, c, hw, ch)
	k := gamma[ch] * inv
	var meanDy, meanDyX float32
	if op.usedBatchStat {
		m := float64(n * hw)
		meanDy = float32(sumDy / m)
		meanDyX = float32(sumDyXhat / m)
	}
	if op.act != NoActivation {
		p, kf, bf := op.act.params(), op.actK[ch], op.actB[ch]
		for i := 0; i < n; i++ {
			lo := (i*c + ch) * hw
			bnGradXAct(dx[lo:lo+hw], x[lo:lo+hw], dy[lo:lo+hw], mean, inv, k, meanDy, meanDyX, kf, bf, p)
		}
		return
	}
	for i := 0; i < n; i++ {
		lo := (i*c + ch) * hw
		bnGradX(dx[lo:lo+hw], x[lo:lo+hw], dy[lo:lo+hw], mean, inv, k, meanDy, meanDyX)
	}
}

// gradSums returns the per-channel Σdy and Σdy·x̂ for the scale and bias
// gradients: those the dx op left for this dy, or computed afresh.
func (op *BatchNormOp) gradSums(x, dy []float32, n, c, hw int) (sumDy, sumDyXhat []float64) {
	if op.sumsFor == unsafe.SliceData(dy) && op.sumsLen == len(dy) && len(op.sumDy) == c {
		return op.sumDy, op.sumDyXhat
	}
	op.growSums(c)
	if hw == 1 {
		op.rowSums(x, dy, n, c)
	}
	for ch := 0; ch < c && hw > 1; ch++ {
		op.channelSums(x, dy, n, c, hw, ch)
	}
	op.sumsFor, op.sumsLen = unsafe.SliceData(dy), len(dy)
	return op.sumDy, op.sumDyXhat
}

func (op *BatchNormOp) growSums(c int) {
	if len(op.sumDy) != c {
		op.sumDy, op.sumDyXhat = make([]float64, c), make([]float64, c)
	}
}

// channelSums computes and records Σdy and Σdy·x̂ of channel ch.
func (op *BatchNormOp) channelSums(x, dy []float32, n, c, hw, ch int) (sumDy, sumDyXhat float64) {
	mean, inv := op.mean[ch], op.invStd[ch]
	var a, b laneSum
	for i := 0; i < n; i++ {
		lo := (i*c + ch) * hw
		if op.act != NoActivation {
			addDyXhatAct(&a, &b, x[lo:lo+hw], dy[lo:lo+hw], mean, inv, op.actK[ch], op.actB[ch], op.act.params())
		} else {
			addDyXhat(&a, &b, x[lo:lo+hw], dy[lo:lo+hw], mean, inv)
		}
	}
	sumDy, sumDyXhat = a.result(), b.result()
	op.sumDy[ch], op.sumDyXhat[ch] = sumDy, sumDyXhat
	return sumDy, sumDyXhat
}

// rowSums is channelSums for all channels of an (N, F) input, walking
// the rows (see forwardRows); the sums add in row order as channelSums
// does.
func (op *BatchNormOp) rowSums(x, dy []float32, n, c int) {
	a, b := op.sumDy, op.sumDyXhat
	clear(a)
	clear(b)
	mean, inv := op.mean[:c], op.invStd[:c]
	for i := 0; i < n; i++ {
		xs, gs := x[i*c:(i+1)*c], op.rowDy(dy, x, i, c)
		for ch, v := range xs {
			g := float64(gs[ch])
			a[ch] += g
			b[ch] += float64(g * float64((v-mean[ch])*inv[ch]))
		}
	}
}

// rowDy is row i of dy, masked by the activation's gradient when the op
// has one (in scratch that holds one row).
func (op *BatchNormOp) rowDy(dy, x []float32, i, c int) []float32 {
	gs := dy[i*c : (i+1)*c]
	if op.act == NoActivation {
		return gs
	}
	if len(op.rowDyBuf) != c {
		op.rowDyBuf = make([]float32, c)
	}
	p := op.act.params()
	for ch, v := range x[i*c : (i+1)*c] {
		op.rowDyBuf[ch] = p.maskDy(float32(v*op.actK[ch])+op.actB[ch], gs[ch])
	}
	return op.rowDyBuf
}

// gradXRows is the dx loop of an (N, F) input, by rows, with the sums
// rowSums left.
func (op *BatchNormOp) gradXRows(dx, x, dy, gamma []float32, n, c int) {
	k, meanDy := op.rowScratch32(c)
	meanDyX := op.rowVec[2*c : 3*c]
	for ch := range k {
		k[ch] = gamma[ch] * op.invStd[ch]
		meanDy[ch], meanDyX[ch] = 0, 0
		if op.usedBatchStat {
			meanDy[ch] = float32(op.sumDy[ch] / float64(n))
			meanDyX[ch] = float32(op.sumDyXhat[ch] / float64(n))
		}
	}
	mean, inv := op.mean[:c], op.invStd[:c]
	for i := 0; i < n; i++ {
		xs, gs, ds := x[i*c:(i+1)*c], op.rowDy(dy, x, i, c), dx[i*c:(i+1)*c]
		for ch, v := range xs {
			xhat := (v - mean[ch]) * inv[ch]
			ds[ch] = k[ch] * ((gs[ch] - meanDy[ch]) - float32(xhat*meanDyX[ch]))
		}
	}
}

// laneSum is a float64 sum in the fixed order of vec.go: lane partial
// sums over each run added, the elements past a run's last full group of
// lanes added in order to a separate tail sum.
type laneSum struct {
	p    [lanes]float64
	tail float64
}

func (s *laneSum) result() float64 { return foldLanes(&s.p) + s.tail }

// add adds Σv.
func (s *laneSum) add(v []float32) {
	for _, e := range sumLanes(v, &s.p) {
		s.tail += float64(e)
	}
}

// addSqDev adds Σ(v-mean)².
func (s *laneSum) addSqDev(v []float32, mean float64) {
	for _, e := range sqDevLanes(v, mean, &s.p) {
		d := float64(e) - mean
		s.tail += float64(d * d)
	}
}

// addDyXhat adds Σdy to a and Σdy·x̂ to b, x̂ = (x-mean)·inv computed in
// float32 as the forward pass does.
func addDyXhat(a, b *laneSum, x, dy []float32, mean, inv float32) {
	dy = dy[:len(x)]
	k := dyXhatLanes(x, dy, mean, inv, &a.p, &b.p)
	for i := k; i < len(x); i++ {
		g := float64(dy[i])
		a.tail += g
		b.tail += float64(g * float64((x[i]-mean)*inv))
	}
}

// sum64, sqDev64 and sumsDyXhat are the sums of one run.
func sum64(v []float32) float64 {
	var s laneSum
	s.add(v)
	return s.result()
}

func sqDev64(v []float32, mean float64) float64 {
	var s laneSum
	s.addSqDev(v, mean)
	return s.result()
}

func sumsDyXhat(x, dy []float32, mean, inv float32) (sdy, sdyx float64) {
	var a, b laneSum
	addDyXhat(&a, &b, x, dy, mean, inv)
	return a.result(), b.result()
}

func (op *batchNormGradOp) ReturnsPtr() bool     { return false }
func (op *batchNormGradOp) CallsExtern() bool    { return false }
func (op *batchNormGradOp) OverwritesInput() int { return -1 }

func (op *batchNormGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.BatchNormGrad(wrt=%d, fwd=%p, ", op.wrt, op.fwd)
	op.fwd.WriteHash(h)
	fmt.Fprint(h, ")")
}

func (op *batchNormGradOp) Hashcode() uint32 { return hashOf(op) }

func (op *batchNormGradOp) String() string {
	return fmt.Sprintf("BatchNormGrad%s(C=%d)", [...]string{"X", "Scale", "Bias"}[op.wrt], op.fwd.channels)
}

// hashOf is the 32-bit FNV-1a of an op's WriteHash.
func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 { return values.Hash(op.WriteHash) }
