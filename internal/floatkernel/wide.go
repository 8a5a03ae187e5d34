package floatkernel

import (
	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/ops/geom"
)

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

func newWideGeom(g geom.Conv) wideGeom {
	w := wideGeom{hp: g.H + 2*g.PadH, wp: g.W + 2*g.PadW, oh: g.OutH(), ow: g.OutW()}
	w.rowLen = w.oh * w.wp
	w.rowPad = ceilDiv(w.rowLen, dotStep) * dotStep
	// The kernel reads rowPad floats from each tap's offset, the last tap's
	// being (KH-1)·DilH·wp + (KW-1)·DilW. Its wide row does not end at
	// hp·wp: the last output row's wp-ow = (KW-1)·DilW extra columns run
	// past the plane, so the plane must hold them (as zeros: whatever lay
	// there, stale scratch or the next allocation, could be NaN, and 0·NaN
	// is NaN).
	w.planeLen = (g.KH-1)*g.DilH*w.wp + (g.KW-1)*g.DilW + w.rowPad
	return w
}

// dotPtrsKernel computes c[i*dc+j] = Σ_l rows[i][l]·rows[dr+j][l] for i <
// dr, j < dc, l < k, k a multiple of dotStep, each summed in a fixed order
// (that of dotKernel). Nil when the build has none.
var dotPtrsKernel func(k int, rows *[dr + dc]*float32, c *float32)

// wideOK reports whether the wide layout applies: a kernel for it, stride 1
// and finite inputs.
func wideOK(g geom.Conv, x []float32) bool {
	return dotPtrsKernel != nil && asm.AVX2FMA() && g.StrideH == 1 && g.StrideW == 1 && f32.AllFinite(x)
}

// widenRows copies rows rows of cols floats, contiguous in src, to dst,
// each followed by pad zeros. Rows are short (a LeNet output row is 28
// floats), so widenRows (wide_amd64.go) takes a vector version where it
// may run rather than a copy and a clear call per row.
func widenRowsGo(dst, src []float32, rows, cols, pad int) {
	for y := 0; y < rows; y++ {
		out := dst[y*(cols+pad):][:cols+pad]
		copy(out, src[y*cols:][:cols])
		clear(out[cols:])
	}
}

// padPlane writes the H×W plane src into the interior of the wide padded
// plane dst, whose borders and tail the caller keeps at zero.
func padPlane(dst, src []float32, g geom.Conv, wg wideGeom) {
	for iy := 0; iy < g.H; iy++ {
		copy(dst[(iy+g.PadH)*wg.wp+g.PadW:][:g.W], src[iy*g.W:][:g.W])
	}
}

