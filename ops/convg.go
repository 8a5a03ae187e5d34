package ops

import (
	"fmt"
	"github.com/goapprox/goapprox/ops/geom"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/values"
)

// The generic convolution computes as gorgonia.Conv2d does: the input of
// the whole batch unfolded into rows of one output position each (im2col,
// gorgonia's layout: channel, kernel row, kernel column), one product with
// the weights as a BLAS call, and a transpose from (N, OH·OW, O) to NCHW. A
// grouped convolution makes one product per group, writing its columns of
// the (N, OH·OW, O) result. With one group the float results are
// gorgonia's own, bit for bit. Images are unfolded and folded back in
// parallel; the products are spread by the BLAS.

// convDoG is the forward UsePreallocDo of Conv2dOp (s not nil) and
// GroupedConv2dOp (s nil: Float mode) on the generic code.
func convDoG[T values.Float](s *LayerState, rec *runRecord, cache **tensor.Dense, args ConvArgs, prealloc gorgonia.Value, vs []gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != 2 {
		return nil, fmt.Errorf("ops: conv2d takes 2 inputs, got %d", len(vs))
	}
	in, shapes, err := readAll[T](vs, "conv2d input x", "conv2d weights w")
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	ys, g, err := convShape(args, []gorgonia.DimSizer{shapes[0], shapes[1]})
	if err != nil {
		return nil, err
	}
	out, y := values.Output(prealloc, cache, ys, x, w)
	if s == nil {
		convFloatG(generic[T](rec), y, x, w, g, 0)
		return out, nil
	}
	if err := convForwardG(s, rec, y, x, w, g); err != nil {
		return nil, err
	}
	return out, nil
}

// convForwardG computes y for the state's mode and records the run.
func convForwardG[T values.Float](s *LayerState, rec *runRecord, y, x, w []T, g geom.Conv) error {
	xs, ws := xShape(g), wShape(g)
	r, err := beginG(rec, s, x, xs, w, ws, 0)
	if err != nil {
		return err
	}
	switch s.Mode {
	case Float, Observe:
		convFloatG(r, y, x, w, g, s.threads())
	case Quantized, Noise:
		r.quantizeInputs(rec, s, x, xs, w, ws, false, true)
		convFloatG(r, y, r.x.q.fq, r.w.q.fq, g, s.threads())
		if s.Mode == Noise && s.Training {
			r.noise = addNoise(s, y, &r.noiseBuf)
		}
	case Approximate, Surrogate:
		r.quantizeInputs(rec, s, x, xs, w, ws, true, false)
		_, err := convApprox(s, rec, y, r.x.q.bytes, r.w.q.bytes, g)
		return err
	}
	return nil
}

// convFloatG computes the float convolution y = x ⊛ w.
func convFloatG[T values.Float](r *recordG[T], y, x, w []T, g geom.Conv, threads int) {
	spatial := g.OutH() * g.OutW()
	rows, kg, og := g.N*spatial, g.FanIn(), g.OutPerGroup()
	r.col = grow(r.col, rows*kg)
	r.tmp = grow(r.tmp, rows*g.O)
	for grp := range g.Groups {
		im2colG(r.col, x, g, grp, threads)
		// (rows × kg) · (og × kg)ᵀ into columns grp·og... of (rows × O).
		gemm(false, true, rows, og, kg, r.col, kg, w[grp*og*kg:], kg, r.tmp[grp*og:], g.O)
	}
	// (N, spatial, O) -> (N, O, spatial)
	parallelRanges(g.N, threads, 1, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			src, dst := r.tmp[n*spatial*g.O:(n+1)*spatial*g.O], y[n*g.O*spatial:(n+1)*g.O*spatial]
			for p := range spatial {
				for o, v := range src[p*g.O : (p+1)*g.O] {
					dst[o*spatial+p] = v
				}
			}
		}
	})
}

// im2colG unfolds the channels of group grp of every image of x into col:
// one row of cg·KH·KW values per output position, zero outside the input.
func im2colG[T values.Float](col, x []T, g geom.Conv, grp, threads int) {
	cg, oh, ow := g.InPerGroup(), g.OutH(), g.OutW()
	kg := cg * g.KH * g.KW
	parallelRanges(g.N, threads, 1, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			img := x[(n*g.C+grp*cg)*g.H*g.W:][:cg*g.H*g.W]
			i := n * oh * ow * kg
			for oy := range oh {
				for ox := range ow {
					for c := range cg {
						plane := img[c*g.H*g.W:][:g.H*g.W]
						for ky := range g.KH {
							iy := oy*g.StrideH - g.PadH + ky*g.DilH
							for kx := range g.KW {
								ix := ox*g.StrideW - g.PadW + kx*g.DilW
								if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
									col[i] = 0
								} else {
									col[i] = plane[iy*g.W+ix]
								}
								i++
							}
						}
					}
				}
			}
		}
	})
}

