package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/ops/floatkernel"
)

// WeightLayout says how a linear layer stores its weight matrix.
type WeightLayout int

const (
	// OutIn stores W as (out, in), like PyTorch: y = x·Wᵀ.
	OutIn WeightLayout = iota
	// InOut stores W as (in, out), like gorgonia.Mul(x, W) users: y = x·W.
	InOut
)

func (l WeightLayout) String() string {
	switch l {
	case OutIn:
		return "out×in"
	case InOut:
		return "in×out"
	}
	return fmt.Sprintf("WeightLayout(%d)", int(l))
}

// outAxis is the weight axis that indexes output channels.
func (l WeightLayout) outAxis() int {
	if l == InOut {
		return 1
	}
	return 0
}

// dims returns (out, in) of a weight shape.
func (l WeightLayout) dims(w tensor.Shape) (out, in int) {
	if l == InOut {
		return w[1], w[0]
	}
	return w[0], w[1]
}

func errWeightAxis(s *LayerState, want int) error {
	return fmt.Errorf("ops: layer %q: per-channel weight params on axis %d, but output channels are axis %d of this layer's weights", s.ID, s.WParams.Axis, want)
}

// LinearOp is the approximate linear layer's product y = x·Wᵀ (or x·W for
// InOut weights), computed as the state's mode says. x is (batch, in), y is
// (batch, out). It adds no bias.
type LinearOp struct {
	State  *LayerState
	Layout WeightLayout
	rec    *runRecord
}

// Linear adds an approximate linear product of x (batch, in) and w ((out,
// in) for OutIn, (in, out) for InOut) to x's graph.
func Linear(x, w *gorgonia.Node, s *LayerState, layout WeightLayout) (*gorgonia.Node, error) {
	if err := checkFloat32("Linear", x, w); err != nil {
		return nil, err
	}
	if s == nil || s.ID == "" {
		return nil, fmt.Errorf("ops: Linear needs a LayerState with a non-empty ID (use NewLayerState)")
	}
	if layout != OutIn && layout != InOut {
		return nil, fmt.Errorf("ops: Linear: unknown weight layout %d", int(layout))
	}
	op := &LinearOp{State: s, Layout: layout, rec: new(runRecord)}
	if _, err := op.InferShape(x.Shape(), w.Shape()); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, w)
}

func (op *LinearOp) Arity() int    { return 2 }
func (op *LinearOp) Type() hm.Type { return fnType(2, 2) }

func (op *LinearOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	return linearShape(op.Layout, ds)
}

func linearShape(layout WeightLayout, ds []gorgonia.DimSizer) (tensor.Shape, error) {
	if len(ds) < 2 {
		return nil, fmt.Errorf("ops: Linear takes x and w, got %d inputs", len(ds))
	}
	xs, err := shapeOf(ds[0], 2, "Linear input x (batch, in)")
	if err != nil {
		return nil, err
	}
	ws, err := shapeOf(ds[1], 2, "Linear weights w")
	if err != nil {
		return nil, err
	}
	out, in := layout.dims(ws)
	if in != xs[1] {
		return nil, fmt.Errorf("ops: Linear: x has %d features but %s weights %v expect %d", xs[1], layout, ws, in)
	}
	return tensor.Shape{xs[0], out}, nil
}

func (op *LinearOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

func (op *LinearOp) UsePreallocDo(prealloc gorgonia.Value, vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("ops: Linear takes 2 inputs, got %d", len(vs))
	}
	x, xs, err := floats(vs[0], "Linear input x")
	if err != nil {
		return nil, err
	}
	w, ws, err := floats(vs[1], "Linear weights w")
	if err != nil {
		return nil, err
	}
	ys, err := op.InferShape(xs, ws)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, ys)
	if _, err := linearForward(op.State, op.Layout, op.rec, y, x, w, xs, ws); err != nil {
		return nil, err
	}
	return out, nil
}

