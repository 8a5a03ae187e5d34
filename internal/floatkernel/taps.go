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

// dotCost is the multiply-adds per image, padding included, of the weight
// gradient's dot kernel on the column matrix.
func dotCost(g geom.Conv) int {
	nt := g.InPerGroup() * g.KH * g.KW
	return g.Groups * ceilDiv(nt, 3) * 3 * ceilDiv(g.OutPerGroup(), 4) * 4 * g.OutH() * g.OutW()
}

// tapsOK reports whether the tap-major weight gradient applies and is the
// cheaper one: a kernel for it, strides of at most 2, and fewer
// multiply-adds than the wide layout (stride 1) or no more than the column
// matrix's dot kernel (stride 2, where the wide layout does not apply).
// (It reads no input outside a tap's window; an output gradient's Inf
// meets the padding's zeros as in im2col, and as in PyTorch.)
func tapsOK(g geom.Conv) bool {
	if tapKernel == nil || !asm.AVX2FMA() || g.StrideH > 2 || g.StrideW > 2 {
		return false
	}
	if g.StrideH == 1 && g.StrideW == 1 {
		return tapsCost(g) < wideCost(g)
	}
	return tapsCost(g) <= dotCost(g)
}

// tapPlanes is the layout of the input planes the tap kernel reads. With
// stride 1 a tap reads a padded plane along the output columns from one
// offset. With stride 2 it would read every other element, so the padded
// plane is split into its stride phases (even and odd rows, even and odd
// columns), and a tap reads the phase plane its offset falls in, again
// contiguously: a padded row r·StrideH+ry is row r + ry/StrideH of phase
// ry%StrideH.
type tapPlanes struct {
	sh, sw   int // strides: phases per plane along the rows and columns
	ph, pw   int // rows and columns of a phase plane
	phaseLen int // ph·pw
	planeLen int // the phase planes of one channel of one image
}

func newTapPlanes(g geom.Conv) tapPlanes {
	t := tapPlanes{sh: g.StrideH, sw: g.StrideW}
	t.ph, t.pw = ceilDiv(g.H+2*g.PadH, t.sh), ceilDiv(g.W+2*g.PadW, t.sw)
	t.phaseLen = t.ph * t.pw
	t.planeLen = t.sh * t.sw * t.phaseLen
	return t
}

// tapOffset is where tap (ky, kx) starts reading a channel's phase planes.
func (t tapPlanes) tapOffset(g geom.Conv, ky, kx int) int {
	ry, rx := ky*g.DilH, kx*g.DilW
	return ((ry%t.sh)*t.sw+rx%t.sw)*t.phaseLen + (ry/t.sh)*t.pw + rx/t.sw
}

// inPlace reports whether x can be read as it is: floats, no padding, stride 1.
func (t tapPlanes) inPlace(g geom.Conv, x inputPlanes) bool {
	return x.bytes == nil && g.PadH == 0 && g.PadW == 0 && t.sh == 1 && t.sw == 1
}

// fill writes input plane i (image·C + channel) of x into dst, its phase
// planes, zero-padded and dequantized.
func (t tapPlanes) fill(dst []float32, x inputPlanes, i int, g geom.Conv) {
	size := g.H * g.W
	if t.sh == 1 && t.sw == 1 {
		// Only the border needs zeros.
		clear(dst[:g.PadH*t.pw])
		clear(dst[(g.PadH+g.H)*t.pw:])
		if g.PadW != 0 {
			// A counted loop, which the compiler does not turn into a
			// call to clear memory: the margins are a float or two, and a
			// call per margin costs more than its stores.
			for iy := 0; iy < g.H; iy++ {
				row := dst[(iy+g.PadH)*t.pw:][:t.pw]
				left, right := row[:g.PadW], row[g.PadW+g.W:]
				for i := 0; i < len(left); i++ {
					left[i] = 0
				}
				for i := 0; i < len(right); i++ {
					right[i] = 0
				}
			}
		}
		inner := dst[g.PadH*t.pw+g.PadW:]
		if x.bytes != nil {
			dequantRows(inner, x.bytes[i*size:][:size], x.q, g.H, g.W, t.pw, g.W)
			return
		}
		copyRows(inner, x.floats[i*size:][:size], nil, g.H, g.W, t.pw, g.W)
		return
	}
	clear(dst)
	for py := 0; py < t.sh; py++ {
		// The input rows iy0, iy0+sh, ... fall in row phase py.
		iy0 := ((py-g.PadH)%t.sh + t.sh) % t.sh
		if iy0 >= g.H {
			continue
		}
		rows := ceilDiv(g.H-iy0, t.sh)
		at := py*t.sw*t.phaseLen + (iy0+g.PadH)/t.sh*t.pw
		ss := t.sh * g.W
		if t.sw == 1 {
			out := dst[at+g.PadW:]
			if x.bytes != nil {
				dequantRows(out, x.bytes[i*size+iy0*g.W:], x.q, rows, g.W, t.pw, ss)
			} else {
				copyRows(out, x.floats[i*size+iy0*g.W:], nil, rows, g.W, t.pw, ss)
			}
			continue
		}
		// Even input columns land in column phase PadW%2, odd ones in the
		// other.
		even := dst[at+(g.PadW%2)*t.phaseLen+g.PadW/2:]
		odd := dst[at+((g.PadW+1)%2)*t.phaseLen+(g.PadW+1)/2:]
		if x.bytes != nil {
			splitCodePairs(even, odd, x.bytes[i*size+iy0*g.W:], x.q, rows, g.W, t.pw, ss)
		} else {
			splitPairs(even, odd, x.floats[i*size+iy0*g.W:], rows, g.W, t.pw, ss)
		}
	}
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

	// The planes the taps read: x itself, or x zero-padded, dequantized or
	// split into stride phases.
	tp := newTapPlanes(g)
	src := x.floats
	if !tp.inPlace(g, x) {
		ws.padded = growFloats(ws.padded, g.N*g.C*tp.planeLen)
		src = ws.padded
		parallelFor(g.N*g.C, threads, func(t int) {
			tp.fill(src[t*tp.planeLen:][:tp.planeLen], x, t, g)
		})
	}
	imgLen := g.C * tp.planeLen

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
			b.tapRows[i] = &src[(grp*cg+c)*tp.planeLen+tp.tapOffset(g, ky, kx)]
		}
		acc := ws.partials[grp*accLen+rt*mr*ldc+pn*nr:]
		for i := 0; i < mr; i++ {
			clear(acc[i*ldc:][:nr])
		}
		bp := ws.shared[(grp*panels+pn)*g.N*panelLen:]
		tapKernel(&b.tapRows, &bp[0], &acc[0], ldc, g.N, oh, ow, tp.pw-ow, imgLen-oh*tp.pw)
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