// col2imG adds the unfolded gradient col of group grp into dx, the adjoint
// of im2colG.
func col2imG[T values.Float](dx, col []T, g geom.Conv, grp, threads int) {
	cg, oh, ow := g.InPerGroup(), g.OutH(), g.OutW()
	kg := cg * g.KH * g.KW
	parallelRanges(g.N, threads, 1, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			img := dx[(n*g.C+grp*cg)*g.H*g.W:][:cg*g.H*g.W]
			i := n * oh * ow * kg
			for oy := range oh {
				for ox := range ow {
					for c := range cg {
						plane := img[c*g.H*g.W:][:g.H*g.W]
						for ky := range g.KH {
							iy := oy*g.StrideH - g.PadH + ky*g.DilH
							for kx := range g.KW {
								ix := ox*g.StrideW - g.PadW + kx*g.DilW
								if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
									plane[iy*g.W+ix] += col[i]
								}
								i++
							}
						}
					}
				}
			}
		}
	})
}

// convGradDoG is Conv2dGradOp.UsePreallocDo on the generic code.
func convGradDoG[T values.Float](op *Conv2dGradOp, prealloc gorgonia.Value, vs []gorgonia.Value) (gorgonia.Value, error) {
	in, shapes, err := readAll[T](vs, "Conv2dGrad x", "Conv2dGrad w", "Conv2dGrad dy")
	if err != nil {
		return nil, err
	}
	x, w, dy := in[0], in[1], in[2]
	if _, err := op.InferShape(shapes[0], shapes[1], shapes[2]); err != nil {
		return nil, err
	}
	_, g, err := convShape(op.Args, []gorgonia.DimSizer{shapes[0], shapes[1]})
	if err != nil {
		return nil, err
	}
	if !op.rec.ran {
		return nil, errNoForward
	}
	out, r := values.Output(prealloc, &op.out, shapes[op.WRT], x, w, dy)
	if !gradNeeded(op.node) {
		clear(r)
		return out, nil
	}
	own := genericOwn[T](&op.own64, &op.own32)
	if op.rec.grad.Kind == TableGradient {
		if err := convTableBackwardG(op.State, op.rec, op.WRT, r, x, w, dy, g, own, &op.tg); err != nil {
			return nil, err
		}
		return out, nil
	}
	convBackwardG(op.rec, op.WRT, r, x, w, dy, g, own, op.State.threads())
	return out, nil
}

// convBackwardG writes into r the gradient with respect to input wrt: of
// the convolution of the fake-quantized tensors, masked where the
// differentiated one was clamped, outside Float mode.
func convBackwardG[T values.Float](rec *runRecord, wrt int, r, x, w, dy []T, g geom.Conv, own *[2]operandG[T], threads int) {
	gr := generic[T](rec)
	dy = gr.noise.backward(dy, threads)
	var mask []bool
	if rec.mode.Quantizes() {
		xq, wq := gr.gradInputs(rec, x, xShape(g), w, wShape(g), own, threads)
		x, w, mask = xq.fq, wq.fq, xq.mask
		if wrt == 1 {
			mask = wq.mask
		}
	}
	spatial := g.OutH() * g.OutW()
	rows, kg, og := g.N*spatial, g.FanIn(), g.OutPerGroup()
	// dy (N, O, spatial) -> (N, spatial, O): the layout of the product.
	gr.tmp = grow(gr.tmp, rows*g.O)
	dyT := gr.tmp
	parallelRanges(g.N, threads, 1, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			src, dst := dy[n*g.O*spatial:(n+1)*g.O*spatial], dyT[n*spatial*g.O:(n+1)*spatial*g.O]
			for o := range g.O {
				for p, v := range src[o*spatial : (o+1)*spatial] {
					dst[p*g.O+o] = v
				}
			}
		}
	})
	gr.col = grow(gr.col, rows*kg)
	if wrt == 0 {
		clear(r)
	}
	for grp := range g.Groups {
		if wrt == 0 {
			// dcol (rows × kg) = dyT[:, group] (rows × og) · w_group (og × kg)
			gemm(false, false, rows, kg, og, dyT[grp*og:], g.O, w[grp*og*kg:], kg, gr.col, kg)
			col2imG(r, gr.col, g, grp, threads)
			continue
		}
		// dw_group (og × kg) = dyT[:, group]ᵀ (og × rows) · col (rows × kg)
		im2colG(gr.col, x, g, grp, threads)
		gemm(true, false, og, kg, rows, dyT[grp*og:], g.O, gr.col, kg, r[grp*og*kg:], kg)
	}
	applyMaskG(r, mask, threads)
}
