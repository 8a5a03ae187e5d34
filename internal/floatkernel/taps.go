package floatkernel

import (
	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/ops/geom"
)

// The tap-major weight gradient of a stride-1 convolution. The weight
// gradient is a product over the output positions of all images,
// dwᵀ (taps × outputs) = col (taps × positions) · dyᵀ (positions ×
// outputs), and with stride 1 row tap (c, ky, kx) of col is the input plane
// of c read from the tap's offset, along the output rows. tapKernel
// computes a 6-tap × 16-output tile of it on the packed micro-kernel's
// register block: the taps are broadcast straight from the input planes
// (six pointers, one index stepping along the output columns, skipping to
// the next row and image), and the output gradient is transposed once into
// panels of 16 outputs per position. Unlike the wide dot layout it computes
// no padding columns and needs no horizontal sums, at the price of
// rounding the outputs up to 16: it wins on layers with many outputs and
// few output columns (LeNet's conv2: 240,000 multiply-adds per image
// against the wide layout's 352,512), the wide layout on the others.

// tapKernel computes C[i][j] += Σ_l A_i(l)·b[l*nr+j] for i < mr, j < nr,
// image by image (see sgemm6x16Taps): each image's sums are formed from
// zero over its rows×cols steps and then added to C, images in order. Nil
// when the CPU or build has none.
var tapKernel func(a *[mr]*float32, b, c *float32, ldc, images, rows, cols, rowSkip, imgSkip int)

// tapsCost and wideCost are the multiply-adds per image, padding included,
// of the tap-major and the wide weight gradient.
func tapsCost(g geom.Conv) int {
	nt := g.InPerGroup() * g.KH * g.KW
	return g.Groups * ceilDiv(nt, mr) * mr * ceilDiv(g.OutPerGroup(), nr) * nr * g.OutH() * g.OutW()
}

func wideCost(g geom.Conv) int {
	cg, og, taps := g.InPerGroup(), g.OutPerGroup(), g.KH*g.KW
	per := min(cg, ceilDiv(wideTaps, taps))
	cost := 0
	for c0 := 0; c0 < cg; c0 += per {
		nt := min(per, cg-c0) * taps
		cost += min(ceilDiv(nt, dr)*dr*ceilDiv(og, dc)*dc, ceilDiv(og, dr)*dr*ceilDiv(nt, dc)*dc)
	}
	return g.Groups * cost * newWideGeom(g).rowPad
}

// tapsOK reports whether the tap-major weight gradient applies and is the
// cheaper one: a kernel for it and stride 1. (It reads no input outside a
// tap's window; an output gradient's Inf meets the padding's zeros as in
// im2col, and as in PyTorch.)
func tapsOK(g geom.Conv) bool {
	return tapKernel != nil && asm.AVX2FMA() && g.StrideH == 1 && g.StrideW == 1 && tapsCost(g) < wideCost(g)
}

