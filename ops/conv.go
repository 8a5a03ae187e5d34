package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/floatkernel"
	"github.com/goapprox/goapprox/internal/tablegrad"
	"github.com/goapprox/goapprox/internal/values"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/ops/kernel"
)

// ConvArgs are the arguments of a 2-D convolution, as (height, width)
// pairs. Zero strides, dilations and groups mean 1.
type ConvArgs struct {
	Stride, Pad, Dilation [2]int
	Groups                int
}

// Normalized returns the arguments with zero defaults replaced by 1: the
// values the ops compute with, and so the ones a layer reports.
func (a ConvArgs) Normalized() ConvArgs {
	for i := range 2 {
		if a.Stride[i] == 0 {
			a.Stride[i] = 1
		}
		if a.Dilation[i] == 0 {
			a.Dilation[i] = 1
		}
	}
	if a.Groups == 0 {
		a.Groups = 1
	}
	return a
}

// geom returns the convolution geometry of an NCHW input and O×(C/G)×KH×KW
// weights, checking that they fit the arguments.
func (a ConvArgs) geom(xs, ws tensor.Shape) (geom.Conv, error) {
	a = a.Normalized()
	g := geom.Conv{
		N: xs[0], C: xs[1], H: xs[2], W: xs[3],
		O: ws[0], KH: ws[2], KW: ws[3],
		StrideH: a.Stride[0], StrideW: a.Stride[1],
		PadH: a.Pad[0], PadW: a.Pad[1],
		DilH: a.Dilation[0], DilW: a.Dilation[1],
		Groups: a.Groups,
	}
	if err := g.Validate(); err != nil {
		return g, fmt.Errorf("ops: %w", err)
	}
	if ws[1] != g.InPerGroup() {
		return g, fmt.Errorf("ops: conv2d: weights %v have %d input channels, but %d channels in %d groups need %d", ws, ws[1], g.C, g.Groups, g.InPerGroup())
	}
	return g, nil
}

func (a ConvArgs) String() string {
	a = a.Normalized()
	return fmt.Sprintf("stride=%v pad=%v dilation=%v groups=%d", a.Stride, a.Pad, a.Dilation, a.Groups)
}

// convShape checks (x, w) shapes and returns the output shape.
func convShape(args ConvArgs, ds []gorgonia.DimSizer) (tensor.Shape, geom.Conv, error) {
	if len(ds) < 2 {
		return nil, geom.Conv{}, fmt.Errorf("ops: conv2d takes x and w, got %d inputs", len(ds))
	}
	xs, err := shapeOf(ds[0], 4, "conv2d input x (N, C, H, W)")
	if err != nil {
		return nil, geom.Conv{}, err
	}
	ws, err := shapeOf(ds[1], 4, "conv2d weights w (O, C/groups, kh, kw)")
	if err != nil {
		return nil, geom.Conv{}, err
	}
	g, err := args.geom(xs, ws)
	if err != nil {
		return nil, g, err
	}
	return tensor.Shape{g.N, g.O, g.OutH(), g.OutW()}, g, nil
}

// Conv2dOp is the approximate 2-D convolution (NCHW, grouped and
// depthwise), computed as the state's mode says. It adds no bias.
type Conv2dOp struct {
	State *LayerState
	Args  ConvArgs
	rec   *runRecord
	out   *tensor.Dense // output buffer reused between runs
	ws    floatkernel.Workspace
}

// Conv2d adds an approximate convolution of x (N, C, H, W) with w (O,
// C/groups, kh, kw) to x's graph.
func Conv2d(x, w *gorgonia.Node, s *LayerState, args ConvArgs) (*gorgonia.Node, error) {
	if err := checkFloats("Conv2d", x, w); err != nil {
		return nil, err
	}
	if s == nil || s.ID == "" {
		return nil, fmt.Errorf("ops: Conv2d needs a LayerState with a non-empty ID (use NewLayerState)")
	}
	op := &Conv2dOp{State: s, Args: args.Normalized(), rec: new(runRecord)}
	if _, _, err := convShape(op.Args, []gorgonia.DimSizer{x.Shape(), w.Shape()}); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, w)
}

