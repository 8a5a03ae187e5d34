package nn

import (
	"fmt"
	"hash"
	"math"
	"unsafe"

	"github.com/chewxy/hm"
	"github.com/goapprox/goapprox/internal/parallel"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MaxPool2D takes the maximum of each kernel[0]×kernel[1] window of an
// (N, C, H, W) input, moving by stride, with pad[0] rows and pad[1] columns
// of implicit -Inf padding on each side (PyTorch's max_pool2d without ceil
// mode: output side (H + 2·pad - kernel)/stride + 1, rounded down). It takes
// the same arguments as gorgonia.MaxPool2D, whose values it reproduces, but
// keeps its output, argmax and gradient buffers between runs instead of
// allocating them on every run.
//
// Tie rule: among equal maxima the first in row-major order within the
// window wins and receives the gradient (as Gorgonia and PyTorch). NaN
// counts as larger than every number, so a window holding a NaN outputs NaN
// and its first NaN receives the gradient (Gorgonia skips NaNs and, for a
// window of -Inf or NaN only, outputs -MaxFloat32 and panics in the
// gradient). Overlapping windows (stride < kernel) add their gradients.
func MaxPool2D(x *gorgonia.Node, kernel tensor.Shape, pad, stride []int) (*gorgonia.Node, error) {
	if x.Shape().Dims() != 4 {
		return nil, fmt.Errorf("max pool: input %s has shape %v; expected (N, C, H, W)", x.Name(), x.Shape())
	}
	if len(kernel) != 2 || len(pad) != 2 || len(stride) != 2 {
		return nil, fmt.Errorf("max pool: kernel %v, pad %v and stride %v must have two entries each (rows, columns)", kernel, pad, stride)
	}
	op := &MaxPool2DOp{geom: poolGeom{kh: kernel[0], kw: kernel[1], ph: pad[0], pw: pad[1], sh: stride[0], sw: stride[1]}}
	if err := op.geom.validate(); err != nil {
		return nil, err
	}
	if _, err := op.geom.outShape(x.Shape()); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x)
}

// poolGeom is a pooling window: kernel, padding and stride per axis.
type poolGeom struct {
	kh, kw, ph, pw, sh, sw int
}

func (g poolGeom) validate() error {
	switch {
	case g.kh < 1 || g.kw < 1:
		return fmt.Errorf("max pool: kernel %dx%d; both sides must be at least 1", g.kh, g.kw)
	case g.sh < 1 || g.sw < 1:
		return fmt.Errorf("max pool: stride %dx%d; both must be at least 1", g.sh, g.sw)
	case g.ph < 0 || g.pw < 0 || g.ph >= g.kh || g.pw >= g.kw:
		// A window must overlap the input: padding is at most kernel-1.
		return fmt.Errorf("max pool: padding %dx%d; each must be in 0..kernel-1 (kernel %dx%d)", g.ph, g.pw, g.kh, g.kw)
	}
	return nil
}

func (g poolGeom) String() string {
	return fmt.Sprintf("kernel %dx%d, pad %dx%d, stride %dx%d", g.kh, g.kw, g.ph, g.pw, g.sh, g.sw)
}

// outShape is the (N, C, OH, OW) output of an (N, C, H, W) input.
func (g poolGeom) outShape(s tensor.Shape) (tensor.Shape, error) {
	if s.Dims() != 4 {
		return nil, fmt.Errorf("max pool: input shape %v; expected (N, C, H, W)", s)
	}
	h, w := s[2]+2*g.ph-g.kh, s[3]+2*g.pw-g.kw
	if h < 0 || w < 0 {
		return nil, fmt.Errorf("max pool: input %v is smaller than the %s window", s, g)
	}
	if s[2]*s[3] > math.MaxInt32 {
		return nil, fmt.Errorf("max pool: input planes of %dx%d are too large", s[2], s[3])
	}
	return tensor.Shape{s[0], s[1], h/g.sh + 1, w/g.sw + 1}, nil
}

