package floatkernel

import (
	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/ops/geom"
)

// The direct data gradient of a stride-1 convolution. With stride 1,
// dx[c][iy][ix] = Σ w[o][c][ky][kx]·dy[o][iy+PadH-ky·DilH][ix+PadW-kx·DilW]
// is a convolution of the output gradient, zero-padded, with the flipped
// weights. Laid out with rows of wp = W+PadW floats, each output gradient
// row preceded by its lw = (KW-1)·DilW-PadW zeros (which also serve as the
// zeros right of the previous row) and the plane by lh such rows, every
// tap (o, ky, kx) reads the padded plane of o contiguously from one offset
// for a run of dx positions: offsKernel computes 6 input channels × 16
// positions per call, with the weights packed once per call and the
// output gradient read in place, and no column matrix or col2im. Its price
// is the full convolution's zero border: the taps of a tile whose rows
// all fall in the border are skipped (steps are ordered by kernel row), the
// rest are computed.
//
// Positions in the extra wp-W columns of a row are computed and dropped;
// the output gradient's zeros meet only the weights, so the weights must be
// finite (0·Inf is NaN), which the caller checks.

// offsKernel computes C[i][j] = Σ_l a[l*mr+i]·b[offs[l]+j] for i < mr, j <
// nr, l < k (k >= 1), summing in order from zero. Nil when the CPU or build
// has none.
var offsKernel func(k int, a, b *float32, offs *int, c *float32, ldc int)

// directGeom holds the sizes of the direct data gradient's layout.
type directGeom struct {
	lh, lw   int // zero rows above, zero columns left of the output gradient
	wp       int // row length, W + PadW
	nPos     int // dx positions computed: H·wp rounded up to whole tiles
	planeLen int // a padded output gradient plane, with the kernel's over-reads
	steps    int // taps per group: KH·og·KW, kernel row major
}

func newDirectGeom(g geom.Conv) (d directGeom, ok bool) {
	d.lh, d.lw = (g.KH-1)*g.DilH-g.PadH, (g.KW-1)*g.DilW-g.PadW
	if d.lh < 0 || d.lw < 0 {
		return d, false // padding wider than the kernel: not this layout
	}
	d.wp = g.W + g.PadW
	d.nPos = ceilDiv(g.H*d.wp, nr) * nr
	d.planeLen = d.nPos + (g.KH-1)*g.DilH*d.wp + (g.KW-1)*g.DilW
	d.steps = g.KH * g.OutPerGroup() * g.KW
	return d, true
}

// tileSteps returns the steps [s0, s1) of the position tile starting at
// q0: those of the kernel rows that read an output gradient row, not the
// border, for some row of the tile.
func (d directGeom) tileSteps(g geom.Conv, q0 int) (s0, s1 int) {
	iy0, iy1 := q0/d.wp, min((q0+nr-1)/d.wp, g.H-1)
	oh := g.OutH()
	perRow := g.OutPerGroup() * g.KW
	ky0, ky1 := g.KH, 0
	for ky := 0; ky < g.KH; ky++ {
		shift := (g.KH - 1 - ky) * g.DilH
		if iy1+shift >= d.lh && iy0+shift < d.lh+oh {
			ky0, ky1 = min(ky0, ky), ky+1
		}
	}
	if ky1 <= ky0 {
		return 0, 0
	}
	return ky0 * perRow, ky1 * perRow
}

// directCost and gemmCost are the multiply-adds per image, tile padding
// included, of the direct layout and of the column-matrix path.
func directCost(g geom.Conv, d directGeom) int {
	cost := 0
	for q0 := 0; q0 < d.nPos; q0 += nr {
		s0, s1 := d.tileSteps(g, q0)
		cost += (s1 - s0) * nr
	}
	return g.Groups * cost * ceilDiv(g.InPerGroup(), mr) * mr
}

func gemmCost(g geom.Conv) int {
	k := g.FanIn()
	return g.Groups * ceilDiv(k, mr) * mr * ceilDiv(g.OutH()*g.OutW(), nr) * nr * g.OutPerGroup()
}

// directOK reports whether the direct data gradient applies and is the
// cheaper one: a kernel, stride 1, a layout, finite weights, and fewer
// multiply-adds than directWeight times the column-matrix path's, whose
// short inner dimension and col2im make each of its multiply-adds dearer.
func directOK(g geom.Conv, w []float32) (directGeom, bool) {
	if offsKernel == nil || !asm.AVX2FMA() || g.StrideH != 1 || g.StrideW != 1 {
		return directGeom{}, false
	}
	d, ok := newDirectGeom(g)
	if !ok || directCost(g, d) > directWeight*gemmCost(g) {
		return d, false
	}
	return d, f32.AllFinite(w)
}

