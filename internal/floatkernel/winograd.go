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
// F(4×4, 3×3) is the same with 4×4 tiles of 6×6 patches: 36 element
// positions for 16 outputs, 2.25 multiply-adds an output and pair instead
// of 4, for transforms that multiply by up to 8 (winoInput4x8,
// winoOutput4x8, with the padded rows split by column modulo 4). Its
// rounding errors scale with the magnitudes of the whole patch rather
// than of an output's window, and its transforms mix the whole patch into
// every output of the tile; on rows of fewer than a vector group of tiles
// its transforms waste most of their lanes. So the path taken is the
// cheaper of the two by their cost models, F(4×4, 3×3) only on rows of a
// whole group (winogradPath).
//
// Each output of an F(2×2, 3×3) tile depends only on the inputs of its own
// 3×3 window, also in floating point (the transforms never mix a row or
// column of the patch into an output whose window lacks it), so zero
// padding and the extra row and column of odd output sizes stay out of
// the outputs kept; F(4×4, 3×3)'s padding and extra rows are zeros, finite,
// and the non-finite check below covers the rest.
// But the transforms form differences of inputs: an infinite input gives
// Inf - Inf, NaN, where the definition gives ±Inf; and sums of several
// inputs or products can overflow where the definition's sum would not.
// Either way some output is not finite (an infinite or NaN input reaches
// every output whose window holds it, an overflow every output it feeds),
// so the workers check each image's outputs as they make them, and if any
// is not finite, or the weights' transform is not (finite weights can
// overflow it), the direct path computes the whole call instead: twice
// the work, for a call whose results are infinite or NaN or nearly.

// winoInput computes the input transforms of F(2×2, 3×3) for rows tile
// rows of groups×8 tiles, winoOutput the output transforms, winoInput4 and
// winoOutput4 those of F(4×4, 3×3), and winoProducts the products of one
// element position (see winograd_amd64.s and winograd4_amd64.s); nil when
// the build has none.
var (
	winoInput, winoInput4   func(groups, rows int, in *float32, phase, pitch int, v *float32, vRow, vs int)
	winoOutput, winoOutput4 func(groups, rows int, m *float32, mRow, ms int, out *float32, pitch int)
	winoProducts            func(k int, a *float32, tiles int, b *float32, bp int, cols int, c *float32, ldc int)
)

// winoBlockTiles is the number of tiles whose transformed inputs and
// products are made at once, in whole tile rows of an image or whole
// images: enough columns for the matrix products to run long and to reuse
// each panel of weights, few enough that both stay in the second-level
// cache.
const winoBlockTiles = 64

// winoGeom is the layout of one Winograd convolution: images of ins
// channels of h×w zero-padded by padH and padW into outs channels of
// oh×ow, imgsPer images a task, in tiles of m×m outputs: F(2×2, 3×3) or
// F(4×4, 3×3).
type winoGeom struct {
	m                     int // outputs per tile side, 2 or 4
	ins, h, w, padH, padW int
	outs, oh, ow          int
	tY, tX                int // tiles down and across
	groups                int // vector groups of 8 tiles per tile row
	// A padded row holds its columns by phase, column modulo m: phase p's
	// phase columns from p·phase on, pitch = m·phase floats in all.
	phase, pitch int
	planeLen     int // a padded plane, m·tY+2 rows
	rowsPer      int // tile rows per block
	imgsPer      int // images per task and block, when they are small
	vPitch       int // a channel's transformed inputs in a block
	outTiles     int // output tiles of the micro-kernel (mr outputs)
	mPitch       int // an output's products in a block
	sPitch       int // a row of outputs as winoOutput writes it
	// inPlace: the outputs are whole tiles and vector groups (oh a
	// multiple of m, ow = 8·m·groups), so winoOutput writes them in place.
	inPlace bool
}