func (op *Conv2dOp) Arity() int    { return 2 }
func (op *Conv2dOp) Type() hm.Type { return fnType(2, 4) }

func (op *Conv2dOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, _, err := convShape(op.Args, ds)
	return s, err
}

func (op *Conv2dOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

func (op *Conv2dOp) UsePreallocDo(prealloc gorgonia.Value, vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) > 0 && isFloat64(vs[0]) {
		return convDoG[float64](op.State, op.rec, &op.out, op.Args, prealloc, vs)
	}
	x, w, g, err := convInputs(op.Args, vs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, tensor.Shape{g.N, g.O, g.OutH(), g.OutW()}, x, w)
	if _, err := convForwardWith(op.State, op.rec, &op.ws, y, x, w, g); err != nil {
		return nil, err
	}
	return out, nil
}

// convInputs reads (x, w) and their geometry.
func convInputs(args ConvArgs, vs []gorgonia.Value) (x, w []float32, g geom.Conv, err error) {
	if len(vs) != 2 {
		return nil, nil, g, fmt.Errorf("ops: conv2d takes 2 inputs, got %d", len(vs))
	}
	x, xs, err := floats(vs[0], "conv2d input x")
	if err != nil {
		return nil, nil, g, err
	}
	w, ws, err := floats(vs[1], "conv2d weights w")
	if err != nil {
		return nil, nil, g, err
	}
	_, g, err = convShape(args, []gorgonia.DimSizer{xs, ws})
	return x, w, g, err
}

func xShape(g geom.Conv) []int { return []int{g.N, g.C, g.H, g.W} }
func wShape(g geom.Conv) []int { return []int{g.O, g.InPerGroup(), g.KH, g.KW} }

// convForward computes y for the state's mode and records the run. It
// returns the integer accumulators where convApprox does, valid until the
// next run.
func convForward(s *LayerState, rec *runRecord, y, x, w []float32, g geom.Conv) ([]int32, error) {
	return convForwardWith(s, rec, nil, y, x, w, g)
}

// convForwardWith is convForward with the float kernels' scratch memory.
func convForwardWith(s *LayerState, rec *runRecord, ws *floatkernel.Workspace, y, x, w []float32, g geom.Conv) ([]int32, error) {
	xs, wsh := xShape(g), wShape(g)
	if err := rec.begin(s, x, xs, w, wsh, 0, true); err != nil {
		return nil, err
	}
	impl := gorgonia.WhichBLAS()
	switch s.Mode {
	case Float, Observe:
		if s.FloatLikeGorgonia {
			convFloatG(generic[float32](rec), y, x, w, g, s.threads())
			return nil, nil
		}
		return nil, floatkernel.Conv2d(impl, y, x, w, g, s.threads(), ws)
	case Quantized, Noise:
		if err := rec.quantizeInputs(s, x, xs, w, wsh, false, true, gradXFloat); err != nil {
			return nil, err
		}
		if err := floatkernel.Conv2d(impl, y, rec.x.q.fq, rec.w.q.fq, g, s.threads(), ws); err != nil {
			return nil, err
		}
		if s.Mode == Noise && s.Training {
			rec.noise = addNoise(s, y, &rec.noiseBuf)
		}
		return nil, nil
	}
	if err := rec.quantizeInputs(s, x, xs, w, wsh, true, false, gradXCodes); err != nil {
		return nil, err
	}
	return convApprox(s, rec, y, rec.x.q.bytes, rec.w.q.bytes, g)
}

// convScratch is one rescale worker's memory for window sums.
type convScratch struct {
	plane, win []int64
}

