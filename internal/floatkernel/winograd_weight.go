package floatkernel

import (
	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/geom"
)

// The weight gradient on the Winograd path. The forward pass is linear in
// the kernel g: Y = Aᵀ [(G g Gᵀ) ⊙ V] A per tile, V = Bᵀ d B, so the
// gradient of a tile's outputs is Gᵀ [V ⊙ (A dY Aᵀ)] G, and
//
//	dw[o][c] = Gᵀ P[o][c] G,  P[ξ][o][c] = Σ_tiles Y[ξ][o][t] · V[ξ][c][t],
//
// with Y = A dY Aᵀ the output gradient's 4×4 transform (winoGrad8) and the
// sum over every tile of every image: per element position ξ a product of
// two matrices that both run along the tiles, which the dot kernel
// (winoDotAdd) computes. Outside the image the output gradient is zero, so
// partial tiles add nothing. The transforms turn an infinite input or
// output gradient into NaN (and Inf·0 is NaN in the products), and can
// overflow where the definition does not; as in winogradConv, another
// path computes the call if the result is not finite.
//
// The images are cut into at most winoWeightBlocks blocks, as many as
// the batch and image sizes give (newWinoWeightGeom); each block's sums
// are made in order of its images and tile blocks and the blocks' added in
// order, so the result does not depend on the thread count.

// winoGrad computes the output gradient's transforms of F(2×2, 3×3) for
// rows tile rows of groups×8 tiles, winoGrad4 those of F(4×4, 3×3), and
// winoDot adds a 3×4 tile of dot products to P (see winograd_amd64.s and
// winograd4_amd64.s); nil when the build has none.
//
// With F(4×4, 3×3) the same holds with 6×6 transforms and P, Gᵀ of 3×6.
var (
	winoGrad, winoGrad4 func(groups, rows int, in *float32, phase, pitch int, v *float32, vRow, vs int)
	winoDot             func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
)

const (
	// winoWeightBlocks is the most blocks the images are cut into, each
	// of at least winoWeightBlockTiles tiles if there are enough.
	winoWeightBlocks     = 8
	winoWeightBlockTiles = 256
	// The transforms of winoWeightMinTiles to winoWeightMaxTiles tiles
	// are made at once (see winoBlockTiles), as many as keep them within
	// winoWeightFloats: the dot products run over them and fold their sums
	// at the end of each, so the longer the better, as long as one element
	// position's transforms stay in the second-level cache.
	winoWeightMinTiles = 256
	winoWeightMaxTiles = 512
	winoWeightFloats   = 256 << 10
)

// winoWeightGeom is the weight gradient's layout: the forward pass's, in
// blocks of tiles sized for the dot products, and the output gradient's
// padded planes split by column phase as the input's.
type winoWeightGeom struct {
	winoGeom
	dyPhase, dyPitch, dyPlane int
	kPad                      int // a block's tiles, padded to the dot kernel's step
	blocks                    int // image blocks
	oPad, cPad                int // P's rows and columns: whole tiles of the dot kernel
}

func newWinoWeightGeom(g geom.Conv, m int) (winoWeightGeom, bool) {
	_, _, ok := winogradGeom(g, m)
	if !ok || winoGradOf(m) == nil || winoDot == nil {
		return winoWeightGeom{}, false
	}
	var w winoWeightGeom
	pos := (m + 2) * (m + 2)
	tiles := max(winoWeightMinTiles, min(winoWeightMaxTiles, winoWeightFloats/(pos*(g.C+g.O))))
	w.winoGeom = newWinoGeom(m, g.C, g.H, g.W, g.PadH, g.PadW, g.O, tiles)
	w.dyPhase = 8 * w.groups // a group reads 8 tiles of every row
	w.dyPitch = m * w.dyPhase
	w.dyPlane = m * w.tY * w.dyPitch
	w.kPad = ceilDiv(w.imgsPer*w.rowsPer*w.tX, dotStep) * dotStep
	w.blocks = max(1, min(winoWeightBlocks, g.N*w.tY*w.tX/winoWeightBlockTiles))
	w.oPad, w.cPad = ceilDiv(g.O, dr)*dr, ceilDiv(g.C, dc)*dc
	return w, true
}

