package floatkernel

import "github.com/goapprox/goapprox/ops/kernel"

// The wide layout of a stride-1 convolution. With stride 1 the input under
// kernel tap (ky, kx) of output (oy, ox) is the zero-padded input plane at
// (oy + ky·DilH, ox + kx·DilW). If the output is laid out with the padded
// plane's row length Wp instead of OutW (the extra Wp - OutW columns of a
// row held at zero), the whole output plane of one tap is the padded input
// plane read contiguously from the tap's offset ky·DilH·Wp + kx·DilW: one
// long row, no unfolded (im2col) copy. The extra columns read inputs of
// the next row, which meet a zero output entry and add nothing, as long as
// those inputs are finite (0·Inf is NaN), which callers check.

// wideGeom holds the sizes of the wide layout of a stride-1 geometry.
type wideGeom struct {
	hp, wp   int // padded input plane
	oh, ow   int // output plane
	rowLen   int // a wide output plane: oh·wp
	rowPad   int // rowLen rounded up to the dot kernel's step
	planeLen int // a padded input plane with room for the kernels' over-reads
}

func newWideGeom(g kernel.ConvGeom) wideGeom {
	w := wideGeom{hp: g.H + 2*g.PadH, wp: g.W + 2*g.PadW, oh: g.OutH(), ow: g.OutW()}
	w.rowLen = w.oh * w.wp
	w.rowPad = ceilDiv(w.rowLen, dotStep) * dotStep
	// The last tap's row ends at hp·wp; rounding adds rowPad-rowLen, and a
	// dot tile reads dr taps from its first, up to dr-1 past the last.
	w.planeLen = w.hp*w.wp + w.rowPad - w.rowLen + (g.KW+dr)*g.DilW
	return w
}

// wideOK reports whether the wide layout applies: stride 1 and finite
// inputs.
func wideOK(g kernel.ConvGeom, x []float32) bool {
	return g.StrideH == 1 && g.StrideW == 1 && allFinite(x)
}

// allFinite reports whether no element of x is ±Inf or NaN (v·0 is NaN
// exactly for those).
func allFinite(x []float32) bool {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * 0
		s1 += x[i+1] * 0
		s2 += x[i+2] * 0
		s3 += x[i+3] * 0
	}
	for ; i < len(x); i++ {
		s0 += x[i] * 0
	}
	return s0+s1+s2+s3 == 0
}

// padPlane writes the H×W plane src into the interior of the wide padded
// plane dst, whose borders and tail the caller keeps at zero.
func padPlane(dst, src []float32, g kernel.ConvGeom, wg wideGeom) {
	for iy := 0; iy < g.H; iy++ {
		copy(dst[(iy+g.PadH)*wg.wp+g.PadW:][:g.W], src[iy*g.W:][:g.W])
	}
}

// backwardWeightWide is Conv2dBackwardWeight on the dot kernel for stride
// 1 and finite inputs, in the wide layout: each weight (o, c, ky, kx) is
// the dot product of the wide output gradient row of o with the padded
// plane of c read from the tap's offset. A dot tile takes dr consecutive
// taps of one kernel row (lda = DilW; taps past the row's end are computed
// and dropped) and dc outputs.
//
// The work is split into tasks of one input channel of one group and one
// block of images; blocks are fixed by the geometry, each task sums its
// images in order and the blocks are added in order, so the result is the
// same for any thread count.
func backwardWeightWide(dw, dy, x []float32, g kernel.ConvGeom, threads int, ws *Workspace) {
	cg, og := g.InPerGroup(), g.OutPerGroup()
	wg := newWideGeom(g)
	spatial := wg.oh * wg.ow
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	taps := g.KH * g.KW
	ogPad := ceilDiv(og, dc) * dc

	// Every image's output gradient in the wide layout, once.
	dyLen := ogPad * wg.rowPad
	ws.shared = growFloats(ws.shared, g.N*g.Groups*dyLen)
	parallelFor(g.N*g.Groups, threads, func(t int) {
		n, grp := t/g.Groups, t%g.Groups
		dst := ws.shared[t*dyLen:][:dyLen]
		for o := 0; o < ogPad; o++ {
			row := dst[o*wg.rowPad:][:wg.rowPad]
			if o >= og {
				clear(row)
				continue
			}
			src := dy[n*yImg+(grp*og+o)*spatial:][:spatial]
			for oy := 0; oy < wg.oh; oy++ {
				out := row[oy*wg.wp:][:wg.wp]
				copy(out, src[oy*wg.ow:][:wg.ow])
				clear(out[wg.ow:])
			}
			clear(row[wg.rowLen:])
		}
	})

	const minTasks = 8
	blocks := min(g.N, ceilDiv(minTasks, g.Groups*cg))
	tasks := g.Groups * cg * blocks
	workers := workerCount(tasks, threads)
	ws.begin(workers)
	partLen := og * taps
	ws.partials = growFloats(ws.partials, tasks*partLen)
	parallelForWorker(tasks, workers, func(t, task int) {
		b := &ws.workers[t]
		gc, block := task/blocks, task%blocks
		grp := gc / cg
		n0, n1 := block*g.N/blocks, (block+1)*g.N/blocks
		b.col = growFloats(b.col, wg.planeLen)
		clear(b.col) // padding and tail stay zero; padPlane writes the interior
		acc := ws.partials[task*partLen:][:partLen]
		var tile [dr * dc]float32
		for n := n0; n < n1; n++ {
			padPlane(b.col, x[n*xImg+gc*g.H*g.W:][:g.H*g.W], g, wg)
			dyn := ws.shared[(n*g.Groups+grp)*dyLen:]
			for ky := 0; ky < g.KH; ky++ {
				for kx0 := 0; kx0 < g.KW; kx0 += dr {
					a := &b.col[ky*g.DilH*wg.wp+kx0*g.DilW]
					kxs := min(dr, g.KW-kx0)
					for o0 := 0; o0 < og; o0 += dc {
						dotKernel(wg.rowPad, a, g.DilW, &dyn[o0*wg.rowPad], wg.rowPad, &tile[0])
						for j := 0; j < min(dc, og-o0); j++ {
							out := acc[(o0+j)*taps+ky*g.KW+kx0:][:kxs]
							for i := range out {
								if n == n0 {
									out[i] = tile[i*dc+j]
								} else {
									out[i] += tile[i*dc+j]
								}
							}
						}
					}
				}
			}
		}
	})

	// Add the blocks in order and place the sums.
	for gc := 0; gc < g.Groups*cg; gc++ {
		grp, c := gc/cg, gc%cg
		first := ws.partials[gc*blocks*partLen:][:partLen]
		for blk := 1; blk < blocks; blk++ {
			for i, v := range ws.partials[(gc*blocks+blk)*partLen:][:partLen] {
				first[i] += v
			}
		}
		for o := 0; o < og; o++ {
			copy(dw[((grp*og+o)*cg+c)*taps:][:taps], first[o*taps:][:taps])
		}
	}
}
