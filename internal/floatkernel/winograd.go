package floatkernel

import (
	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/geom"
)

// Winograd's F(2×2, 3×3) for ungrouped 3×3 convolutions of stride 1: each
// 2×2 block of outputs (a tile) is Aᵀ [Σ_c (G g_oc Gᵀ) ⊙ (Bᵀ d_c B)] A,
// where d_c is the tile's 4×4 input patch of channel c and g_oc the 3×3
// kernel. Per tile and pair (o, c) that is 16 multiply-adds instead of the
// 36 of the four outputs, and the 16 element positions ξ of the 4×4
// products make 16 independent matrix products, (outputs × channels) ·
// (channels × tiles), which run on a 6×16 FMA micro-kernel (winoGemm) with
// the transformed input read in place. The transforms are additions: the
// weights' once per call, split over the workers by output tile, the
// input's and output's per image in vector kernels (winoInput8,
// winoOutput8). Images go to the workers whole, a few at a time when they
// are small, and each output is one fixed sequence of operations, so the
// result does not depend on the thread count.
//
// Both the forward pass and the data gradient use it: the data gradient
// of a stride-1 convolution is the convolution of the output gradient
// with the flipped weights, channels swapped, padded by 2-Pad.
//
// Each output of a tile depends only on the inputs of its own 3×3 window,
// also in floating point (the transforms never mix a row or column of the
// patch into an output whose window lacks it), so zero padding and the
// extra row and column of odd output sizes stay out of the outputs kept.
// But the transforms form differences of inputs: an infinite input gives
// Inf - Inf, NaN, where the definition gives ±Inf; and sums of several
// inputs or products can overflow where the definition's sum would not.
// Either way some output is not finite (an infinite or NaN input reaches
// every output whose window holds it, an overflow every output it feeds),
// so the workers check each image's outputs as they make them, and if any
// is not finite, or the weights' transform is not (finite weights can
// overflow it), the direct path computes the whole call instead: twice
// the work, for a call whose results are infinite or NaN or nearly.

// winoInput computes the input transforms of rows tile rows of groups×8
// tiles, winoOutput the output transforms and winoProducts the products
// of one element position (see winograd_amd64.s); nil when the build has
// none.
var (
	winoInput    func(groups, rows int, in *float32, half, pitch int, v *float32, vRow, vs int)
	winoOutput   func(groups, rows int, m *float32, mRow, ms int, out *float32, pitch int)
	winoProducts func(k int, a *float32, tiles int, b *float32, bp int, cols int, c *float32, ldc int)
)

// winoBlockTiles is the number of tiles whose transformed inputs and
// products are made at once, in whole tile rows of an image or whole
// images: enough columns for the matrix products to run long and to reuse
// each panel of weights, few enough that both stay in the second-level
// cache.
const winoBlockTiles = 64

// winoGeom is the layout of one Winograd convolution: images of ins
// channels of h×w zero-padded by padH and padW into outs channels of
// oh×ow, imgsPer images a task.
type winoGeom struct {
	ins, h, w, padH, padW int
	outs, oh, ow          int
	tY, tX                int // tiles down and across
	groups                int // vector groups of 8 tiles per tile row
	half, pitch           int // a padded row's even columns, then its odd ones
	planeLen              int // a padded plane, 2tY+2 rows
	rowsPer               int // tile rows per block
	imgsPer               int // images per task and block, when they are small
	vPitch                int // a channel's transformed inputs in a block
	outTiles              int // output tiles of the micro-kernel (mr outputs)
	mPitch                int // an output's products in a block
	sPitch                int // a row of outputs as winoOutput writes it
	// inPlace: the outputs are whole tiles and vector groups (oh even, ow
	// a multiple of 16), so winoOutput writes them in place.
	inPlace bool
}