// winoGradOf is the output gradient's transform of tile size m.
func winoGradOf(m int) func(groups, rows int, in *float32, phase, pitch int, v *float32, vRow, vs int) {
	if m == 4 {
		return winoGrad4
	}
	return winoGrad
}

// winogradWeight is the Winograd path of g's weight gradient, 0 for none:
// the cheaper of the two that apply and are clearly cheaper than the
// tap-major and wide layouts, which run near the definition's
// multiply-adds: at least winoWeightMinIns channels (fewer leave the
// transforms and the output gradient's unpadding to dominate), cost at
// most three quarters of the definition's multiply-adds, and for
// F(4×4, 3×3) rows of at least winoMinTiles4 tiles (see winogradPath).
func winogradWeight(g geom.Conv) path {
	if g.C < winoWeightMinIns {
		return 0
	}
	return cheaperWinograd(3*g.N*g.O*g.FanIn()*g.OutH()*g.OutW(), func(p path) (winoGeom, int, bool) {
		w, ok := newWinoWeightGeom(g, winoTile(p))
		if !ok {
			return winoGeom{}, 0, false
		}
		return w.winoGeom, 4 * w.cost(g.N), true
	})
}

// winoWeightMinIns is the fewest input channels for the Winograd weight
// gradient.
const winoWeightMinIns = 16

// cost is the multiply-adds of n images: the dot products (whole tiles of
// the kernel and of its step) and the transforms, counted as in
// winoGeom.cost.
func (w winoWeightGeom) cost(n int) int {
	blocks := 0
	for ty0 := 0; ty0 < w.tY; ty0 += w.rowsPer {
		blocks++
	}
	products := w.positions() * w.oPad * w.cPad * w.kPad * blocks
	transform, weight := winoTransformCost, winoWeightCost
	if w.m == 4 {
		transform, weight = winoTransformCost4, winoWeightCost4
	}
	transforms := transform * w.imgsPer * w.tY * w.groups * 8 * (w.ins + w.outs)
	return ceilDiv(n, w.imgsPer)*(products+transforms) + weight*w.outs*w.ins
}

// winoWeightJob is one weight gradient call's work, in the Workspace as
// winoJob: the image blocks (winoBlocksLoop) and the sum of the blocks'
// products with the final transform, a part per output (winoSumLoop).
type winoWeightJob struct {
	w        winoWeightGeom
	dw       []float32
	dy       []float32
	x        inputPlanes
	n        int
	partials []float32 // a block's P: [ξ][oPad][cPad]
	workers  []workerBufs
}

type (
	winoBlocksLoop winoWeightJob
	winoSumLoop    winoWeightJob
)

// backwardWeightWinograd is Conv2dBackwardWeight on Winograd path p, x
// floats or codes (dequantized as the planes are padded); it returns false,
// with dw unspecified, when dw is not finite.
func backwardWeightWinograd(p path, dw, dy []float32, x inputPlanes, g geom.Conv, threads int, ws *Workspace) bool {
	w, _ := newWinoWeightGeom(g, winoTile(p))
	pLen := w.positions() * w.oPad * w.cPad
	ws.partials = growFloats(ws.partials, w.blocks*pLen)
	workers := workerCount(w.blocks, threads)
	ws.begin(workers)
	j := &ws.winoWeight
	*j = winoWeightJob{w: w, dw: dw, dy: dy, x: x, n: g.N, partials: ws.partials, workers: ws.workers}
	defer func() { *j = winoWeightJob{} }() // keep no caller's memory
	parallel.Run(w.blocks, workers, 1, (*winoBlocksLoop)(j))
	parallel.Run(w.outs, threads, 1, (*winoSumLoop)(j))
	return f32.AllFinite(dw)
}

