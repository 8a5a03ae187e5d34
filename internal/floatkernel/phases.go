package floatkernel

import (
	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/ops/geom"
)

// The data gradient of a stride-2 convolution by stride phases. With
// stride 2, the elements of dx whose row and column have parities (py, px)
// receive only the taps whose offsets have the same parities, and each of
// those reads the output gradient at a fixed distance from the element's
// position in its phase:
//
//	dx[c][2a+py][2b+px] = Σ w[o][c][ky][kx]·dy[o][a+ry][b+rx],
//	ry = (py+PadH-ky·DilH)/2 for ky·DilH ≡ py+PadH (mod 2), rx likewise.
//
// So each of the four phases is a stride-1 correlation of the zero-padded
// output gradient with some of the taps, which the direct layout's kernel
// (offsKernel, direct.go) computes with every tap read in place: no column
// matrix, no col2im, whose scattered adds at stride 2 cost more than the
// products. The two column phases of each row parity are then interleaved
// into dx (mergePairs), the straight-through mask applied as they are
// written. Each dx element is one sum in a fixed order (kernel rows, then
// outputs, then kernel columns), whatever the thread count.

// phaseGeom is the layout of the phase path for one geometry.
type phaseGeom struct {
	lh, lw   int // zero rows above, zero columns left of the output gradient
	wp       int // row length: lw zeros, OutW values, zeros to the right
	nPos     int // positions computed per phase: its rows times wp, in whole tiles
	planeLen int // a padded output gradient plane, with the kernel's over-reads
	// Per phase (2·py + px): its rows and columns of dx and the number of
	// taps that reach it.
	rows, cols, taps [4]int
}

// phaseOffset is the distance from a phase position to the output
// gradient element that tap t (kernel index along one axis) reads, for
// parity p: (p + pad - t·dil)/2, and whether the tap reaches that phase.
func phaseOffset(p, pad, t, dil int) (int, bool) {
	d := p + pad - t*dil
	if d%2 != 0 {
		return 0, false
	}
	return d / 2, true // d is even, so this is exact also for d < 0
}

func newPhaseGeom(g geom.Conv) phaseGeom {
	var pg phaseGeom
	oh, ow := g.OutH(), g.OutW()
	// The offsets' range over every phase and tap fixes the zero border.
	minRY, maxRY, minRX, maxRX := 0, 0, 0, 0
	lastRow, lastCol := 0, 0 // the largest a+ry and b+rx read
	for py := range 2 {
		for px := range 2 {
			ph := 2*py + px
			pg.rows[ph], pg.cols[ph] = (g.H-py+1)/2, (g.W-px+1)/2
			for ky := 0; ky < g.KH; ky++ {
				ry, ok := phaseOffset(py, g.PadH, ky, g.DilH)
				if !ok {
					continue
				}
				for kx := 0; kx < g.KW; kx++ {
					rx, ok := phaseOffset(px, g.PadW, kx, g.DilW)
					if !ok {
						continue
					}
					pg.taps[ph]++
					minRY, maxRY = min(minRY, ry), max(maxRY, ry)
					minRX, maxRX = min(minRX, rx), max(maxRX, rx)
					lastRow = max(lastRow, pg.rows[ph]-1+ry)
					lastCol = max(lastCol, pg.cols[ph]-1+rx)
				}
			}
		}
	}
	pg.lh, pg.lw = -minRY, -minRX
	pg.wp = pg.lw + max(ow, lastCol+1)
	positions := 0
	for ph := range 4 {
		positions = max(positions, pg.rows[ph]*pg.wp)
	}
	pg.nPos = ceilDiv(positions, nr) * nr
	// Every tap reads nPos positions from its offset; the plane holds the
	// rows read and those over-reads, zeros past the output gradient.
	maxOff := (pg.lh+maxRY)*pg.wp + pg.lw + maxRX
	pg.planeLen = max(pg.nPos+maxOff, (pg.lh+max(oh, lastRow+1))*pg.wp)
	return pg
}