// convApprox computes the approximate convolution from the quantized
// inputs in rec: table sums (or, in Surrogate mode, the surrogate's float
// sums) with padding read as the code zx, exact zero-point correction, one
// rescale. It returns the integer sums in Approximate mode when it
// corrects them itself, nil in Surrogate mode and when the kernel
// rescales them as it writes them (no weight zero point, float32 output).
func convApprox[Y values.Float](s *LayerState, rec *runRecord, y []Y, xBytes, wBytes []byte, g geom.Conv) ([]int32, error) {
	pad := byte(rec.xp.ZeroPoint[0])
	if s.Mode == Surrogate {
		rec.facc = grow(rec.facc, g.YLen())
		if err := s.surrogateConv2d(rec.facc, xBytes, wBytes, pad, g); err != nil {
			return nil, err
		}
		convCorrect(s, rec, y, rec.facc, xBytes, wBytes, g)
		return nil, nil
	}
	if y32, ok := any(y).([]float32); ok {
		if r, ok := rec.convRescale(wBytes, g); ok {
			// The kernel rescales the sums as it writes them.
			return nil, s.lutConv2dRescaled(y32, xBytes, wBytes, pad, g, r)
		}
	}
	rec.acc = grow(rec.acc, g.YLen())
	if err := s.lutConv2d(rec.acc, xBytes, wBytes, pad, g); err != nil {
		return nil, err
	}
	convCorrect(s, rec, y, rec.acc, xBytes, wBytes, g)
	return rec.acc, nil
}

// convRescale returns convCorrect's correction and scale per output
// channel for a convolution whose weights have no zero point (every
// channel's zw is 0, so no window sums of the input are needed); ok is
// false otherwise.
func (rec *runRecord) convRescale(wBytes []byte, g geom.Conv) (r kernel.Rescale, ok bool) {
	zx, sx := int64(rec.xp.ZeroPoint[0]), float64(rec.xp.Scale[0])
	k := g.FanIn()
	rec.corr, rec.scales = grow(rec.corr, g.O), grow(rec.scales, g.O)
	for o := range g.O {
		zw, sw := channelParams(rec, o)
		if zw != 0 {
			return kernel.Rescale{}, false
		}
		rec.corr[o] = -zx * codeSum(wBytes[o*k:(o+1)*k], rec.wp.Signed())
		rec.scales[o] = sx * sw
	}
	return kernel.Rescale{Corr: rec.corr, Scale: rec.scales}, true
}

// convCorrect sets y = (acc − zx·Σw[o] − zw[o]·Σx(window) + K·zx·zw[o])·sx·
// sw[o] from the convolution sums acc, padding counted as the code zx. The
// correction is an integer and the sums are integers or float32, so their
// float64 sum is exact: integer sums give the same bits as integer math.
func convCorrect[A int32 | float32, Y values.Float](s *LayerState, rec *runRecord, y []Y, acc []A, xBytes, wBytes []byte, g geom.Conv) {
	zx, sx := rec.xp.ZeroPoint[0], float64(rec.xp.Scale[0])
	k := g.FanIn()
	spatial := g.OutH() * g.OutW()
	og := g.OutPerGroup()
	rec.sums = grow(rec.sums, g.O)
	wSum := rec.sums
	wSigned, xSigned := rec.wp.Signed(), rec.xp.Signed()
	for o := range wSum {
		wSum[o] = codeSum(wBytes[o*k:(o+1)*k], wSigned)
	}
	// One task per (image, group); Σx_q over each receptive field is
	// needed only for output channels with a non-zero weight zero point.
	tasks := g.N * g.Groups
	threads := s.threads()
	rec.workers = grow(rec.workers, resolveThreads(threads))
	parallelRanges(tasks, threads, max(1, minRescalePerWorker/max(og*spatial, 1)), func(t, lo, hi int) {
		sc := &rec.workers[t]
		for task := lo; task < hi; task++ {
			n, grp := task/g.Groups, task%g.Groups
			var win []int64
			for o := grp * og; o < (grp+1)*og; o++ {
				zw, sw := channelParams(rec, o)
				if zw != 0 && win == nil {
					win = sc.windowSums(xBytes, xSigned, zx, g, n, grp)
				}
				base := (n*g.O + o) * spatial
				corr := int64(k)*int64(zx)*zw - int64(zx)*wSum[o]
				scale := sx * sw
				accPlane, yPlane := acc[base:base+spatial], y[base:base+spatial]
				if zw == 0 {
					ints, ok := any(accPlane).([]int32)
					y32, ok32 := any(yPlane).([]float32)
					if ok && ok32 {
						rescale(y32, ints, corr, scale)
						continue
					}
					for p, a := range accPlane {
						yPlane[p] = Y((float64(a) + float64(corr)) * scale)
					}
					continue
				}
				for p, a := range accPlane {
					yPlane[p] = Y((float64(a) + float64(corr-zw*win[p])) * scale)
				}
			}
		}
	})
}