// Run computes the sums P of image blocks [lo, hi).
func (j *winoBlocksLoop) Run(part, lo, hi int) {
	w := &j.w
	inImg, outImg := w.ins*w.h*w.w, w.outs*w.oh*w.ow
	pLen := w.positions() * w.oPad * w.cPad
	for blk := lo; blk < hi; blk++ {
		n0, n1 := blk*j.n/w.blocks, (blk+1)*j.n/w.blocks
		p := j.partials[blk*pLen:][:pLen]
		clear(p)
		for i0 := n0; i0 < n1; i0 += w.imgsPer {
			i1 := min(i0+w.imgsPer, n1)
			winogradWeightImages(p, j.dy[i0*outImg:i1*outImg], j.x.images(i0, i1, inImg), i1-i0, w, &j.workers[part])
		}
	}
}

// winogradWeightImages adds the sums P of nb images (at most imgsPer) to
// p; its rows and columns past outs and ins get garbage.
func winogradWeightImages(p []float32, dy []float32, x inputPlanes, nb int, w *winoWeightGeom, b *workerBufs) {
	ins, outs := w.ins, w.outs
	// The padded input planes, as winogradImages', and the output
	// gradient's, zero past its rows and columns.
	b.col = growFloats(b.col, nb*ins*w.planeLen+winoSlack)
	clear(b.col)
	plane := w.h * w.w
	for c := 0; c < nb*ins; c++ {
		row := b.col[c*w.planeLen+w.padH*w.pitch:]
		switch {
		case x.bytes != nil && w.m == 2:
			splitCodePairs(row[w.at(w.padW):], row[w.at(w.padW+1):], x.bytes[c*plane:], x.q, w.h, w.w, w.pitch, w.w)
		case x.bytes != nil:
			// Dequantized into a plane of floats first: two vector
			// passes over one plane.
			b.plane = growFloats(b.plane, plane)
			dequantRows(b.plane, x.bytes[c*plane:][:plane], x.q, 1, plane, 0, 0)
			w.splitRows(row, b.plane, w.h, w.w, w.padW, w.pitch, w.w)
		default:
			w.splitRows(row, x.floats[c*plane:], w.h, w.w, w.padW, w.pitch, w.w)
		}
	}
	b.stage = growFloats(b.stage, nb*outs*w.dyPlane+winoSlack)
	clear(b.stage)
	dyAt := [4]int{0, w.dyPhase, 2 * w.dyPhase, 3 * w.dyPhase}
	for o := 0; o < nb*outs; o++ {
		if w.m == 2 {
			splitPairs(b.stage[o*w.dyPlane:], b.stage[o*w.dyPlane+w.dyPhase:], dy[o*w.oh*w.ow:], w.oh, w.ow, w.dyPitch, w.ow)
			continue
		}
		splitQuads(b.stage[o*w.dyPlane:], dyAt, dy[o*w.oh*w.ow:], w.oh, w.ow, w.dyPitch, w.ow)
	}
	input, _ := w.transforms()
	grad := winoGradOf(w.m)
	// Transforms [ξ][channel][tile], rows past the last channel read by
	// the dot kernel's tiles.
	pos := w.positions()
	vs, ys := ins*w.vPitch, outs*w.vPitch
	b.pack = growFloats(b.pack, pos*vs+dc*w.vPitch+winoSlack)
	b.acc = growFloats(b.acc, pos*ys+dr*w.vPitch+winoSlack)
	for ty0 := 0; ty0 < w.tY; ty0 += w.rowsPer {
		ty1 := min(ty0+w.rowsPer, w.tY)
		rows := ty1 - ty0
		imgTiles := rows * w.tX
		tiles := nb * imgTiles
		k := ceilDiv(tiles, dotStep) * dotStep
		for c := 0; c < ins; c++ {
			for i := 0; i < nb; i++ {
				input(w.groups, rows, &b.col[(i*ins+c)*w.planeLen+w.m*ty0*w.pitch], w.phase, w.pitch,
					&b.pack[c*w.vPitch+i*imgTiles], w.tX, vs)
			}
		}
		for o := 0; o < outs; o++ {
			for i := 0; i < nb; i++ {
				grad(w.groups, rows, &b.stage[(i*outs+o)*w.dyPlane+w.m*ty0*w.dyPitch], w.dyPhase, w.dyPitch,
					&b.acc[o*w.vPitch+i*imgTiles], w.tX, ys)
			}
		}
		// The dot products run to a multiple of their step over zeros.
		for xi := 0; xi < pos; xi++ {
			for c := 0; c < ins; c++ {
				clear(b.pack[xi*vs+c*w.vPitch+tiles : xi*vs+c*w.vPitch+k])
			}
			for o := 0; o < outs; o++ {
				clear(b.acc[xi*ys+o*w.vPitch+tiles : xi*ys+o*w.vPitch+k])
			}
		}
		_ = p[pos*w.oPad*w.cPad-1]
		for xi := 0; xi < pos; xi++ {
			for o0 := 0; o0 < outs; o0 += dr {
				for c0 := 0; c0 < ins; c0 += dc {
					winoDot(k, &b.acc[xi*ys+o0*w.vPitch], w.vPitch, &b.pack[xi*vs+c0*w.vPitch], w.vPitch,
						&p[(xi*w.oPad+o0)*w.cPad+c0], w.cPad)
				}
			}
		}
	}
}