// phaseCost is the multiply-adds per image of the phase path, tile
// padding included (compare gemmCost).
func phaseCost(g geom.Conv, pg phaseGeom) int {
	taps := 0
	for ph := range 4 {
		if pg.rows[ph] > 0 && pg.cols[ph] > 0 {
			taps += pg.taps[ph]
		}
	}
	return g.Groups * ceilDiv(g.InPerGroup(), mr) * mr * pg.nPos * taps * g.OutPerGroup()
}

// phasesOK reports whether the phase path applies to g's data gradient
// and is the cheaper one: the direct kernel, stride 2 both ways, finite
// weights (the padding's zeros meet them), and fewer multiply-adds than
// directWeight times the column-matrix path's.
func phasesOK(g geom.Conv, w []float32) bool {
	if offsKernel == nil || !asm.AVX2FMA() || g.StrideH != 2 || g.StrideW != 2 {
		return false
	}
	if phaseCost(g, newPhaseGeom(g)) > directWeight*gemmCost(g) {
		return false
	}
	return f32.AllFinite(w)
}

// backwardDataPhases is Conv2dBackwardData on the phase path, with
// Conv2dBackwardDataMasked's mask (nil: none) applied as dx is written.
func backwardDataPhases(dx, dy, w []float32, mask []bool, g geom.Conv, threads int, ws *Workspace) {
	pg := newPhaseGeom(g)
	cg, og := g.InPerGroup(), g.OutPerGroup()
	oh, ow := g.OutH(), g.OutW()
	taps := g.KH * g.KW
	chTiles := ceilDiv(cg, mr)
	// Per phase, its steps in ws.offs from stepAt[ph] and its weights
	// packed [group][channel tile][step][mr] in ws.shared from
	// packAt[ph]. The steps run over the phase's kernel rows, then the
	// outputs, then the row's taps, as the direct layout's do.
	var stepAt, packAt [5]int
	for ph := range 4 {
		stepAt[ph+1] = stepAt[ph] + og*pg.taps[ph]
		packAt[ph+1] = stepAt[ph+1] * g.Groups * chTiles * mr
	}
	if cap(ws.offs) < stepAt[4] {
		ws.offs = make([]int, stepAt[4])
	}
	ws.offs = ws.offs[:stepAt[4]]
	ws.shared = growFloats(ws.shared, packAt[4])
	for ph := range 4 {
		py, px := ph/2, ph%2
		steps := stepAt[ph+1] - stepAt[ph]
		s := 0
		for ky := 0; ky < g.KH; ky++ {
			ry, ok := phaseOffset(py, g.PadH, ky, g.DilH)
			if !ok {
				continue
			}
			for o := 0; o < og; o++ {
				for kx := 0; kx < g.KW; kx++ {
					rx, ok := phaseOffset(px, g.PadW, kx, g.DilW)
					if !ok {
						continue
					}
					ws.offs[stepAt[ph]+s] = o*pg.planeLen + (pg.lh+ry)*pg.wp + pg.lw + rx
					for grp := 0; grp < g.Groups; grp++ {
						for ct := 0; ct < chTiles; ct++ {
							a := ws.shared[packAt[ph]+((grp*chTiles+ct)*steps+s)*mr:][:mr]
							for i := range a {
								a[i] = 0
								if c := ct*mr + i; c < cg {
									a[i] = w[((grp*og+o)*cg+c)*taps+ky*g.KW+kx]
								}
							}
						}
					}
					s++
				}
			}
		}
	}
	xImg, yImg := g.C*g.H*g.W, g.O*oh*ow
	accLen := chTiles * mr * pg.nPos
	forEachImage(g.N, threads, ws, func(n int, b *workerBufs) {
		b.col = growFloats(b.col, og*pg.planeLen)
		b.acc = growFloats(b.acc, 4*accLen)
		for grp := 0; grp < g.Groups; grp++ {
			for o := 0; o < og; o++ {
				placeRows(b.col[o*pg.planeLen:][:pg.planeLen], dy[n*yImg+(grp*og+o)*oh*ow:][:oh*ow], oh, ow, pg.lh, pg.lw, pg.wp)
			}
			for ph := range 4 {
				steps := stepAt[ph+1] - stepAt[ph]
				acc := b.acc[ph*accLen:][:accLen]
				if steps == 0 || pg.rows[ph] == 0 || pg.cols[ph] == 0 {
					clear(acc)
					continue
				}
				for q0 := 0; q0 < pg.nPos; q0 += nr {
					for ct := 0; ct < chTiles; ct++ {
						a := ws.shared[packAt[ph]+(grp*chTiles+ct)*steps*mr:]
						offsKernel(steps, &a[0], &b.col[q0], &ws.offs[stepAt[ph]], &acc[ct*mr*pg.nPos+q0], pg.nPos)
					}
				}
			}
			for c := 0; c < cg; c++ {
				at := n*xImg + (grp*cg+c)*g.H*g.W
				for py := range 2 {
					rows := pg.rows[2*py]
					if rows == 0 {
						continue
					}
					start := at + py*g.W
					end := start + (rows-1)*2*g.W + g.W
					var m []bool
					if mask != nil {
						m = mask[start:end]
					}
					even := b.acc[(2*py)*accLen+c*pg.nPos:]
					odd := b.acc[(2*py+1)*accLen+c*pg.nPos:]
					mergePairs(dx[start:end], even, odd, m, rows, g.W, 2*g.W, pg.wp)
				}
			}
		}
	})
}