func newWinoGeom(m, ins, h, w, padH, padW, outs, blockTiles int) winoGeom {
	g := winoGeom{m: m, ins: ins, h: h, w: w, padH: padH, padW: padW, outs: outs}
	g.oh, g.ow = h+2*padH-2, w+2*padW-2
	g.tY, g.tX = ceilDiv(g.oh, m), ceilDiv(g.ow, m)
	g.groups = ceilDiv(g.tX, 8)
	g.phase = g.tX + 1
	g.pitch = m * g.phase
	g.planeLen = (m*g.tY + 2) * g.pitch
	g.rowsPer = min(g.tY, ceilDiv(blockTiles, g.tX))
	g.imgsPer = max(1, blockTiles/(g.rowsPer*g.tX))
	block := g.imgsPer * g.rowsPer * g.tX
	// A group cut by the end of its tile row writes up to 7 tiles past it
	// (the next row's or image's, rewritten after), and the products read
	// whole micro-tiles of 16.
	g.vPitch = block + 8
	g.outTiles = ceilDiv(outs, mr)
	g.mPitch = ceilDiv(block, nr) * nr
	g.sPitch = 8 * m * g.groups
	g.inPlace = g.oh%m == 0 && g.ow == g.sPitch
	return g
}

// positions is the number of element positions ξ of a tile's transforms,
// (m+2)².
func (wg *winoGeom) positions() int { return (wg.m + 2) * (wg.m + 2) }

// at is where padded column p of a row starts its phase.
func (wg *winoGeom) at(p int) int { return p%wg.m*wg.phase + p/wg.m }

// splitRows lays out rows rows of w floats of src, ss apart, as padded
// rows ds apart from dst on: column x is padded column padW+x.
func (wg *winoGeom) splitRows(dst, src []float32, rows, w, padW, ds, ss int) {
	if wg.m == 2 {
		splitPairs(dst[wg.at(padW):], dst[wg.at(padW+1):], src, rows, w, ds, ss)
		return
	}
	splitQuads(dst, [4]int{wg.at(padW), wg.at(padW + 1), wg.at(padW + 2), wg.at(padW + 3)}, src, rows, w, ds, ss)
}

// transforms are the input and output transforms of the tile size.
func (wg *winoGeom) transforms() (input func(groups, rows int, in *float32, phase, pitch int, v *float32, vRow, vs int),
	output func(groups, rows int, m *float32, mRow, ms int, out *float32, pitch int)) {
	if wg.m == 4 {
		return winoInput4, winoOutput4
	}
	return winoInput, winoOutput
}

// winoSlack is the floats past each buffer that the kernels read: a
// group's over-reads of padded rows, products and transformed inputs.
const winoSlack = 32

// winogradGeom returns the layouts of g's forward pass and data gradient
// on the Winograd path of tile size m, and whether it applies to g at all:
// the kernels, one group, a 3×3 kernel of stride and dilation 1, padding
// at most 2.
func winogradGeom(g geom.Conv, m int) (forward, data winoGeom, ok bool) {
	kernels := winoInput != nil && winoOutput != nil
	if m == 4 {
		kernels = winoInput4 != nil && winoOutput4 != nil
	}
	if !kernels || winoProducts == nil || !asm.AVX2FMA() ||
		g.Groups != 1 || g.KH != 3 || g.KW != 3 || g.StrideH != 1 || g.StrideW != 1 ||
		g.DilH != 1 || g.DilW != 1 || g.PadH > 2 || g.PadW > 2 {
		return forward, data, false
	}
	forward = newWinoGeom(m, g.C, g.H, g.W, g.PadH, g.PadW, g.O, winoBlockTiles)
	data = newWinoGeom(m, g.O, g.OutH(), g.OutW(), 2-g.PadH, 2-g.PadW, g.C, winoBlockTiles)
	return forward, data, true
}