// larger reports whether v replaces best as a window's maximum: v is
// greater, or v is the window's first NaN.
func larger(v, best float32) bool { return v > best || (v != v && best == best) }

// forward writes each window's maximum to y and its position within the
// input plane (row*W + column) to arg. x is planes of h×w.
func (g poolGeom) forward(x []float32, h, w int, y []float32, arg []int32) {
	oh := (h+2*g.ph-g.kh)/g.sh + 1
	ow := (w+2*g.pw-g.kw)/g.sw + 1
	planes := len(x) / (h * w)
	if !g.is2x2() {
		g.forwardGeneral(x, h, w, oh, ow, planes, y, arg)
		return
	}
	if !useAVX2() {
		forward2x2(x, h, w, oh, ow, planes, y, arg)
		return
	}
	if planes == 0 {
		return
	}
	// The kernel trusts these lengths; slicing checks them.
	y, arg = y[:planes*oh*ow], arg[:planes*oh*ow]
	tail := pool2x2TailMasks(ow)
	if maxPool2x2AVX2(&x[0], &y[0], &arg[0], planes, h, w, &tail) {
		// A NaN, which the kernel's comparisons ignore: as forward2x2.
		g.forwardGeneral(x, h, w, oh, ow, planes, y, arg)
	}
}

// is2x2 reports whether g is the 2×2, stride-2 window without padding
// that forward2x2 and the AVX2 kernels take.
func (g poolGeom) is2x2() bool {
	return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0
}

// pool2x2TailMasks are the masks the AVX2 kernels load and store a row's
// last group of ow%8 windows through: its first 8 inputs in each of the two
// rows, its next 8, and its outputs.
func pool2x2TailMasks(ow int) (m [3][8]int32) {
	rem := ow % 8
	for k := range 8 {
		m[0][k] = -int32(b2i(k < 2*rem))
		m[1][k] = -int32(b2i(8+k < 2*rem))
		m[2][k] = -int32(b2i(k < rem))
	}
	return m
}

// forwardGeneral is forward for any window: a loop over each window.
func (g poolGeom) forwardGeneral(x []float32, h, w, oh, ow, planes int, y []float32, arg []int32) {
	for p := range planes {
		xp := x[p*h*w : (p+1)*h*w]
		yp, ap := y[p*oh*ow:(p+1)*oh*ow], arg[p*oh*ow:(p+1)*oh*ow]
		for i := range oh {
			r0 := i*g.sh - g.ph
			r1 := min(r0+g.kh, h)
			r0 = max(r0, 0)
			for j := range ow {
				c0 := j*g.sw - g.pw
				c1 := min(c0+g.kw, w)
				c0 = max(c0, 0)
				at := r0*w + c0
				best := xp[at]
				for r := r0; r < r1; r++ {
					row := xp[r*w : r*w+c1]
					for c := c0; c < c1; c++ {
						if v := row[c]; larger(v, best) {
							best, at = v, r*w+c
						}
					}
				}
				yp[i*ow+j], ap[i*ow+j] = best, int32(at)
			}
		}
	}
}

// forward2x2 is forward for 2×2 windows with stride 2 and no padding,
// LeNet's and VGG's pooling. It picks the maximum of each row pair, then of
// the two rows, with comparisons turned into indices (no branches, which
// random data would mispredict half the time) and ties kept by the first,
// as forward does. Those comparisons are false for NaN, so the sum of every
// value read is kept: when it is NaN (a NaN in the input, or +Inf and -Inf
// together) the general loop, which handles NaN, redoes the work.
func forward2x2(x []float32, h, w, oh, ow, planes int, y []float32, arg []int32) {
	var sum float32
	for p := range planes {
		xp := x[p*h*w : (p+1)*h*w]
		yp, ap := y[p*oh*ow:(p+1)*oh*ow], arg[p*oh*ow:(p+1)*oh*ow]
		for i := range oh {
			r0, r1 := 2*i*w, (2*i+1)*w
			top, bottom := xp[r0:r0+w], xp[r1:r1+w]
			yr, ar := yp[i*ow:(i+1)*ow], ap[i*ow:(i+1)*ow]
			for j := range yr {
				c := 2 * j
				a, b, d, e := top[c], top[c+1], bottom[c], bottom[c+1]
				sum += (a + b) + (d + e)
				t := r0 + c + b2i(b > a)
				u := r1 + c + b2i(e > d)
				t += b2i(xp[u] > xp[t]) * (u - t)
				yr[j], ar[j] = xp[t], int32(t)
			}
		}
	}
	if sum != sum {
		g := poolGeom{kh: 2, kw: 2, sh: 2, sw: 2}
		g.forwardGeneral(x, h, w, oh, ow, planes, y, arg)
	}
}