// directWeight is how many direct multiply-adds cost one of the
// column-matrix path's (see directOK).
const directWeight = 2

// backwardDataDirect is Conv2dBackwardData in the direct layout, with
// Conv2dBackwardDataMasked's mask (nil: none) applied as dx is written.
// Images are spread over the workers; each dx element is one sum in a
// fixed order, so the result does not depend on the thread count.
func backwardDataDirect(dx, dy, w []float32, mask []bool, g geom.Conv, d directGeom, threads int, ws *Workspace) {
	cg, og := g.InPerGroup(), g.OutPerGroup()
	oh, ow := g.OutH(), g.OutW()
	taps := g.KH * g.KW
	chTiles := ceilDiv(cg, mr)
	// The weights, flipped and packed: [group][channel tile][step][mr],
	// step (ky, o, kx) reading tap (ky, kx) of output o.
	aLen := d.steps * mr
	ws.shared = growFloats(ws.shared, g.Groups*chTiles*aLen)
	ws.offs = ws.offs[:0]
	for ky := 0; ky < g.KH; ky++ {
		for o := 0; o < og; o++ {
			for kx := 0; kx < g.KW; kx++ {
				ws.offs = append(ws.offs, o*d.planeLen+(g.KH-1-ky)*g.DilH*d.wp+(g.KW-1-kx)*g.DilW)
			}
		}
	}
	for grp := 0; grp < g.Groups; grp++ {
		for ct := 0; ct < chTiles; ct++ {
			a := ws.shared[(grp*chTiles+ct)*aLen:][:aLen]
			for s := 0; s < d.steps; s++ {
				ky, o, kx := s/(og*g.KW), s/g.KW%og, s%g.KW
				for i := 0; i < mr; i++ {
					c := ct*mr + i
					if c >= cg {
						a[s*mr+i] = 0
						continue
					}
					a[s*mr+i] = w[((grp*og+o)*cg+c)*taps+ky*g.KW+kx]
				}
			}
		}
	}
	xImg, yImg := g.C*g.H*g.W, g.O*oh*ow
	forEachImage(g.N, threads, ws, func(n int, b *workerBufs) {
		b.col = growFloats(b.col, og*d.planeLen)
		b.acc = growFloats(b.acc, chTiles*mr*d.nPos)
		for grp := 0; grp < g.Groups; grp++ {
			// The output gradient planes, zero-padded.
			for o := 0; o < og; o++ {
				placeRows(b.col[o*d.planeLen:][:d.planeLen], dy[n*yImg+(grp*og+o)*oh*ow:][:oh*ow], oh, ow, d.lh, d.lw, d.wp)
			}
			// Position tiles outside, so that the output gradient a tile
			// reads stays in cache for every channel tile.
			for q0 := 0; q0 < d.nPos; q0 += nr {
				s0, s1 := d.tileSteps(g, q0)
				for ct := 0; ct < chTiles; ct++ {
					a := ws.shared[(grp*chTiles+ct)*aLen:]
					c := b.acc[ct*mr*d.nPos+q0:]
					if s1 == s0 {
						for i := 0; i < mr; i++ {
							clear(c[i*d.nPos:][:nr])
						}
						continue
					}
					offsKernel(s1-s0, &a[s0*mr], &b.col[q0], &ws.offs[s0], &c[0], d.nPos)
				}
			}
			size := g.H * g.W
			for c := 0; c < cg; c++ {
				at := n*xImg + (grp*cg+c)*size
				var m []bool
				if mask != nil {
					m = mask[at:][:size]
				}
				copyRows(dx[at:][:size], b.acc[c*d.nPos:], m, g.H, g.W, g.W, d.wp)
			}
		}
	})
}

// The direct forward convolution of stride 1, in the same layout: the
// input planes zero-padded, each row preceded by its PadW zeros (which
// serve as the previous row's right padding) in rows of wp = W+PadW
// floats, and every tap (c, ky, kx) read from one offset for a run of
// output positions oy·wp + ox. Columns ox >= OutW are computed and
// dropped; they read inputs of the next row, but no weight meets an input
// outside its window for the outputs kept. The padding's zeros meet the
// weights, which must be finite.

// forwardGeom holds the sizes of the direct forward layout.
type forwardGeom struct {
	wp       int // row length, W + PadW
	nPos     int // output positions computed: OutH·wp rounded up to whole tiles
	planeLen int // a padded input plane, with the kernel's over-reads
}