// Run adds the blocks' sums of outputs [lo, hi) in block order, into the
// first block's, and writes dw = Gᵀ P G.
func (j *winoSumLoop) Run(_, lo, hi int) {
	w := &j.w
	ins, pos := w.ins, w.positions()
	pLen := pos * w.oPad * w.cPad
	rowStride := w.oPad * w.cPad // between element positions ξ
	for o := lo; o < hi; o++ {
		// Output o's sums of every position, one row per position.
		sums := j.partials[o*w.cPad:]
		for blk := 1; blk < w.blocks; blk++ {
			f32.AddRows(sums, j.partials[blk*pLen+o*w.cPad:], pos, ins, rowStride, rowStride)
		}
		var q [36]float32
		for c := 0; c < ins; c++ {
			for xi := range pos {
				q[xi] = j.partials[(xi*w.oPad+o)*w.cPad+c]
			}
			dw := (*[9]float32)(j.dw[(o*ins+c)*9:])
			if w.m == 4 {
				winoKernelGrad4(dw, &q)
				continue
			}
			winoKernelGrad(dw, (*[16]float32)(q[:16]))
		}
	}
}

// winoKernelGrad writes Gᵀ p G (3×3) of the 4×4 p; Gᵀ's rows are
// (1 ½ ½ 0), (0 ½ -½ 0), (0 ½ ½ 1).
func winoKernelGrad(dw *[9]float32, p *[16]float32) {
	var r [12]float32 // Gᵀ p, 3×4
	for k := 0; k < 4; k++ {
		p0, p1, p2, p3 := p[k], p[4+k], p[8+k], p[12+k]
		r[k], r[4+k], r[8+k] = p0+(p1+p2)*0.5, (p1-p2)*0.5, (p1+p2)*0.5+p3
	}
	for a := 0; a < 3; a++ {
		r0, r1, r2, r3 := r[4*a], r[4*a+1], r[4*a+2], r[4*a+3]
		dw[3*a], dw[3*a+1], dw[3*a+2] = r0+(r1+r2)*0.5, (r1-r2)*0.5, (r1+r2)*0.5+r3
	}
}

// winoKernelGrad4 writes Gᵀ p G (3×3) of the 6×6 p for F(4×4, 3×3),
// computed in float64 and rounded once; Gᵀ's rows are
// (¼ -⅙ -⅙ 1/24 1/24 0), (0 -⅙ ⅙ 1/12 -1/12 0), (0 -⅙ -⅙ ⅙ ⅙ 1).
func winoKernelGrad4(dw *[9]float32, p *[36]float32) {
	gT := func(v [6]float64) [3]float64 {
		return [3]float64{v[0]/4 - (v[1]+v[2])/6 + (v[3]+v[4])/24,
			(v[2]-v[1])/6 + (v[3]-v[4])/12,
			(v[3]+v[4]-v[1]-v[2])/6 + v[5]}
	}
	var r [3][6]float64 // Gᵀ p, 3×6, by columns k of p
	for k := 0; k < 6; k++ {
		var col [6]float64
		for i := range col {
			col[i] = float64(p[6*i+k])
		}
		for a, v := range gT(col) {
			r[a][k] = v
		}
	}
	for a := range r {
		for b, v := range gT(r[a]) {
			dw[3*a+b] = float32(v)
		}
	}
}