// rescaleVector, where the CPU has one, does rescale's work on the longest
// prefix it can and returns its length.
var rescaleVector func(y []float32, acc []int32, corr int64, scale float64) int

// rescale sets y[i] = float32(float64(acc[i] + corr)·scale).
func rescale(y []float32, acc []int32, corr int64, scale float64) {
	start := 0
	if rescaleVector != nil {
		start = rescaleVector(y, acc, corr, scale)
	}
	for p, a := range acc[start:len(y)] {
		y[start+p] = float32(float64(int64(a)+corr) * scale)
	}
}

// windowSums returns, for image n and group grp, the sum of the activation
// codes under every output position's receptive field, padding counted as
// the code zx. The result lives in the scratch memory.
func (sc *convScratch) windowSums(xBytes []byte, signed bool, zx int32, g geom.Conv, n, grp int) []int64 {
	cg := g.InPerGroup()
	sc.plane = grow(sc.plane, g.H*g.W)
	plane := sc.plane
	clear(plane)
	for c := 0; c < cg; c++ {
		src := xBytes[((n*g.C+grp*cg+c)*g.H)*g.W:][:g.H*g.W]
		if signed {
			for i, v := range src {
				plane[i] += int64(int8(v))
			}
		} else {
			for i, v := range src {
				plane[i] += int64(v)
			}
		}
	}
	oh, ow := g.OutH(), g.OutW()
	pad := int64(cg) * int64(zx)
	sc.win = grow(sc.win, oh*ow)
	sums := sc.win
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var s int64
			for ky := 0; ky < g.KH; ky++ {
				iy := oy*g.StrideH - g.PadH + ky*g.DilH
				for kx := 0; kx < g.KW; kx++ {
					ix := ox*g.StrideW - g.PadW + kx*g.DilW
					if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
						s += pad
					} else {
						s += plane[iy*g.W+ix]
					}
				}
			}
			sums[oy*ow+ox] = s
		}
	}
	return sums
}

func (op *Conv2dOp) ReturnsPtr() bool     { return false }
func (op *Conv2dOp) CallsExtern() bool    { return false }
func (op *Conv2dOp) OverwritesInput() int { return -1 }