// The forward pass of a stride-2 layer on the same kernel: the padded
// input split into its stride phases as the tap-major weight gradient lays
// it out (tapPlanes), every tap (c, ky, kx) reads one phase plane
// contiguously from one offset for a run of output positions oy·pw + ox,
// where pw is a phase plane's row length. Columns ox >= OutW are computed
// and dropped. The padding's zeros meet the weights, which must be finite.

// forwardPhasesOK reports whether the forward pass of g can take the
// stride phases and costs at most directWeight times the multiply-adds of
// the column-matrix path: the direct kernel, stride 2 both ways, finite
// weights.
func forwardPhasesOK(g geom.Conv, w []float32) bool {
	if offsKernel == nil || !asm.AVX2FMA() || g.StrideH != 2 || g.StrideW != 2 {
		return false
	}
	t := newTapPlanes(g)
	if ceilDiv(g.OutH()*t.pw, nr) > directWeight*ceilDiv(g.OutH()*g.OutW(), nr) {
		return false
	}
	return f32.AllFinite(w)
}

// forwardPhases is Conv2d on the phase path, images spread over the
// workers.
func forwardPhases(y, x, w []float32, g geom.Conv, threads int, ws *Workspace) {
	t := newTapPlanes(g)
	cg, og := g.InPerGroup(), g.OutPerGroup()
	oh, ow := g.OutH(), g.OutW()
	k := g.FanIn()
	aLen, outTiles := packForward(ws, w, g)
	nPos := ceilDiv(oh*t.pw, nr) * nr
	ws.offs = ws.offs[:0]
	end := cg * t.planeLen // the planes, and the last taps' over-reads
	for c := 0; c < cg; c++ {
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				off := c*t.planeLen + t.tapOffset(g, ky, kx)
				ws.offs = append(ws.offs, off)
				end = max(end, off+nPos)
			}
		}
	}
	yImg := g.O * oh * ow
	forEachImage(g.N, threads, ws, func(n int, b *workerBufs) {
		b.col = growFloats(b.col, end)
		// Zeros, not stale floats, where the last channel's taps read
		// past its planes for positions that are dropped.
		clear(b.col[cg*t.planeLen:])
		b.acc = growFloats(b.acc, outTiles*mr*nPos)
		for grp := 0; grp < g.Groups; grp++ {
			for c := 0; c < cg; c++ {
				t.fill(b.col[c*t.planeLen:][:t.planeLen], inputPlanes{floats: x}, n*g.C+grp*cg+c, g)
			}
			for q0 := 0; q0 < nPos; q0 += nr {
				for ot := 0; ot < outTiles; ot++ {
					a := ws.shared[(grp*outTiles+ot)*aLen:]
					offsKernel(k, &a[0], &b.col[q0], &ws.offs[0], &b.acc[ot*mr*nPos+q0], nPos)
				}
			}
			storeForward(y[n*yImg+grp*og*oh*ow:][:og*oh*ow], b.acc, g, nPos, t.pw)
		}
	})
}
