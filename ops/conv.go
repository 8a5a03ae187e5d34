package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/ops/floatkernel"
	"github.com/goapprox/goapprox/ops/kernel"
)

// ConvArgs are the arguments of a 2-D convolution, as (height, width)
// pairs. Zero strides, dilations and groups mean 1.
type ConvArgs struct {
	Stride, Pad, Dilation [2]int
	Groups                int
}

// normalized returns the arguments with zero defaults replaced by 1.
func (a ConvArgs) normalized() ConvArgs {
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
func (a ConvArgs) geom(xs, ws tensor.Shape) (kernel.ConvGeom, error) {
	a = a.normalized()
	g := kernel.ConvGeom{
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
	a = a.normalized()
	return fmt.Sprintf("stride=%v pad=%v dilation=%v groups=%d", a.Stride, a.Pad, a.Dilation, a.Groups)
}

// convShape checks (x, w) shapes and returns the output shape.
func convShape(args ConvArgs, ds []gorgonia.DimSizer) (tensor.Shape, kernel.ConvGeom, error) {
	if len(ds) < 2 {
		return nil, kernel.ConvGeom{}, fmt.Errorf("ops: conv2d takes x and w, got %d inputs", len(ds))
	}
	xs, err := shapeOf(ds[0], 4, "conv2d input x (N, C, H, W)")
	if err != nil {
		return nil, kernel.ConvGeom{}, err
	}
	ws, err := shapeOf(ds[1], 4, "conv2d weights w (O, C/groups, kh, kw)")
	if err != nil {
		return nil, kernel.ConvGeom{}, err
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
}

// Conv2d adds an approximate convolution of x (N, C, H, W) with w (O,
// C/groups, kh, kw) to x's graph.
func Conv2d(x, w *gorgonia.Node, s *LayerState, args ConvArgs) (*gorgonia.Node, error) {
	if err := checkFloat32("Conv2d", x, w); err != nil {
		return nil, err
	}
	if s == nil || s.ID == "" {
		return nil, fmt.Errorf("ops: Conv2d needs a LayerState with a non-empty ID (use NewLayerState)")
	}
	op := &Conv2dOp{State: s, Args: args.normalized(), rec: new(runRecord)}
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
	x, w, g, err := convInputs(op.Args, vs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, tensor.Shape{g.N, g.O, g.OutH(), g.OutW()})
	if _, err := convForward(op.State, op.rec, y, x, w, g); err != nil {
		return nil, err
	}
	return out, nil
}

// convInputs reads (x, w) and their geometry.
func convInputs(args ConvArgs, vs []gorgonia.Value) (x, w []float32, g kernel.ConvGeom, err error) {
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

func xShape(g kernel.ConvGeom) []int { return []int{g.N, g.C, g.H, g.W} }
func wShape(g kernel.ConvGeom) []int { return []int{g.O, g.InPerGroup(), g.KH, g.KW} }

// convForward computes y for the state's mode and records the run. It
// returns the integer accumulators in Approximate mode (nil otherwise).
func convForward(s *LayerState, rec *runRecord, y, x, w []float32, g kernel.ConvGeom) ([]int32, error) {
	xs, ws := xShape(g), wShape(g)
	if err := rec.begin(s, x, xs, w, ws, 0); err != nil {
		return nil, err
	}
	var xh, wh *[256]int64
	if s.RecordHistograms {
		xh, wh = &s.XHist, &s.WHist
	}
	impl := gorgonia.WhichBLAS()
	switch s.Mode {
	case Float:
		return nil, floatkernel.Conv2d(impl, y, x, w, g, s.threads())
	case Quantized, Noise:
		xfq, _ := fakeQuant(rec.xp, x, xs, xh, s.threads())
		wfq, _ := fakeQuant(rec.wp, w, ws, wh, s.threads())
		if err := floatkernel.Conv2d(impl, y, xfq, wfq, g, s.threads()); err != nil {
			return nil, err
		}
		if s.Mode == Noise && s.Training {
			rec.noise = addNoise(s, y)
		}
		return nil, nil
	}
	return convApprox(s, rec, y, x, w, g, xh, wh)
}

// convApprox computes the approximate convolution: table sums with padding
// read as the code zx, exact zero-point correction, one rescale.
func convApprox(s *LayerState, rec *runRecord, y, x, w []float32, g kernel.ConvGeom, xh, wh *[256]int64) ([]int32, error) {
	xq := quantized{codes: make([]int32, len(x)), bytes: make([]byte, len(x))}
	quantizeTensor(&xq, rec.xp, x, xShape(g), xh, s.threads())
	wq := quantized{codes: make([]int32, len(w)), bytes: make([]byte, len(w))}
	quantizeTensor(&wq, rec.wp, w, wShape(g), wh, s.threads())
	zx, sx := rec.xp.ZeroPoint[0], float64(rec.xp.Scale[0])
	acc := make([]int32, g.YLen())
	if err := s.lutConv2d(acc, xq.bytes, wq.bytes, byte(zx), g); err != nil {
		return nil, err
	}
	k := g.FanIn()
	oh, ow := g.OutH(), g.OutW()
	spatial := oh * ow
	og := g.OutPerGroup()
	wSum := make([]int64, g.O)
	for o := range wSum {
		for _, c := range wq.codes[o*k : (o+1)*k] {
			wSum[o] += int64(c)
		}
	}
	// Σx_q over each receptive field is needed only for output channels
	// with a non-zero weight zero point.
	var win []int64
	for n := 0; n < g.N; n++ {
		for grp := 0; grp < g.Groups; grp++ {
			win = nil
			for o := grp * og; o < (grp+1)*og; o++ {
				zw, sw := channelParams(rec, o)
				if zw != 0 && win == nil {
					win = windowSums(xq.codes, zx, g, n, grp)
				}
				base := (n*g.O + o) * spatial
				corr := int64(k)*int64(zx)*zw - int64(zx)*wSum[o]
				for p := 0; p < spatial; p++ {
					t := int64(acc[base+p]) + corr
					if zw != 0 {
						t -= zw * win[p]
					}
					y[base+p] = float32(float64(t) * sx * sw)
				}
			}
		}
	}
	return acc, nil
}

// windowSums returns, for image n and group grp, the sum of the activation
// codes under every output position's receptive field, padding counted as
// the code zx.
func windowSums(codes []int32, zx int32, g kernel.ConvGeom, n, grp int) []int64 {
	cg := g.InPerGroup()
	plane := make([]int64, g.H*g.W)
	for c := 0; c < cg; c++ {
		src := codes[((n*g.C+grp*cg+c)*g.H)*g.W:][:g.H*g.W]
		for i, v := range src {
			plane[i] += int64(v)
		}
	}
	oh, ow := g.OutH(), g.OutW()
	pad := int64(cg) * int64(zx)
	sums := make([]int64, oh*ow)
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
	fmt.Fprintf(h, "goapprox.Conv2d{%v ", op.Args.normalized())
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
	ret := make(gorgonia.Nodes, 2)
	for wrt := range ret {
		g, err := gorgonia.ApplyOp(&Conv2dGradOp{State: s, Args: args, WRT: wrt, rec: rec}, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
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
	out, r := output(prealloc, shape)
	if err := convBackward(op.rec, op.WRT, r, x, w, dy, g, op.State.threads()); err != nil {
		return nil, err
	}
	return out, nil
}

// convBackward writes into r the gradient with respect to input wrt.
func convBackward(rec *runRecord, wrt int, r, x, w, dy []float32, g kernel.ConvGeom, threads int) error {
	dy = rec.noise.backward(dy)
	var mask []bool
	if rec.mode != Float {
		if wrt == 0 {
			w, _ = fakeQuant(rec.wp, w, wShape(g), nil, threads)
			_, mask = fakeQuant(rec.xp, x, xShape(g), nil, threads)
		} else {
			x, _ = fakeQuant(rec.xp, x, xShape(g), nil, threads)
			_, mask = fakeQuant(rec.wp, w, wShape(g), nil, threads)
		}
	}
	impl := gorgonia.WhichBLAS()
	var err error
	if wrt == 0 {
		err = floatkernel.Conv2dBackwardData(impl, r, dy, w, g, threads)
	} else {
		err = floatkernel.Conv2dBackwardWeight(impl, r, dy, x, g, threads)
	}
	applyMask(r, mask)
	return err
}

func (op *Conv2dGradOp) ReturnsPtr() bool     { return false }
func (op *Conv2dGradOp) CallsExtern() bool    { return false }
func (op *Conv2dGradOp) OverwritesInput() int { return -1 }

func (op *Conv2dGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.Conv2dGrad{wrt=%d %v ", op.WRT, op.Args.normalized())
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
}

// GroupedConv2d adds a float grouped convolution of x (N, C, H, W) with w
// (O, C/groups, kh, kw) to x's graph.
func GroupedConv2d(x, w *gorgonia.Node, args ConvArgs) (*gorgonia.Node, error) {
	if err := checkFloat32("GroupedConv2d", x, w); err != nil {
		return nil, err
	}
	op := &GroupedConv2dOp{Args: args.normalized(), rec: &runRecord{ran: true, mode: Float}}
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
	x, w, g, err := convInputs(op.Args, vs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, tensor.Shape{g.N, g.O, g.OutH(), g.OutW()})
	if err := floatkernel.Conv2d(gorgonia.WhichBLAS(), y, x, w, g, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func (op *GroupedConv2dOp) ReturnsPtr() bool     { return false }
func (op *GroupedConv2dOp) CallsExtern() bool    { return false }
func (op *GroupedConv2dOp) OverwritesInput() int { return -1 }

func (op *GroupedConv2dOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "goapprox.GroupedConv2d{%v}", op.Args.normalized())
}

func (op *GroupedConv2dOp) Hashcode() uint32 { return hashOf(op.WriteHash) }

func (op *GroupedConv2dOp) String() string { return fmt.Sprintf("GroupedConv2d(%v)", op.Args) }

func (op *GroupedConv2dOp) DiffWRT(inputs int) []bool { return []bool{true, true} }

func (op *GroupedConv2dOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return convSymDiff(nil, op.Args, op.rec, inputs, grad)
}