func (op *Conv2dOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.Conv2d{%v ", op.Args.Normalized())
	writeState(h, op.State)
	h.Write([]byte("}"))
}

func (op *Conv2dOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *Conv2dOp) String() string {
	return fmt.Sprintf("ApproxConv2d(%s, %v)", op.State.ID, op.Args)
}

func (op *Conv2dOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

func (op *Conv2dOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return convSymDiff(op.State, op.Args, op.rec, inputs, grad)
}

func convSymDiff(s *LayerState, args ConvArgs, rec *runRecord, inputs gorgonia.Nodes, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("ops: conv2d takes 2 inputs, got %d", len(inputs))
	}
	rec.grads = true // the forward run keeps what the gradient ops need
	ret := make(gorgonia.Nodes, 2)
	for wrt := range ret {
		g, err := gorgonia.ApplyOp(&Conv2dGradOp{State: s, Args: args, WRT: wrt, rec: rec}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
		}
		if op, ok := g.Op().(*Conv2dGradOp); ok {
			op.node = g
		}
		ret[wrt] = g
	}
	return ret, nil
}

// Conv2dGradOp computes the straight-through gradient of a Conv2dOp (or,
// with a nil State, of a plain GroupedConv2dOp) with respect to its input
// (WRT 0) or weights (WRT 1), from (x, w, dy): the gradient of the exact
// convolution of the fake-quantized tensors, masked where the
// differentiated tensor was clamped; in Float mode the plain gradient. It
// uses the mode and parameters of the forward run of the same step.
type Conv2dGradOp struct {
	State *LayerState
	Args  ConvArgs
	WRT   int
	rec   *runRecord
	node  *gorgonia.Node // the op's node, when added by SymDiff
	out   *tensor.Dense  // output buffer reused between runs
	own   [2]operand     // x and w quantized here when the forward run did not keep them
	ws    floatkernel.Workspace
	own32 *[2]operandG[float32]
	own64 *[2]operandG[float64]
	tg    tableScratch
}

func (op *Conv2dGradOp) Arity() int    { return 3 }
func (op *Conv2dGradOp) Type() hm.Type { return fnType(3, 4) }

func (op *Conv2dGradOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(ds) != 3 {
		return nil, fmt.Errorf("ops: Conv2dGrad takes x, w and dy, got %d inputs", len(ds))
	}
	ys, _, err := convShape(op.Args, ds[:2])
	if err != nil {
		return nil, err
	}
	dys, err := shapeOf(ds[2], 4, "Conv2dGrad dy")
	if err != nil {
		return nil, err
	}
	if !dys.Eq(ys) {
		return nil, fmt.Errorf("ops: Conv2dGrad: dy has shape %v, want %v", dys, ys)
	}
	return ds[op.WRT].(tensor.Shape).Clone(), nil
}

func (op *Conv2dGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

func (op *Conv2dGradOp) UsePreallocDo(prealloc gorgonia.Value, vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != 3 {
		return nil, fmt.Errorf("ops: Conv2dGrad takes 3 inputs, got %d", len(vs))
	}
	if isFloat64(vs[0]) {
		return convGradDoG[float64](op, prealloc, vs)
	}
	x, w, g, err := convInputs(op.Args, vs[:2])
	if err != nil {
		return nil, err
	}
	dy, dys, err := floats(vs[2], "Conv2dGrad dy")
	if err != nil {
		return nil, err
	}
	if want := (tensor.Shape{g.N, g.O, g.OutH(), g.OutW()}); !dys.Eq(want) {
		return nil, fmt.Errorf("ops: Conv2dGrad: dy has shape %v, want %v", dys, want)
	}
	if !op.rec.ran {
		return nil, errNoForward
	}
	shape := tensor.Shape(xShape(g))
	if op.WRT == 1 {
		shape = wShape(g)
	}
	out, r := output(prealloc, &op.out, shape, x, w, dy)
	if !gradNeeded(op.node) {
		clear(r)
		return out, nil
	}
	if op.rec.grad.Kind == TableGradient {
		if err := convTableBackward(op.State, op.rec, op.WRT, r, x, w, dy, g, &op.own, &op.tg); err != nil {
			return nil, err
		}
		return out, nil
	}
	if err := convBackward(op.rec, op.WRT, r, x, w, dy, g, &op.own, &op.ws, op.State.threads()); err != nil {
		return nil, err
	}
	return out, nil
}

// convTableBackward writes into r the gradient with respect to input wrt
// with the table's slopes in place of the operands' values, masked as the
// straight-through gradient is.
func convTableBackward(s *LayerState, rec *runRecord, wrt int, r, x, w, dy []float32, g geom.Conv, own *[2]operand, sc *tableScratch) error {
	t, err := s.tablesFor(rec)
	if err != nil {
		return err
	}
	threads := s.threads()
	xq, wq := rec.gradCodes(x, xShape(g), w, wShape(g), own, threads)
	q := rec.tableQuant(&sc.quant)
	mask := xq.mask
	if wrt == 0 {
		err = tablegrad.Conv2dData(r, dy, xq.bytes, wq.bytes, g, t, q, threads, &sc.ws)
	} else {
		mask = wq.mask
		err = tablegrad.Conv2dWeight(r, dy, xq.bytes, wq.bytes, g, t, q, threads, &sc.ws)
	}
	if err != nil {
		return fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	applyMask(r, mask, threads)
	return nil
}

// convBackward writes into r the gradient with respect to input wrt.
// The input's mask is applied as the data gradient is written, and in
// Approximate and Surrogate mode the weight gradient reads the input's
// table indices: for a depthwise layer, bound by memory traffic, each
// input-sized pass saved is about as costly as its kernels.
func convBackward(rec *runRecord, wrt int, r, x, w, dy []float32, g geom.Conv, own *[2]operand, ws *floatkernel.Workspace, threads int) error {
	dy = rec.noise.backward(dy, threads)
	impl := gorgonia.WhichBLAS()
	if !rec.mode.Quantizes() {
		if wrt == 0 {
			return floatkernel.Conv2dBackwardData(impl, r, dy, w, g, threads, ws)
		}
		return floatkernel.Conv2dBackwardWeight(impl, r, dy, x, g, threads, ws)
	}
	gx := gradXFloat
	if rec.mode == Approximate || rec.mode == Surrogate {
		gx = gradXCodes
	}
	xq, wq := rec.gradInputs(x, xShape(g), w, wShape(g), own, threads, gx)
	if wrt == 0 {
		return floatkernel.Conv2dBackwardDataMasked(impl, r, dy, wq.fq, xq.mask, g, threads, ws)
	}
	var err error
	if xq.fq != nil {
		err = floatkernel.Conv2dBackwardWeight(impl, r, dy, xq.fq, g, threads, ws)
	} else {
		err = floatkernel.Conv2dBackwardWeightCodes(impl, r, dy, xq.bytes, rec.xp.Signed(), rec.xp.ZeroPoint[0], rec.xp.Scale[0], g, threads, ws)
	}
	applyMask(r, wq.mask, threads)
	return err
}

func (op *Conv2dGradOp) ReturnsPtr() bool     { return false }
func (op *Conv2dGradOp) CallsExtern() bool    { return false }
func (op *Conv2dGradOp) OverwritesInput() int { return -1 }

func (op *Conv2dGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.Conv2dGrad{wrt=%d %v ", op.WRT, op.Args.Normalized())
	writeState(h, op.State)
	h.Write([]byte("}"))
}

func (op *Conv2dGradOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *Conv2dGradOp) String() string {
	id := "float"
	if op.State != nil {
		id = op.State.ID
	}
	return fmt.Sprintf("ApproxConv2dGrad(%s, wrt=%d)", id, op.WRT)
}

// GroupedConv2dOp is a plain float grouped (or depthwise) convolution, which
// Gorgonia lacks, computed by the same kernels as an approximate
// convolution's Float mode. It adds no bias.
type GroupedConv2dOp struct {
	Args ConvArgs
	rec  *runRecord
	out  *tensor.Dense // output buffer reused between runs
	ws   floatkernel.Workspace
}

// GroupedConv2d adds a float grouped convolution of x (N, C, H, W) with w
// (O, C/groups, kh, kw) to x's graph.
func GroupedConv2d(x, w *gorgonia.Node, args ConvArgs) (*gorgonia.Node, error) {
	if err := checkFloats("GroupedConv2d", x, w); err != nil {
		return nil, err
	}
	op := &GroupedConv2dOp{Args: args.Normalized(), rec: &runRecord{ran: true, mode: Float}}
	if _, _, err := convShape(op.Args, []gorgonia.DimSizer{x.Shape(), w.Shape()}); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, w)
}

func (op *GroupedConv2dOp) Arity() int    { return 2 }
func (op *GroupedConv2dOp) Type() hm.Type { return fnType(2, 4) }

func (op *GroupedConv2dOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, _, err := convShape(op.Args, ds)
	return s, err
}

func (op *GroupedConv2dOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, vs...)
}

func (op *GroupedConv2dOp) UsePreallocDo(prealloc gorgonia.Value, vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) > 0 && isFloat64(vs[0]) {
		return convDoG[float64](nil, op.rec, &op.out, op.Args, prealloc, vs)
	}
	x, w, g, err := convInputs(op.Args, vs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, tensor.Shape{g.N, g.O, g.OutH(), g.OutW()}, x, w)
	if err := floatkernel.Conv2d(gorgonia.WhichBLAS(), y, x, w, g, 0, &op.ws); err != nil {
		return nil, err
	}
	return out, nil
}

func (op *GroupedConv2dOp) ReturnsPtr() bool     { return false }
func (op *GroupedConv2dOp) CallsExtern() bool    { return false }
func (op *GroupedConv2dOp) OverwritesInput() int { return -1 }

func (op *GroupedConv2dOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.GroupedConv2d{%v}", op.Args.Normalized())
}

func (op *GroupedConv2dOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *GroupedConv2dOp) String() string { return fmt.Sprintf("GroupedConv2d(%v)", op.Args) }

func (op *GroupedConv2dOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

func (op *GroupedConv2dOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return convSymDiff(nil, op.Args, op.rec, inputs, grad)
}