func newWinoGeom(ins, h, w, padH, padW, outs, blockTiles int) winoGeom {
	g := winoGeom{ins: ins, h: h, w: w, padH: padH, padW: padW, outs: outs}
	g.oh, g.ow = h+2*padH-2, w+2*padW-2
	g.tY, g.tX = ceilDiv(g.oh, 2), ceilDiv(g.ow, 2)
	g.groups = ceilDiv(g.tX, 8)
	g.half = g.tX + 1
	g.pitch = 2 * g.half
	g.planeLen = (2*g.tY + 2) * g.pitch
	g.rowsPer = min(g.tY, ceilDiv(blockTiles, g.tX))
	g.imgsPer = max(1, blockTiles/(g.rowsPer*g.tX))
	block := g.imgsPer * g.rowsPer * g.tX
	// A group cut by the end of its tile row writes up to 7 tiles past it
	// (the next row's or image's, rewritten after), and the products read
	// whole micro-tiles of 16.
	g.vPitch = block + 8
	g.outTiles = ceilDiv(outs, mr)
	g.mPitch = ceilDiv(block, nr) * nr
	g.sPitch = 16 * g.groups
	g.inPlace = g.oh%2 == 0 && g.ow == g.sPitch
	return g
}

// winoSlack is the floats past each buffer that the kernels read: a
// group's over-reads of padded rows, products and transformed inputs.
const winoSlack = 32

// winogradGeom returns the layouts of g's forward pass and data gradient
// on the Winograd path, and whether it applies to g at all: the kernels,
// one group, a 3×3 kernel of stride and dilation 1, padding at most 2.
func winogradGeom(g geom.Conv) (forward, data winoGeom, ok bool) {
	if winoInput == nil || winoOutput == nil || winoProducts == nil || !asm.AVX2FMA() ||
		g.Groups != 1 || g.KH != 3 || g.KW != 3 || g.StrideH != 1 || g.StrideW != 1 ||
		g.DilH != 1 || g.DilW != 1 || g.PadH > 2 || g.PadW > 2 {
		return forward, data, false
	}
	forward = newWinoGeom(g.C, g.H, g.W, g.PadH, g.PadW, g.O, winoBlockTiles)
	data = newWinoGeom(g.O, g.OutH(), g.OutW(), 2-g.PadH, 2-g.PadW, g.C, winoBlockTiles)
	return forward, data, true
}

// winogradForwardOK and winogradDataOK report whether the Winograd path
// applies to g's forward pass (data gradient) with weights w, and costs
// less than the direct path: finite weights, as the direct path that takes
// over from it needs, and cost at most nine tenths of the direct path's
// multiply-adds (directCost and the forward layout's count).
func winogradForwardOK(g geom.Conv, w []float32) bool {
	fw, _, ok := winogradGeom(g)
	if !ok {
		return false
	}
	f, _ := newForwardGeom(g)
	direct := ceilDiv(g.O, mr) * mr * g.FanIn() * f.nPos
	return 10*fw.cost(g.N) <= 9*g.N*direct && f32.AllFinite(w)
}

func winogradDataOK(g geom.Conv, w []float32) bool {
	_, data, ok := winogradGeom(g)
	if !ok {
		return false
	}
	d, _ := newDirectGeom(g)
	return 10*data.cost(g.N) <= 9*g.N*directCost(g, d) && f32.AllFinite(w)
}

// cost is the multiply-adds of n images on the Winograd path: those of
// the products (whole micro-tiles of whole tasks) and the transforms',
// counted as winoTransformCost multiply-adds per tile and channel, input
// or output (whole vector groups), and winoWeightCost per kernel.
func (wg winoGeom) cost(n int) int {
	tiles := 0
	for ty0 := 0; ty0 < wg.tY; ty0 += wg.rowsPer {
		tiles += ceilDiv(wg.imgsPer*(min(ty0+wg.rowsPer, wg.tY)-ty0)*wg.tX, nr) * nr
	}
	products := 16 * wg.outTiles * mr * wg.ins * tiles
	transforms := winoTransformCost * wg.imgsPer * wg.tY * wg.groups * 8 * (wg.ins + wg.outs)
	return ceilDiv(n, wg.imgsPer)*(products+transforms) + winoWeightCost*wg.outTiles*mr*wg.ins
}

// winoTransformCost and winoWeightCost are the costs of transforming one
// tile of one channel and one kernel, in multiply-adds of the products.
const (
	winoTransformCost = 56
	winoWeightCost    = 900
)

// winoJob is one call's work, kept in the Workspace so that handing it to
// the workers allocates nothing: the weights' transform (winoWeightsLoop,
// a part per output tile) and the images (winoImagesLoop).
type winoJob struct {
	wg      winoGeom
	out, in []float32
	mask    []bool // nil: none
	w, u    []float32
	flipped bool
	check   bool // give up on an output that is not finite
	workers []workerBufs
}