// linearForward computes y for the state's mode and records the run. It
// returns the integer accumulators in Approximate mode (nil otherwise).
func linearForward(s *LayerState, layout WeightLayout, rec *runRecord, y, x, w []float32, xs, ws tensor.Shape) ([]int32, error) {
	if err := rec.begin(s, x, xs, w, ws, layout.outAxis()); err != nil {
		return nil, err
	}
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	var xh, wh *[256]int64
	if s.RecordHistograms {
		xh, wh = &s.XHist, &s.WHist
	}
	switch s.Mode {
	case Float:
		linearFloat(layout, y, x, w, m, n, k)
	case Quantized, Noise:
		xfq, _ := fakeQuant(rec.xp, x, xs, xh, s.threads())
		wfq, _ := fakeQuant(rec.wp, w, ws, wh, s.threads())
		linearFloat(layout, y, xfq, wfq, m, n, k)
		if s.Mode == Noise && s.Training {
			rec.noise = addNoise(s, y)
		}
	case Approximate:
		return linearApprox(s, rec, layout, y, x, w, xs, ws, xh, wh)
	}
	return nil, nil
}

// linearFloat computes y (m×n) = x (m×k) · Wᵀ, W stored per layout.
func linearFloat(layout WeightLayout, y, x, w []float32, m, n, k int) {
	floatkernel.MatMul(gorgonia.WhichBLAS(), false, layout == OutIn, m, n, k, 1, x, w, 0, y)
}

// linearApprox computes the approximate product: table sums, exact
// zero-point correction, one rescale.
func linearApprox(s *LayerState, rec *runRecord, layout WeightLayout, y, x, w []float32, xs, ws tensor.Shape, xh, wh *[256]int64) ([]int32, error) {
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	xq := quantized{codes: make([]int32, len(x)), bytes: make([]byte, len(x))}
	quantizeTensor(&xq, rec.xp, x, xs, xh, s.threads())
	wq := quantized{codes: make([]int32, len(w)), bytes: make([]byte, len(w))}
	quantizeTensor(&wq, rec.wp, w, ws, wh, s.threads())
	wBytes, wCodes := wq.bytes, wq.codes
	if layout == InOut {
		// The kernel wants one row of k codes per output.
		wBytes, wCodes = make([]byte, len(w)), make([]int32, len(w))
		for i := 0; i < k; i++ {
			for j := 0; j < n; j++ {
				wBytes[j*k+i] = wq.bytes[i*n+j]
				wCodes[j*k+i] = wq.codes[i*n+j]
			}
		}
	}
	acc := make([]int32, m*n)
	if err := s.lutGEMM(acc, xq.bytes, wBytes, m, n, k); err != nil {
		return nil, err
	}
	xRow := make([]int64, m)
	for i := 0; i < m; i++ {
		for _, c := range xq.codes[i*k : (i+1)*k] {
			xRow[i] += int64(c)
		}
	}
	wRow := make([]int64, n)
	for j := 0; j < n; j++ {
		for _, c := range wCodes[j*k : (j+1)*k] {
			wRow[j] += int64(c)
		}
	}
	zx, sx := int64(rec.xp.ZeroPoint[0]), float64(rec.xp.Scale[0])
	for j := 0; j < n; j++ {
		zw, sw := channelParams(rec, j)
		for i := 0; i < m; i++ {
			t := int64(acc[i*n+j]) - zx*wRow[j] - zw*xRow[i] + int64(k)*zx*zw
			y[i*n+j] = float32(float64(t) * sx * sw)
		}
	}
	return acc, nil
}

// channelParams returns the weight zero point and scale of output channel o.
func channelParams(rec *runRecord, o int) (zw int64, sw float64) {
	ch := 0
	if rec.wp.IsPerChannel() {
		ch = o
	}
	return int64(rec.wp.ZeroPoint[ch]), float64(rec.wp.Scale[ch])
}

func (op *LinearOp) ReturnsPtr() bool     { return false }
func (op *LinearOp) CallsExtern() bool    { return false }
func (op *LinearOp) OverwritesInput() int { return -1 }