// backwardWeightTaps is Conv2dBackwardWeight on tapKernel. A task owns
// one tile of weights (6 taps × 16 outputs of one group) and sums all
// images into it in order, so the result is the same for any thread
// count.
//
// x gives the input as floats or as quantization codes; codes are
// dequantized as the planes are padded, in the same pass.
func backwardWeightTaps(dw, dy []float32, x inputPlanes, g geom.Conv, threads int, ws *Workspace) {
	cg, og := g.InPerGroup(), g.OutPerGroup()
	oh, ow := g.OutH(), g.OutW()
	spatial := oh * ow
	taps := g.KH * g.KW
	nt := cg * taps
	panels, tapTiles := ceilDiv(og, nr), ceilDiv(nt, mr)

	// The output gradient transposed: [group][panel][image][position][16],
	// outputs past og zero.
	panelLen := spatial * nr
	ws.shared = growFloats(ws.shared, g.Groups*panels*g.N*panelLen)
	parallelFor(g.Groups*panels*g.N, threads, func(t int) {
		gp, n := t/g.N, t%g.N
		grp, pn := gp/panels, gp%panels
		dst := ws.shared[t*panelLen:][:panelLen]
		o0 := grp*og + pn*nr
		outs := min(nr, og-pn*nr)
		src := dy[(n*g.O+o0)*spatial:][:outs*spatial]
		transposePanel(dst, src, outs, spatial)
	})

	// The planes the taps read: x itself, or x zero-padded or dequantized.
	src, hp, wp := x.floats, g.H, g.W
	if g.PadH != 0 || g.PadW != 0 || x.bytes != nil {
		hp, wp = g.H+2*g.PadH, g.W+2*g.PadW
		ws.padded = growFloats(ws.padded, g.N*g.C*hp*wp)
		src = ws.padded
		size := g.H * g.W
		parallelFor(g.N*g.C, threads, func(t int) {
			plane := src[t*hp*wp:][:hp*wp]
			clear(plane[:g.PadH*wp])
			clear(plane[(g.PadH+g.H)*wp:])
			if g.PadW != 0 {
				for iy := 0; iy < g.H; iy++ {
					row := plane[(iy+g.PadH)*wp:][:wp]
					clear(row[:g.PadW])
					clear(row[g.PadW+g.W:])
				}
			}
			inner := plane[g.PadH*wp+g.PadW:]
			if x.bytes != nil {
				dequantRows(inner, x.bytes[t*size:][:size], x.q, g.H, g.W, wp, g.W)
				return
			}
			copyRows(inner, x.floats[t*size:][:size], nil, g.H, g.W, wp, g.W)
		})
	}
	planeLen, imgLen := hp*wp, g.C*hp*wp

	// dwᵀ of each group, [group][tap][output], taps and outputs padded.
	ldc := panels * nr
	accLen := tapTiles * mr * ldc
	ws.partials = growFloats(ws.partials, g.Groups*accLen)
	tasks := g.Groups * tapTiles * panels
	workers := workerCount(tasks, threads)
	ws.begin(workers)
	parallelForWorker(tasks, workers, func(t, task int) {
		b := &ws.workers[t]
		grp, rt, pn := task/(tapTiles*panels), task/panels%tapTiles, task%panels
		for i := range b.tapRows {
			// Rows past the last tap repeat it; their sums are dropped.
			r := min(rt*mr+i, nt-1)
			c, ky, kx := r/taps, r%taps/g.KW, r%g.KW
			b.tapRows[i] = &src[(grp*cg+c)*planeLen+ky*g.DilH*wp+kx*g.DilW]
		}
		acc := ws.partials[grp*accLen+rt*mr*ldc+pn*nr:]
		for i := 0; i < mr; i++ {
			clear(acc[i*ldc:][:nr])
		}
		bp := ws.shared[(grp*panels+pn)*g.N*panelLen:]
		tapKernel(&b.tapRows, &bp[0], &acc[0], ldc, g.N, oh, ow, wp-ow, imgLen-oh*wp)
		clear(b.tapRows[:]) // drop the pointers into x
	})
	for grp := 0; grp < g.Groups; grp++ {
		acc := ws.partials[grp*accLen:]
		for o := 0; o < og; o++ {
			row := dw[(grp*og+o)*nt:][:nt]
			for r := range row {
				row[r] = acc[r*ldc+o]
			}
		}
	}
}

// transposePanel sets dst[p*nr+j] = src[j*spatial+p] for j < outs and
// zero for outs <= j < nr, p < spatial: it moves up to nr output gradient
// planes into one panel of the tap kernel. The vector version moves 8×8
// blocks through registers.
var transposePanel = transposePanelGo

// transposeBlock is the number of positions transposePanelGo moves at a
// time: their panel rows (4 KiB) stay in L1 while each output's run of
// them is read in order.
const transposeBlock = 64

// transposePanelGo reads each output's positions in runs, not the outputs
// side by side, which keeps the reads sequential: side by side, every read
// starts a new cache line of a different plane.
func transposePanelGo(dst, src []float32, outs, spatial int) {
	dst, src = dst[:spatial*nr], src[:outs*spatial]
	for p0 := 0; p0 < spatial; p0 += transposeBlock {
		n := min(transposeBlock, spatial-p0)
		block := dst[p0*nr:][:n*nr]
		for j := 0; j < outs; j++ {
			run := src[j*spatial+p0:][:n]
			col := block[j:]
			for i, v := range run {
				col[i*nr] = v
			}
		}
		if outs < nr {
			for i := 0; i < n; i++ {
				clear(block[i*nr+outs:][:nr-outs])
			}
		}
	}
}