type (
	winoWeightsLoop winoJob
	winoImagesLoop  winoJob
)

// Run transforms and packs the weights of output tiles [lo, hi) for the
// products: u holds [ξ][output tile][channel][mr] (outputs past outs zero).
// The kernel of output o and channel c is w[(o·ins+c)·9:], or, flipped,
// the kernel of output c and channel o reversed, as the data gradient
// reads it.
func (j *winoWeightsLoop) Run(_, lo, hi int) {
	wg := &j.wg
	ins, outs := wg.ins, wg.outs
	stride := wg.outTiles * ins * mr // between element positions ξ
	for ot := lo; ot < hi; ot++ {
		for c := 0; c < ins; c++ {
			for i := 0; i < mr; i++ {
				var k [9]float32
				o := ot*mr + i
				switch {
				case o >= outs:
				case j.flipped:
					src := j.w[(c*outs+o)*9:][:9]
					k = [9]float32{src[8], src[7], src[6], src[5], src[4], src[3], src[2], src[1], src[0]}
				default:
					k = [9]float32(j.w[(o*ins+c)*9:][:9])
				}
				winoKernel(j.u[(ot*ins+c)*mr+i:], stride, &k)
			}
		}
	}
}

// winoKernel writes G g Gᵀ of the 3×3 kernel g, element ξ at u[ξ·stride].
// G's rows are (1 0 0), (½ ½ ½), (½ -½ ½), (0 0 1).
func winoKernel(u []float32, stride int, g *[9]float32) {
	_ = u[15*stride]
	// t = G g, by columns x of g.
	var t [12]float32
	for x := 0; x < 3; x++ {
		g0, g1, g2 := g[x], g[3+x], g[6+x]
		t[x], t[3+x], t[6+x], t[9+x] = g0, (g0+g1+g2)*0.5, (g0-g1+g2)*0.5, g2
	}
	// t Gᵀ, by rows r of t.
	for r := 0; r < 4; r++ {
		t0, t1, t2 := t[3*r], t[3*r+1], t[3*r+2]
		row := u[4*r*stride:]
		row[0], row[stride], row[2*stride], row[3*stride] = t0, (t0+t1+t2)*0.5, (t0-t1+t2)*0.5, t2
	}
}

// Run computes tasks [lo, hi), imgsPer images each, with worker part's
// buffers.
func (j *winoImagesLoop) Run(part, lo, hi int) {
	wg := &j.wg
	inImg, outImg := wg.ins*wg.h*wg.w, wg.outs*wg.oh*wg.ow
	n := len(j.in) / inImg
	for t := lo; t < hi; t++ {
		i0, i1 := t*wg.imgsPer, min((t+1)*wg.imgsPer, n)
		b := &j.workers[part]
		if b.nonFinite {
			return // the call goes to the direct path
		}
		var m []bool
		if j.mask != nil {
			m = j.mask[i0*outImg : i1*outImg]
		}
		out := j.out[i0*outImg : i1*outImg]
		winogradImages(out, j.in[i0*inImg:i1*inImg], m, i1-i0, j.u, wg, b)
		if j.check && !f32.AllFinite(out) {
			b.nonFinite = true
		}
	}
}

// winogradConv computes the convolution of n images of in with the
// weights w on the Winograd path, into out; mask (nil: none) zeroes the
// outputs where it is false, as they are written. It returns false, with
// out unspecified, when the transformed weights are not finite or, with
// check, an output is not.
func winogradConv(out, in []float32, mask []bool, w []float32, flipped bool, wg winoGeom, n, threads int, check bool, ws *Workspace) bool {
	uLen := 16 * wg.outTiles * wg.ins * mr
	ws.shared = growFloats(ws.shared, uLen)
	tasks := ceilDiv(n, wg.imgsPer)
	workers := workerCount(tasks, threads)
	ws.begin(workers)
	j := &ws.wino
	*j = winoJob{wg: wg, out: out, in: in, mask: mask, w: w, u: ws.shared[:uLen], flipped: flipped, check: check, workers: ws.workers}
	defer func() { *j = winoJob{} }() // keep no caller's memory
	parallel.Run(wg.outTiles, threads, 1, (*winoWeightsLoop)(j))
	if !f32.AllFinite(j.u) {
		return false
	}
	return runChecked(tasks, workers, (*winoImagesLoop)(j), ws)
}

