package ops

import (
	"encoding/binary"
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/floatkernel"
	"github.com/goapprox/goapprox/internal/tablegrad"
	"github.com/goapprox/goapprox/internal/values"
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

// dims returns (out, in) of a weight shape; a vector weight has one
// output.
func (l WeightLayout) dims(w tensor.Shape) (out, in int) {
	if len(w) == 1 {
		return 1, w[0]
	}
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
// (batch, out). It adds no bias. A vector weight (in) makes a layer with
// one output, y (batch, 1).
type LinearOp struct {
	State  *LayerState
	Layout WeightLayout
	rec    *runRecord
	out    *tensor.Dense // output buffer reused between runs
	vector bool          // the weight is a vector
}

// Linear adds an approximate linear product of x (batch, in) and w ((out,
// in) for OutIn, (in, out) for InOut, or a vector (in) for a layer with one
// output) to x's graph. x and w are both float32 or both float64.
func Linear(x, w *gorgonia.Node, s *LayerState, layout WeightLayout) (*gorgonia.Node, error) {
	if err := checkFloats("Linear", x, w); err != nil {
		return nil, err
	}
	if s == nil || s.ID == "" {
		return nil, fmt.Errorf("ops: Linear needs a LayerState with a non-empty ID (use NewLayerState)")
	}
	if layout != OutIn && layout != InOut {
		return nil, fmt.Errorf("ops: Linear: unknown weight layout %d", int(layout))
	}
	op := &LinearOp{State: s, Layout: layout, rec: new(runRecord), vector: w.Dims() == 1}
	if _, err := op.InferShape(x.Shape(), w.Shape()); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, w)
}

func (op *LinearOp) Arity() int { return 2 }
func (op *LinearOp) Type() hm.Type {
	if op.vector {
		return hm.NewFnType(tensorType(2), tensorType(1), tensorType(2))
	}
	return fnType(2, 2)
}

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
	ws, ok := ds[1].(tensor.Shape)
	if !ok || ws.Dims() != 1 {
		if ws, err = shapeOf(ds[1], 2, "Linear weights w"); err != nil {
			return nil, err
		}
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
	if useGeneric(vs) {
		if isFloat64(vs[0]) {
			return linearDoG[float64](op, prealloc, vs)
		}
		return linearDoG[float32](op, prealloc, vs)
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
	out, y := output(prealloc, &op.out, ys, x, w)
	if _, err := linearForward(op.State, op.Layout, op.rec, y, x, w, xs, ws); err != nil {
		return nil, err
	}
	return out, nil
}

// linearForward computes y for the state's mode and records the run. It
// returns the integer accumulators in Approximate mode (nil otherwise),
// valid until the next run.
func linearForward(s *LayerState, layout WeightLayout, rec *runRecord, y, x, w []float32, xs, ws tensor.Shape) ([]int32, error) {
	if err := rec.begin(s, x, xs, w, ws, layout.outAxis(), true); err != nil {
		return nil, err
	}
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	switch s.Mode {
	case Float, Observe:
		// Through the BLAS gorgonia.Mul uses, so that a rewritten graph
		// in Float mode gives the original graph's results bit for bit.
		floatkernel.MatMulBLAS(gorgonia.WhichBLAS(), false, layout == OutIn, m, n, k, 1, x, w, 0, y, s.threads())
	case Quantized, Noise:
		if err := rec.quantizeInputs(s, x, xs, w, ws, false, true, gradXFloat); err != nil {
			return nil, err
		}
		linearFloat(layout, y, rec.x.q.fq, rec.w.q.fq, m, n, k, s.threads())
		if s.Mode == Noise && s.Training {
			rec.noise = addNoise(s, y, &rec.noiseBuf)
		}
	case Approximate, Surrogate:
		if err := rec.quantizeInputs(s, x, xs, w, ws, true, false, gradXFloat); err != nil {
			return nil, err
		}
		return linearApprox(s, rec, layout, y, rec.x.q.bytes, rec.w.q.bytes, m, n, k)
	}
	return nil, nil
}

// linearFloat computes y (m×n) = x (m×k) · Wᵀ, W stored per layout.
func linearFloat(layout WeightLayout, y, x, w []float32, m, n, k, threads int) {
	floatkernel.MatMul(gorgonia.WhichBLAS(), false, layout == OutIn, m, n, k, 1, x, w, 0, y, threads)
}

// minRescalePerWorker is the smallest share of outputs worth a goroutine
// in the rescale loops.
const minRescalePerWorker = 1 << 14

// linearApprox computes the approximate product from the table indices of
// the quantized inputs: table sums (or, in Surrogate mode, the surrogate's
// float sums), exact zero-point correction, one rescale. It returns the
// integer sums in Approximate mode, nil in Surrogate mode.
func linearApprox[Y values.Float](s *LayerState, rec *runRecord, layout WeightLayout, y []Y, xBytes, wBytes []byte, m, n, k int) ([]int32, error) {
	if layout == InOut {
		// The kernels want one row of k codes per output.
		rec.wT = grow(rec.wT, len(wBytes))
		transposeBytes(rec.wT, wBytes, k, n)
		wBytes = rec.wT
	}
	// Code sums of every activation row and weight row.
	rec.sums = grow(rec.sums, m+n)
	xRow, wRow := rec.sums[:m], rec.sums[m:]
	xSigned, wSigned := rec.xp.Signed(), rec.wp.Signed()
	for i := range xRow {
		xRow[i] = codeSum(xBytes[i*k:(i+1)*k], xSigned)
	}
	for j := range wRow {
		wRow[j] = codeSum(wBytes[j*k:(j+1)*k], wSigned)
	}
	if s.Mode == Surrogate {
		rec.facc = grow(rec.facc, m*n)
		if err := s.surrogateGEMM(rec.facc, xBytes, wBytes, m, n, k); err != nil {
			return nil, err
		}
		linearCorrect(s, rec, y, rec.facc, xRow, wRow, m, n, k)
		return nil, nil
	}
	rec.acc = grow(rec.acc, m*n)
	if err := s.lutGEMM(rec.acc, xBytes, wBytes, m, n, k); err != nil {
		return nil, err
	}
	linearCorrect(s, rec, y, rec.acc, xRow, wRow, m, n, k)
	return rec.acc, nil
}

// transposeBytes writes the transpose of the rows×cols matrix src into dst
// (cols×rows): 8×8 blocks as eight 64-bit words transposed in registers by
// three rounds of swaps (4×4, 2×2, 1×1 sub-blocks), the edges element by
// element. Element by element throughout, every write of a source row went
// to another cache line (1.4 ns per byte for LeNet's fc1).
func transposeBytes(dst, src []byte, rows, cols int) {
	r8, c8 := rows&^7, cols&^7
	var a [8]uint64
	for i0 := 0; i0 < r8; i0 += 8 {
		for j0 := 0; j0 < c8; j0 += 8 {
			for r := range a {
				a[r] = binary.LittleEndian.Uint64(src[(i0+r)*cols+j0:])
			}
			for r := 0; r < 4; r++ {
				t := (a[r]>>32 ^ a[r+4]) & 0x00000000ffffffff
				a[r] ^= t << 32
				a[r+4] ^= t
			}
			for _, r := range [4]int{0, 1, 4, 5} {
				t := (a[r]>>16 ^ a[r+2]) & 0x0000ffff0000ffff
				a[r] ^= t << 16
				a[r+2] ^= t
			}
			for r := 0; r < 8; r += 2 {
				t := (a[r]>>8 ^ a[r+1]) & 0x00ff00ff00ff00ff
				a[r] ^= t << 8
				a[r+1] ^= t
			}
			for c := range a {
				binary.LittleEndian.PutUint64(dst[(j0+c)*rows+i0:], a[c])
			}
		}
	}
	// The columns right of the last whole block, then the rows below.
	for i := 0; i < r8; i++ {
		for j := c8; j < cols; j++ {
			dst[j*rows+i] = src[i*cols+j]
		}
	}
	for i := r8; i < rows; i++ {
		for j := 0; j < cols; j++ {
			dst[j*rows+i] = src[i*cols+j]
		}
	}
}

// linearCorrect sets y = (acc − zx·Σw − zw·Σx + k·zx·zw)·sx·sw from the
// sums acc (m×n) and the code sums of the activation and weight rows. The
// correction is an integer and the sums are integers or float32, so their
// float64 sum is exact: integer sums give the same bits as integer math.
func linearCorrect[A int32 | float32, Y values.Float](s *LayerState, rec *runRecord, y []Y, acc []A, xRow, wRow []int64, m, n, k int) {
	zx, sx := int64(rec.xp.ZeroPoint[0]), float64(rec.xp.Scale[0])
	parallelRanges(m, s.threads(), max(1, minRescalePerWorker/max(n, 1)), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			accRow, yRow := acc[i*n:(i+1)*n], y[i*n:(i+1)*n]
			for j := range yRow {
				zw, sw := channelParams(rec, j)
				corr := -zx*wRow[j] - zw*xRow[i] + int64(k)*zx*zw
				yRow[j] = Y((float64(accRow[j]) + float64(corr)) * sx * sw)
			}
		}
	})
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
	if op.vector {
		h.Write([]byte("vector "))
	}
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
	op.rec.grads = true // the forward run keeps what the gradient ops need
	ret := make(gorgonia.Nodes, 2)
	for wrt := range ret {
		g, err := gorgonia.ApplyOp(&LinearGradOp{State: op.State, Layout: op.Layout, WRT: wrt, rec: op.rec, vector: op.vector}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
		}
		if gop, ok := g.Op().(*LinearGradOp); ok {
			gop.node = g
			op.rec.both.nodes[wrt] = g
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
	node   *gorgonia.Node // the op's node, when added by SymDiff
	out    *tensor.Dense  // output buffer reused between runs
	own    [2]operand     // x and w quantized here when the forward run did not keep them
	vector bool           // the weight is a vector
	own32  *[2]operandG[float32]
	own64  *[2]operandG[float64]
	tg     tableScratch
}

func (op *LinearGradOp) Arity() int { return 3 }
func (op *LinearGradOp) Type() hm.Type {
	if !op.vector {
		return fnType(3, 2)
	}
	if op.WRT == 1 {
		return hm.NewFnType(tensorType(2), tensorType(1), tensorType(2), tensorType(1))
	}
	return hm.NewFnType(tensorType(2), tensorType(1), tensorType(2), tensorType(2))
}

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
	if useGeneric(vs) {
		if isFloat64(vs[0]) {
			return linearGradDoG[float64](op, prealloc, vs)
		}
		return linearGradDoG[float32](op, prealloc, vs)
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
	out, r := output(prealloc, &op.out, rs, x, w, dy)
	if !gradNeeded(op.node) {
		clear(r)
		return out, nil
	}
	if op.rec.grad.Kind == TableGradient {
		if err := linearTableBackward(op.State, op.rec, op.Layout, op.WRT, r, x, w, dy, xs, ws, &op.own, &op.tg); err != nil {
			return nil, err
		}
		return out, nil
	}
	linearBackward(op.rec, op.Layout, op.WRT, r, x, w, dy, xs, ws, &op.own, op.State.threads())
	return out, nil
}

// linearTableBackward writes into r the gradient with respect to input wrt
// with the table's slopes in place of the operands' values, masked as the
// straight-through gradient is.
func linearTableBackward(s *LayerState, rec *runRecord, layout WeightLayout, wrt int, r, x, w, dy []float32, xs, ws tensor.Shape, own *[2]operand, sc *tableScratch) error {
	t, err := s.tablesFor(rec)
	if err != nil {
		return err
	}
	threads := s.threads()
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	xq, wq := rec.gradCodes(x, xs, w, ws, own, threads)
	mask := xq.mask
	if wrt == 1 {
		mask = wq.mask
	}
	f := &rec.both
	fuse := f.wanted(wrt) && len(dy) > 0 && len(x) > 0 && len(w) > 0
	if fuse && f.holds(dy, x, w) {
		// The other gradient op computed both.
		copy(r, f.result(wrt))
		applyMask(r, mask, threads)
		return nil
	}
	wb := wq.bytes
	if layout == InOut && len(ws) == 2 {
		// The kernels want one row of k codes per output.
		sc.wT = grow(sc.wT, len(wb))
		transposeBytes(sc.wT, wb, k, n)
		wb = sc.wT
	}
	q := rec.tableQuant(&sc.quant)
	switch {
	case fuse:
		f.dx, f.dw = grow(f.dx, m*k), grow(f.dw, n*k)
		if err := tablegrad.GEMMBoth(f.dx, f.dw, dy, xq.bytes, wb, m, n, k, layout == InOut, t, q, threads, &sc.ws); err != nil {
			return fmt.Errorf("ops: layer %q: %w", s.ID, err)
		}
		f.ofDY, f.ofX, f.ofW = &dy[0], &x[0], &w[0]
		copy(r, f.result(wrt))
	case wrt == 0:
		err = tablegrad.GEMMData(r, dy, xq.bytes, wb, m, n, k, t, q, threads, &sc.ws)
	default:
		err = tablegrad.GEMMWeight(r, dy, xq.bytes, wb, m, n, k, layout == InOut, t, q, threads, &sc.ws)
	}
	if err != nil {
		return fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	applyMask(r, mask, threads)
	return nil
}

// linearBackward writes into r the gradient with respect to input wrt.
func linearBackward(rec *runRecord, layout WeightLayout, wrt int, r, x, w, dy []float32, xs, ws tensor.Shape, own *[2]operand, threads int) {
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	dy = rec.noise.backward(dy, threads)
	impl := gorgonia.WhichBLAS()
	var mask []bool
	if rec.mode.Quantizes() {
		x, w, mask = rec.gradOperands(wrt, x, xs, w, ws, own, threads)
	}
	switch {
	case wrt == 0: // dx (m×k) = dy (m×n) · W (n×k)
		floatkernel.MatMul(impl, false, layout == InOut, m, k, n, 1, dy, w, 0, r, threads)
	case layout == OutIn: // dW (n×k) = dyᵀ (n×m) · x (m×k)
		floatkernel.MatMul(impl, true, false, n, k, m, 1, dy, x, 0, r, threads)
	default: // dW (k×n) = xᵀ (k×m) · dy (m×n)
		floatkernel.MatMul(impl, true, false, k, n, m, 1, x, dy, 0, r, threads)
	}
	applyMask(r, mask, threads)
}

// applyMask zeroes the gradient where the value was clamped. It selects
// by bit masks rather than branches: clamped values are common and
// scattered (half of a ReLU's inputs), which would defeat branch
// prediction.
func applyMask(g []float32, mask []bool, threads int) {
	if mask == nil {
		return
	}
	parallelRanges(len(g), threads, minQuantPerWorker, func(_, lo, hi int) {
		m := mask[lo:hi]
		for i, v := range g[lo:hi] {
			g[lo+i] = math.Float32frombits(math.Float32bits(v) & -boolBit(m[i]))
		}
	})
}

// boolBit is 1 for true and 0 for false, without a branch.
func boolBit(b bool) uint32 {
	var x uint32
	if b {
		x = 1
	}
	return x
}

func (op *LinearGradOp) ReturnsPtr() bool     { return false }
func (op *LinearGradOp) CallsExtern() bool    { return false }
func (op *LinearGradOp) OverwritesInput() int { return -1 }

func (op *LinearGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.LinearGrad{wrt=%d layout=%d ", op.WRT, op.Layout)
	if op.vector {
		h.Write([]byte("vector "))
	}
	writeState(h, op.State)
	h.Write([]byte("}"))
}

func (op *LinearGradOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *LinearGradOp) String() string {
	return fmt.Sprintf("ApproxLinearGrad(%s, wrt=%d)", op.State.ID, op.WRT)
}