func (op *LinearOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.Linear{layout=%d ", op.Layout)
	writeState(h, op.State)
	h.Write([]byte("}"))
}

func (op *LinearOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *LinearOp) String() string {
	return fmt.Sprintf("ApproxLinear(%s, %s)", op.State.ID, op.Layout)
}

func (op *LinearOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

func (op *LinearOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("ops: Linear takes 2 inputs, got %d", len(inputs))
	}
	ret := make(gorgonia.Nodes, 2)
	for wrt := range ret {
		g, err := gorgonia.ApplyOp(&LinearGradOp{State: op.State, Layout: op.Layout, WRT: wrt, rec: op.rec}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
		}
		ret[wrt] = g
	}
	return ret, nil
}

// LinearGradOp computes the straight-through gradient of a LinearOp with
// respect to its input (WRT 0) or weights (WRT 1), from (x, w, dy): the
// gradient of the exact product of the fake-quantized tensors, masked where
// the differentiated tensor was clamped; in Float mode the plain gradient.
// It uses the mode and parameters of the forward run of the same step.
type LinearGradOp struct {
	State  *LayerState
	Layout WeightLayout
	WRT    int
	rec    *runRecord
}

func (op *LinearGradOp) Arity() int    { return 3 }
func (op *LinearGradOp) Type() hm.Type { return fnType(3, 2) }

func (op *LinearGradOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(ds) != 3 {
		return nil, fmt.Errorf("ops: LinearGrad takes x, w and dy, got %d inputs", len(ds))
	}
	ys, err := linearShape(op.Layout, ds[:2])
	if err != nil {
		return nil, err
	}
	dys, err := shapeOf(ds[2], 2, "LinearGrad dy")
	if err != nil {
		return nil, err
	}
	if !dys.Eq(ys) {
		return nil, fmt.Errorf("ops: LinearGrad: dy has shape %v, want %v", dys, ys)
	}
	return ds[op.WRT].(tensor.Shape).Clone(), nil
}

func (op *LinearGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

func (op *LinearGradOp) UsePreallocDo(prealloc gorgonia.Value, vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != 3 {
		return nil, fmt.Errorf("ops: LinearGrad takes 3 inputs, got %d", len(vs))
	}
	x, xs, err := floats(vs[0], "LinearGrad x")
	if err != nil {
		return nil, err
	}
	w, ws, err := floats(vs[1], "LinearGrad w")
	if err != nil {
		return nil, err
	}
	dy, dys, err := floats(vs[2], "LinearGrad dy")
	if err != nil {
		return nil, err
	}
	rs, err := op.InferShape(xs, ws, dys)
	if err != nil {
		return nil, err
	}
	if !op.rec.ran {
		return nil, errNoForward
	}
	out, r := output(prealloc, rs)
	linearBackward(op.rec, op.Layout, op.WRT, r, x, w, dy, xs, ws, op.State.threads())
	return out, nil
}

// linearBackward writes into r the gradient with respect to input wrt.
func linearBackward(rec *runRecord, layout WeightLayout, wrt int, r, x, w, dy []float32, xs, ws tensor.Shape, threads int) {
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	dy = rec.noise.backward(dy)
	impl := gorgonia.WhichBLAS()
	var mask []bool
	if rec.mode != Float {
		if wrt == 0 {
			w, _ = fakeQuant(rec.wp, w, ws, nil, threads)
			_, mask = fakeQuant(rec.xp, x, xs, nil, threads)
		} else {
			x, _ = fakeQuant(rec.xp, x, xs, nil, threads)
			_, mask = fakeQuant(rec.wp, w, ws, nil, threads)
		}
	}
	switch {
	case wrt == 0: // dx (m×k) = dy (m×n) · W (n×k)
		floatkernel.MatMul(impl, false, layout == InOut, m, k, n, 1, dy, w, 0, r)
	case layout == OutIn: // dW (n×k) = dyᵀ (n×m) · x (m×k)
		floatkernel.MatMul(impl, true, false, n, k, m, 1, dy, x, 0, r)
	default: // dW (k×n) = xᵀ (k×m) · dy (m×n)
		floatkernel.MatMul(impl, true, false, k, n, m, 1, x, dy, 0, r)
	}
	applyMask(r, mask)
}

// applyMask zeroes the gradient where the value was clamped.
func applyMask(g []float32, mask []bool) {
	if mask == nil {
		return
	}
	for i, in := range mask {
		if !in {
			g[i] = 0
		}
	}
}

func (op *LinearGradOp) ReturnsPtr() bool     { return false }
func (op *LinearGradOp) CallsExtern() bool    { return false }
func (op *LinearGradOp) OverwritesInput() int { return -1 }

func (op *LinearGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.LinearGrad{wrt=%d layout=%d ", op.WRT, op.Layout)
	writeState(h, op.State)
	h.Write([]byte("}"))
}

func (op *LinearGradOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *LinearGradOp) String() string {
	return fmt.Sprintf("ApproxLinearGrad(%s, wrt=%d)", op.State.ID, op.WRT)
}