// backwardWeightWide is Conv2dBackwardWeight on the gathered dot kernel
// for stride 1 and finite inputs, in the wide layout: each weight (o, c,
// ky, kx) is the dot product of the wide output gradient row of o with the
// padded plane of c read from the tap's offset. A tile of the kernel pairs
// dr rows with dc rows, taps on one side and outputs on the other (the
// side with less padding of the tile edges, which repeat their last row and
// drop its results); the taps of a tile may come from different kernel rows
// and channels.
//
// The work is split into tasks of a chunk of input channels of one group
// and one block of images; both are fixed by the geometry, each task sums
// its images in order and the blocks are added in order, so the result is
// the same for any thread count.
func backwardWeightWide(dw, dy, x []float32, g geom.Conv, threads int, ws *Workspace) {
	cg, og := g.InPerGroup(), g.OutPerGroup()
	wg := newWideGeom(g)
	spatial := wg.oh * wg.ow
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	taps := g.KH * g.KW

	// Every image's output gradient in the wide layout, once.
	dyLen := og * wg.rowPad
	ws.shared = growFloats(ws.shared, g.N*g.Groups*dyLen)
	parallelFor(g.N*g.Groups, threads, func(t int) {
		n, grp := t/g.Groups, t%g.Groups
		dst := ws.shared[t*dyLen:][:dyLen]
		for o := 0; o < og; o++ {
			row := dst[o*wg.rowPad:][:wg.rowPad]
			src := dy[n*yImg+(grp*og+o)*spatial:][:spatial]
			widenRows(row, src, wg.oh, wg.ow, wg.wp-wg.ow)
			clear(row[wg.rowLen:])
		}
	})

	const minTasks = 8
	per := min(cg, ceilDiv(wideTaps, taps))
	chunks := ceilDiv(cg, per)
	blocks := min(g.N, ceilDiv(minTasks, g.Groups*chunks))
	tasks := g.Groups * chunks * blocks
	// Offsets of the taps of a chunk in its padded planes.
	ws.offs = ws.offs[:0]
	for c := 0; c < per; c++ {
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				ws.offs = append(ws.offs, c*wg.planeLen+ky*g.DilH*wg.wp+kx*g.DilW)
			}
		}
	}
	workers := workerCount(tasks, threads)
	ws.begin(workers)
	partLen := og * per * taps
	ws.partials = growFloats(ws.partials, tasks*partLen)
	parallelForWorker(tasks, workers, func(t, task int) {
		b := &ws.workers[t]
		gc, block := task/blocks, task%blocks
		grp, chunk := gc/chunks, gc%chunks
		c0 := chunk * per
		cc := min(per, cg-c0)
		nt := cc * taps
		n0, n1 := block*g.N/blocks, (block+1)*g.N/blocks
		b.col = growFloats(b.col, cc*wg.planeLen)
		clear(b.col) // padding and tails stay zero; padPlane writes the interiors
		acc := ws.partials[task*partLen:][:og*nt]
		// Taps on the dr side when that pads the tile edges less.
		tapsOnA := ceilDiv(nt, dr)*dr*ceilDiv(og, dc)*dc <= ceilDiv(og, dr)*dr*ceilDiv(nt, dc)*dc
		na, nb := nt, og
		if !tapsOnA {
			na, nb = og, nt
		}
		aTiles, bTiles := ceilDiv(na, dr), ceilDiv(nb, dc)
		// Row pointers of both sides, the edges repeating the last row;
		// sums kept tile by tile (12 floats each) until the last image.
		b.ptrs = growPtrs(b.ptrs, aTiles*dr+bTiles*dc)
		aRows, bRows := b.ptrs[:aTiles*dr], b.ptrs[aTiles*dr:]
		b.tiles = growFloats(b.tiles, aTiles*bTiles*dr*dc)
		for n := n0; n < n1; n++ {
			for c := 0; c < cc; c++ {
				plane := grp*cg + c0 + c
				padPlane(b.col[c*wg.planeLen:], x[n*xImg+plane*g.H*g.W:][:g.H*g.W], g, wg)
			}
			dyn := ws.shared[(n*g.Groups+grp)*dyLen:][:dyLen]
			taps, outs := aRows, bRows
			if !tapsOnA {
				taps, outs = bRows, aRows
			}
			for i := range taps {
				taps[i] = &b.col[ws.offs[min(i, nt-1)]]
			}
			for i := range outs {
				outs[i] = &dyn[min(i, og-1)*wg.rowPad]
			}
			rows, tile := &b.dotRows, &b.dotTile
			for ta := 0; ta < aTiles; ta++ {
				copy(rows[:dr], aRows[ta*dr:])
				for tb := 0; tb < bTiles; tb++ {
					copy(rows[dr:], bRows[tb*dc:])
					sums := (*[dr * dc]float32)(b.tiles[(ta*bTiles+tb)*dr*dc:])
					if n == n0 {
						dotPtrsKernel(wg.rowPad, rows, &sums[0])
						continue
					}
					dotPtrsKernel(wg.rowPad, rows, &tile[0])
					for k, v := range tile {
						sums[k] += v
					}
				}
			}
		}
		clear(b.ptrs) // drop the pointers into x and dy
		// Place the sums by weight: (o, tap) at o·nt + tap.
		for i := 0; i < na; i++ {
			for j := 0; j < nb; j++ {
				v := b.tiles[((i/dr)*bTiles+j/dc)*dr*dc+i%dr*dc+j%dc]
				if tapsOnA {
					acc[j*nt+i] = v
				} else {
					acc[i*nt+j] = v
				}
			}
		}
	})

	// Add the blocks in order and place the sums.
	for gc := 0; gc < g.Groups*chunks; gc++ {
		grp, chunk := gc/chunks, gc%chunks
		c0 := chunk * per
		nt := min(per, cg-c0) * taps
		first := ws.partials[gc*blocks*partLen:][:og*nt]
		for blk := 1; blk < blocks; blk++ {
			for i, v := range ws.partials[(gc*blocks+blk)*partLen:][:og*nt] {
				first[i] += v
			}
		}
		for o := 0; o < og; o++ {
			copy(dw[((grp*og+o)*cg+c0)*taps:][:nt], first[o*nt:][:nt])
		}
	}
	for t := range ws.workers {
		clear(ws.workers[t].dotRows[:])
	}
}

// wideTaps is the fewest taps of a task's chunk of channels, so that tiles
// are mostly full even for 1×1 kernels.
const wideTaps = 32

func growPtrs(s []*float32, n int) []*float32 {
	if cap(s) < n {
		return make([]*float32, n)
	}
	return s[:n]
}