// winogradPath is the cheaper of the two Winograd paths for the layout
// that choose picks out of winogradGeom's, or 0 when neither applies or
// neither costs at most nine tenths of direct multiply-adds. F(4×4, 3×3)
// is a candidate only for rows of at least winoMinTiles4 tiles: on
// narrower images most lanes of its transforms' vector groups are wasted,
// and the calls are too short for their setup.
func winogradPath(g geom.Conv, direct int, choose func(forward, data winoGeom) winoGeom) path {
	return cheaperWinograd(9*g.N*direct, func(p path) (winoGeom, int, bool) {
		fw, data, ok := winogradGeom(g, winoTile(p))
		if !ok {
			return winoGeom{}, 0, false
		}
		wg := choose(fw, data)
		return wg, 10 * wg.cost(g.N), true
	})
}

// cheaperWinograd is the Winograd path of least cost, at most limit, of
// those whose layout (geometry, cost, whether it applies) layout gives,
// or 0 for none; F(4×4, 3×3) only on rows of winoMinTiles4 tiles.
func cheaperWinograd(limit int, layout func(p path) (wg winoGeom, cost int, ok bool)) path {
	best := path(0)
	for _, p := range []path{pathWinograd, pathWinograd4} {
		wg, c, ok := layout(p)
		if ok && c <= limit && (p != pathWinograd4 || wg.tX >= winoMinTiles4) {
			best, limit = p, c
		}
	}
	return best
}

// winoMinTiles4 is the fewest tiles across for F(4×4, 3×3): one whole
// vector group.
const winoMinTiles4 = 8

// winoTile is the tile size of a Winograd path.
func winoTile(p path) int {
	if p == pathWinograd4 {
		return 4
	}
	return 2
}

// winogradForward and winogradData are the Winograd path of g's forward
// pass (data gradient) with weights w, 0 for none: one that applies and
// costs less than the direct path (winogradPath, with directCost and the
// forward layout's count), and finite weights, as the direct path that
// takes over from it needs.
func winogradForward(g geom.Conv, w []float32) path {
	f, ok := newForwardGeom(g)
	if !ok {
		return 0
	}
	direct := ceilDiv(g.O, mr) * mr * g.FanIn() * f.nPos
	p := winogradPath(g, direct, func(fw, _ winoGeom) winoGeom { return fw })
	if p != 0 && !f32.AllFinite(w) {
		return 0
	}
	return p
}

func winogradData(g geom.Conv, w []float32) path {
	d, ok := newDirectGeom(g)
	if !ok {
		return 0
	}
	p := winogradPath(g, directCost(g, d), func(_, data winoGeom) winoGeom { return data })
	if p != 0 && !f32.AllFinite(w) {
		return 0
	}
	return p
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
	products := wg.positions() * wg.outTiles * mr * wg.ins * tiles
	transform, weight := winoTransformCost, winoWeightCost
	if wg.m == 4 {
		transform, weight = winoTransformCost4, winoWeightCost4
	}
	transforms := transform * wg.imgsPer * wg.tY * wg.groups * 8 * (wg.ins + wg.outs)
	return ceilDiv(n, wg.imgsPer)*(products+transforms) + weight*wg.outTiles*mr*wg.ins
}