// runChecked runs loop on tasks tasks over workers workers and reports
// whether none of them found a result that is not finite.
func runChecked(tasks, workers int, loop parallel.Loop, ws *Workspace) bool {
	for t := range ws.workers[:workers] {
		ws.workers[t].nonFinite = false
	}
	parallel.Run(tasks, workers, 1, loop)
	for t := range ws.workers[:workers] {
		if ws.workers[t].nonFinite {
			return false
		}
	}
	return true
}

// winogradImages is winogradConv on nb images (at most imgsPer), in
// blocks of tile rows or, small, all at once.
func winogradImages(out, in []float32, mask []bool, nb int, u []float32, wg *winoGeom, b *workerBufs) {
	outImg := wg.outs * wg.oh * wg.ow
	// The zero-padded input planes, each row split into its even and odd
	// columns, so that the tiles' columns are vectors in memory.
	b.col = growFloats(b.col, nb*wg.ins*wg.planeLen+winoSlack)
	clear(b.col)
	at := func(p int) int { return p%2*wg.half + p/2 } // padded column p
	first, second := at(wg.padW), at(wg.padW+1)
	for c := 0; c < nb*wg.ins; c++ {
		row := c*wg.planeLen + wg.padH*wg.pitch
		splitPairs(b.col[row+first:], b.col[row+second:], in[c*wg.h*wg.w:], wg.h, wg.w, wg.pitch, wg.w)
	}
	vs := wg.ins * wg.vPitch // between element positions ξ
	ms := wg.outTiles * mr * wg.mPitch
	b.pack = growFloats(b.pack, 16*vs+winoSlack)
	b.acc = growFloats(b.acc, 16*ms+winoSlack)
	if !wg.inPlace {
		b.stage = growFloats(b.stage, 2*wg.rowsPer*wg.sPitch)
	}
	for ty0 := 0; ty0 < wg.tY; ty0 += wg.rowsPer {
		ty1 := min(ty0+wg.rowsPer, wg.tY)
		rows := ty1 - ty0
		imgTiles := rows * wg.tX // an image's tiles in the block
		// Images and tile rows in order: a row's last group spills into the
		// next's place, which the next rewrites.
		for c := 0; c < wg.ins; c++ {
			for i := 0; i < nb; i++ {
				winoInput(wg.groups, rows, &b.col[(i*wg.ins+c)*wg.planeLen+2*ty0*wg.pitch], wg.half, wg.pitch,
					&b.pack[c*wg.vPitch+i*imgTiles], wg.tX, vs)
			}
		}
		cols := ceilDiv(nb*imgTiles, nr)
		for xi := 0; xi < 16; xi++ {
			winoProducts(wg.ins, &u[xi*wg.outTiles*wg.ins*mr], wg.outTiles, &b.pack[xi*vs], wg.vPitch, cols, &b.acc[xi*ms], wg.mPitch)
		}
		oy0 := 2 * ty0
		kept := min(2*ty1, wg.oh) - oy0
		for i := 0; i < nb; i++ {
			for o := 0; o < wg.outs; o++ {
				m := &b.acc[o*wg.mPitch+i*imgTiles]
				at := i*outImg + o*wg.oh*wg.ow + oy0*wg.ow
				if wg.inPlace {
					// Whole rows of whole tiles: written where they belong.
					winoOutput(wg.groups, rows, m, wg.tX, ms, &out[at], wg.ow)
					if mask != nil {
						copyRows(out[at:], out[at:], mask[at:], kept, wg.ow, wg.ow, wg.ow)
					}
					continue
				}
				winoOutput(wg.groups, rows, m, wg.tX, ms, &b.stage[0], wg.sPitch)
				var mk []bool
				if mask != nil {
					mk = mask[at:]
				}
				copyRows(out[at:], b.stage, mk, kept, wg.ow, wg.ow, wg.sPitch)
			}
		}
	}
}

// backwardDataWinograd is Conv2dBackwardData (with
// Conv2dBackwardDataMasked's mask, nil: none) on the Winograd path; false,
// with dx unspecified, when the direct path must compute it (see
// winogradConv).
func backwardDataWinograd(dx, dy, w []float32, mask []bool, g geom.Conv, threads int, ws *Workspace) bool {
	_, data, _ := winogradGeom(g)
	return winogradConv(dx, dy, mask, w, true, data, g.N, threads, true, ws)
}