// b2i is 1 for true and 0 for false, compiled to a flag read (SETcc)
// rather than a branch.
func b2i(b bool) int { return int(*(*uint8)(unsafe.Pointer(&b))) }

// MaxPool2DOp is the op built by MaxPool2D. It keeps the argmax of its last
// run for the gradient op, which runs after it in the same pass.
type MaxPool2DOp struct {
	geom poolGeom

	out *tensor.Dense // output buffer reused between runs
	arg []int32       // argmax of the last run, per output
	// src identifies the input of the last run (first element and length),
	// so the gradient op uses arg only for the data it was computed from.
	src    *float32
	srcLen int

	loop poolLoop
}

func (op *MaxPool2DOp) Arity() int { return 1 }
func (op *MaxPool2DOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op *MaxPool2DOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("max pool: %d inputs, expected 1", len(in))
	}
	s, err := shapeOf(in[0], "max pool input")
	if err != nil {
		return nil, err
	}
	return op.geom.outShape(s)
}
func (op *MaxPool2DOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *MaxPool2DOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("max pool: %d inputs, expected 1", len(in))
	}
	x, xs, err := float32s(in[0], "max pool input")
	if err != nil {
		return nil, err
	}
	os, err := op.geom.outShape(xs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, os, x)
	op.arg = growInt32s(op.arg, len(y))
	op.src, op.srcLen = nil, 0
	if len(y) == 0 {
		return out, nil
	}
	op.loop = poolLoop{g: op.geom, x: x, y: y, arg: op.arg, h: xs[2], w: xs[3], oh: os[2], ow: os[3]}
	parallel.Run(xs[0]*xs[1], 0, unitsPerPart(xs[2]*xs[3]), &op.loop)
	op.loop = poolLoop{}
	op.src, op.srcLen = unsafe.SliceData(x), len(x)
	return out, nil
}
func (op *MaxPool2DOp) ReturnsPtr() bool     { return false }
func (op *MaxPool2DOp) CallsExtern() bool    { return false }
func (op *MaxPool2DOp) OverwritesInput() int { return -1 }
func (op *MaxPool2DOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.MaxPool2D(%s)", op.geom)
}
func (op *MaxPool2DOp) Hashcode() uint32          { return hashOf(op) }
func (op *MaxPool2DOp) String() string            { return fmt.Sprintf("MaxPool2D(%s)", op.geom) }
func (op *MaxPool2DOp) DiffWRT(inputs int) []bool { return []bool{true} }
func (op *MaxPool2DOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("max pool: %d inputs, expected 1", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&maxPoolGradOp{fwd: op}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

func growInt32s(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// maxPoolGradOp routes each output gradient to the input its window took
// the maximum from. Its inputs are x and dy. It uses the forward op's argmax
// when that was computed from this very x (same data, the usual case in a
// training pass) and recomputes it otherwise.
type maxPoolGradOp struct {
	fwd *MaxPool2DOp

	out *tensor.Dense
	// Own argmax and scratch maxima, for an x the forward op did not see.
	arg []int32
	y   []float32

	loop poolLoop
}

func (op *maxPoolGradOp) Arity() int { return 2 }
func (op *maxPoolGradOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}
func (op *maxPoolGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("max pool gradient: %d inputs, expected 2", len(in))
	}
	s, err := shapeOf(in[0], "max pool gradient x")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}
func (op *maxPoolGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *maxPoolGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("max pool gradient: %d inputs, expected 2", len(in))
	}
	x, xs, err := float32s(in[0], "max pool gradient x")
	if err != nil {
		return nil, err
	}
	dy, dys, err := float32s(in[1], "max pool gradient dy")
	if err != nil {
		return nil, err
	}
	g := op.fwd.geom
	os, err := g.outShape(xs)
	if err != nil {
		return nil, err
	}
	if !dys.Eq(os) {
		return nil, fmt.Errorf("max pool gradient: dy has shape %v; the %s window makes %v from x %v", dys, g, os, xs)
	}
	out, dx := output(prealloc, &op.out, xs, x, dy)
	if len(dy) == 0 {
		clear(dx)
		return out, nil
	}
	arg := op.fwd.arg
	if op.fwd.src != unsafe.SliceData(x) || op.fwd.srcLen != len(x) || len(arg) != len(dy) {
		op.arg = growInt32s(op.arg, len(dy))
		if cap(op.y) < len(dy) {
			op.y = make([]float32, len(dy))
		}
		g.forward(x, xs[2], xs[3], op.y[:len(dy)], op.arg)
		arg = op.arg
	}
	op.loop = poolLoop{g: g, grad: true, x: dx, y: dy, arg: arg, h: xs[2], w: xs[3], oh: os[2], ow: os[3]}
	parallel.Run(xs[0]*xs[1], 0, unitsPerPart(xs[2]*xs[3]), &op.loop)
	op.loop = poolLoop{}
	return out, nil
}

// poolLoop is the per-plane loop of the forward op (x to y and arg) or of
// the gradient op (x = dx, y = dy). Planes are independent, and the
// forward op checks each part's planes for NaN on its own (see
// forward2x2), so a part's planes come out as the serial loop makes them.
type poolLoop struct {
	g            poolGeom
	grad         bool
	x, y         []float32
	arg          []int32
	h, w, oh, ow int
}

func (l *poolLoop) Run(_, lo, hi int) {
	in1, out1 := l.h*l.w, l.oh*l.ow
	x, y, arg := l.x[lo*in1:hi*in1], l.y[lo*out1:hi*out1], l.arg[lo*out1:hi*out1]
	if !l.grad {
		l.g.forward(x, l.h, l.w, y, arg)
		return
	}
	if l.g.is2x2() && useAVX2() {
		// Windows tile the plane and each input gets one window's dy or
		// 0, so the kernel writes dx directly; only the row and column
		// no window covers need clearing.
		if l.h%2 != 0 || l.w%2 != 0 {
			clear(x)
		}
		y, arg = y[:(hi-lo)*out1], arg[:(hi-lo)*out1]
		tail := pool2x2TailMasks(l.ow)
		maxPool2x2GradAVX2(&x[0], &y[0], &arg[0], hi-lo, l.h, l.w, &tail)
		return
	}
	clear(x)
	for p := range hi - lo {
		dxp := x[p*in1 : (p+1)*in1]
		ap := arg[p*out1 : (p+1)*out1]
		for i, v := range y[p*out1 : (p+1)*out1] {
			dxp[ap[i]] += v
		}
	}
}

func (op *maxPoolGradOp) ReturnsPtr() bool     { return false }
func (op *maxPoolGradOp) CallsExtern() bool    { return false }
func (op *maxPoolGradOp) OverwritesInput() int { return -1 }
func (op *maxPoolGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.MaxPool2DGrad(%s)", op.fwd.geom)
}
func (op *maxPoolGradOp) Hashcode() uint32 { return hashOf(op) }
func (op *maxPoolGradOp) String() string   { return fmt.Sprintf("MaxPool2DGrad(%s)", op.fwd.geom) }