func newForwardGeom(g geom.Conv) (f forwardGeom, ok bool) {
	if g.PadW > (g.KW-1)*g.DilW {
		return f, false // rows shorter than the output's
	}
	f.wp = g.W + g.PadW
	f.nPos = ceilDiv(g.OutH()*f.wp, nr) * nr
	f.planeLen = f.nPos + (g.KH-1)*g.DilH*f.wp + (g.KW-1)*g.DilW
	return f, true
}

// forwardDirectOK reports whether the direct forward applies and costs at
// most directWeight times the multiply-adds of the column-matrix path,
// which also copies each column entry twice (im2col, packing): a kernel,
// stride 1, a layout and finite weights.
func forwardDirectOK(g geom.Conv, w []float32) (forwardGeom, bool) {
	if offsKernel == nil || !asm.AVX2FMA() || g.StrideH != 1 || g.StrideW != 1 {
		return forwardGeom{}, false
	}
	f, ok := newForwardGeom(g)
	if !ok || f.nPos > directWeight*ceilDiv(g.OutH()*g.OutW(), nr)*nr {
		return f, false
	}
	return f, f32.AllFinite(w)
}

// forwardDirect is Conv2d in the direct layout, images spread over the
// workers.
func forwardDirect(y, x, w []float32, g geom.Conv, f forwardGeom, threads int, ws *Workspace) {
	cg, og := g.InPerGroup(), g.OutPerGroup()
	oh, ow := g.OutH(), g.OutW()
	k := g.FanIn()
	taps := g.KH * g.KW
	aLen, outTiles := packForward(ws, w, g)
	ws.offs = ws.offs[:0]
	for c := 0; c < cg; c++ {
		for t := 0; t < taps; t++ {
			ky, kx := t/g.KW, t%g.KW
			ws.offs = append(ws.offs, c*f.planeLen+ky*g.DilH*f.wp+kx*g.DilW)
		}
	}
	xImg, yImg := g.C*g.H*g.W, g.O*oh*ow
	forEachImage(g.N, threads, ws, func(n int, b *workerBufs) {
		b.col = growFloats(b.col, cg*f.planeLen)
		b.acc = growFloats(b.acc, outTiles*mr*f.nPos)
		for grp := 0; grp < g.Groups; grp++ {
			for c := 0; c < cg; c++ {
				placeRows(b.col[c*f.planeLen:][:f.planeLen], x[n*xImg+(grp*cg+c)*g.H*g.W:][:g.H*g.W], g.H, g.W, g.PadH, g.PadW, f.wp)
			}
			for q0 := 0; q0 < f.nPos; q0 += nr {
				for ot := 0; ot < outTiles; ot++ {
					a := ws.shared[(grp*outTiles+ot)*aLen:]
					offsKernel(k, &a[0], &b.col[q0], &ws.offs[0], &b.acc[ot*mr*f.nPos+q0], f.nPos)
				}
			}
			storeForward(y[n*yImg+grp*og*oh*ow:][:og*oh*ow], b.acc, g, f.nPos, f.wp)
		}
	})
}

// packForward packs the weights for the direct forward kernels into
// ws.shared: [group][output tile][step][mr], step (c, ky, kx), outputs past
// the group's as zeros. It returns a tile's length and the tiles per group.
func packForward(ws *Workspace, w []float32, g geom.Conv) (aLen, outTiles int) {
	og, k := g.OutPerGroup(), g.FanIn()
	outTiles = ceilDiv(og, mr)
	aLen = k * mr
	ws.shared = growFloats(ws.shared, g.Groups*outTiles*aLen)
	for grp := 0; grp < g.Groups; grp++ {
		for ot := 0; ot < outTiles; ot++ {
			a := ws.shared[(grp*outTiles+ot)*aLen:][:aLen]
			for i := 0; i < mr; i++ {
				o := ot*mr + i
				if o >= og {
					for s := 0; s < k; s++ {
						a[s*mr+i] = 0
					}
					continue
				}
				for s, v := range w[(grp*og+o)*k:][:k] {
					a[s*mr+i] = v
				}
			}
		}
	}
	return aLen, outTiles
}

// storeForward copies one group's outputs of one image from the direct
// kernels' sums (nPos per output, rows rowLen apart) into y, dropping the
// columns past OutW.
func storeForward(y, acc []float32, g geom.Conv, nPos, rowLen int) {
	oh, ow := g.OutH(), g.OutW()
	for o := 0; o < g.OutPerGroup(); o++ {
		copyRows(y[o*oh*ow:][:oh*ow], acc[o*nPos:], nil, oh, ow, ow, rowLen)
	}
}