// winoTransformCost and winoWeightCost are the costs of transforming one
// tile of one channel and one kernel, in multiply-adds of the products,
// for F(2×2, 3×3); winoTransformCost4 and winoWeightCost4 for F(4×4, 3×3).
const (
	winoTransformCost  = 56
	winoWeightCost     = 900
	winoTransformCost4 = 320
	winoWeightCost4    = 2000
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
				if wg.m == 4 {
					winoKernel4(j.u[(ot*ins+c)*mr+i:], stride, &k)
					continue
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

// winoKernel4 writes G g Gᵀ of the 3×3 kernel g for F(4×4, 3×3), element
// ξ at u[ξ·stride], computed in float64 and rounded once. G's rows are
// (¼ 0 0), (-⅙ -⅙ -⅙), (-⅙ ⅙ -⅙), (1/24 1/12 ⅙), (1/24 -1/12 ⅙), (0 0 1).
func winoKernel4(u []float32, stride int, g *[9]float32) {
	_ = u[35*stride]
	gRows := func(g0, g1, g2 float64) [6]float64 {
		return [6]float64{g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6,
			(g0 + 2*g1 + 4*g2) / 24, (g0 - 2*g1 + 4*g2) / 24, g2}
	}
	// t = G g, by columns x of g: t[r][x].
	var t [6][3]float64
	for x := 0; x < 3; x++ {
		col := gRows(float64(g[x]), float64(g[3+x]), float64(g[6+x]))
		for r := range col {
			t[r][x] = col[r]
		}
	}
	// t Gᵀ, by rows r of t.
	for r := range t {
		row := gRows(t[r][0], t[r][1], t[r][2])
		for k, v := range row {
			u[(6*r+k)*stride] = float32(v)
		}
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
	uLen := wg.positions() * wg.outTiles * wg.ins * mr
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
	// The zero-padded input planes, each row split into its columns'
	// phases, so that the tiles' columns are vectors in memory.
	b.col = growFloats(b.col, nb*wg.ins*wg.planeLen+winoSlack)
	clear(b.col)
	for c := 0; c < nb*wg.ins; c++ {
		row := c*wg.planeLen + wg.padH*wg.pitch
		wg.splitRows(b.col[row:], in[c*wg.h*wg.w:], wg.h, wg.w, wg.padW, wg.pitch, wg.w)
	}
	input, output := wg.transforms()
	pos := wg.positions()
	vs := wg.ins * wg.vPitch // between element positions ξ
	ms := wg.outTiles * mr * wg.mPitch
	b.pack = growFloats(b.pack, pos*vs+winoSlack)
	b.acc = growFloats(b.acc, pos*ms+winoSlack)
	if !wg.inPlace {
		b.stage = growFloats(b.stage, wg.m*wg.rowsPer*wg.sPitch)
	}
	for ty0 := 0; ty0 < wg.tY; ty0 += wg.rowsPer {
		ty1 := min(ty0+wg.rowsPer, wg.tY)
		rows := ty1 - ty0
		imgTiles := rows * wg.tX // an image's tiles in the block
		// Images and tile rows in order: a row's last group spills into the
		// next's place, which the next rewrites.
		for c := 0; c < wg.ins; c++ {
			for i := 0; i < nb; i++ {
				input(wg.groups, rows, &b.col[(i*wg.ins+c)*wg.planeLen+wg.m*ty0*wg.pitch], wg.phase, wg.pitch,
					&b.pack[c*wg.vPitch+i*imgTiles], wg.tX, vs)
			}
		}
		cols := ceilDiv(nb*imgTiles, nr)
		for xi := 0; xi < pos; xi++ {
			winoProducts(wg.ins, &u[xi*wg.outTiles*wg.ins*mr], wg.outTiles, &b.pack[xi*vs], wg.vPitch, cols, &b.acc[xi*ms], wg.mPitch)
		}
		oy0 := wg.m * ty0
		kept := min(wg.m*ty1, wg.oh) - oy0
		for i := 0; i < nb; i++ {
			for o := 0; o < wg.outs; o++ {
				m := &b.acc[o*wg.mPitch+i*imgTiles]
				at := i*outImg + o*wg.oh*wg.ow + oy0*wg.ow
				if wg.inPlace {
					// Whole rows of whole tiles: written where they belong.
					output(wg.groups, rows, m, wg.tX, ms, &out[at], wg.ow)
					if mask != nil {
						copyRows(out[at:], out[at:], mask[at:], kept, wg.ow, wg.ow, wg.ow)
					}
					continue
				}
				output(wg.groups, rows, m, wg.tX, ms, &b.stage[0], wg.sPitch)
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
// Conv2dBackwardDataMasked's mask, nil: none) on Winograd path p; false,
// with dx unspecified, when the direct path must compute it (see
// winogradConv).
func backwardDataWinograd(p path, dx, dy, w []float32, mask []bool, g geom.Conv, threads int, ws *Workspace) bool {
	_, data, _ := winogradGeom(g, winoTile(p))
	return winogradConv(dx, dy, mask, w, true, data, g.N, threads, true, ws)
}
