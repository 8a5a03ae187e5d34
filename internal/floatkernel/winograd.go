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
// weights' once per call, the input's and output's per image in vector
// kernels (winoInput8, winoOutput8).
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
// Inf - Inf, NaN, where the definition gives ±Inf. So the path is taken
// only for finite inputs and weights; the weights' transform must stay
// finite too (it is checked, the direct path taking over if not).

// winoInput computes the input transforms of groups×8 tiles of a tile row,
// winoOutput the output transforms and winoProducts the products of one
// element position (see winograd_amd64.s); nil when the build has none.
var (
	winoInput    func(groups int, in *float32, pitch int, v *float32, vs int)
	winoOutput   func(groups int, m *float32, ms int, out *float32, pitch int)
	winoProducts func(k int, a *float32, tiles int, b *float32, bp int, cols int, c *float32, ldc int)
)

// winoBlockTiles is the number of tiles whose transformed inputs and
// products are made at once, rounded to whole tile rows: enough columns
// for the matrix products to run long, few enough that both stay in the
// second-level cache.
const winoBlockTiles = 64

// winoGeom is the layout of one Winograd convolution of an image: ins
// channels of h×w zero-padded by padH and padW into outs channels of
// oh×ow.
type winoGeom struct {
	ins, h, w, padH, padW int
	outs, oh, ow          int
	tY, tX                int // tiles down and across
	groups                int // vector groups of 8 tiles per tile row
	pw, planeLen          int // padded row length and plane, 2tY+2 rows
	rowsPer               int // tile rows per block
	vPitch                int // a channel's transformed inputs in a block
	outTiles              int // output tiles of the micro-kernel (mr outputs)
	mPitch                int // an output's products in a block
	sPitch                int // a row of outputs as winoOutput writes it
	// inPlace: the outputs are whole tiles and vector groups (oh even, ow
	// a multiple of 16), so winoOutput writes them in place.
	inPlace bool
}

func newWinoGeom(ins, h, w, padH, padW, outs int) winoGeom {
	g := winoGeom{ins: ins, h: h, w: w, padH: padH, padW: padW, outs: outs}
	g.oh, g.ow = h+2*padH-2, w+2*padW-2
	g.tY, g.tX = ceilDiv(g.oh, 2), ceilDiv(g.ow, 2)
	g.groups = ceilDiv(g.tX, 8)
	g.pw = 2*g.tX + 2
	g.planeLen = (2*g.tY + 2) * g.pw
	g.rowsPer = min(g.tY, ceilDiv(winoBlockTiles, g.tX))
	block := g.rowsPer * g.tX
	// A group cut by the end of its tile row writes up to 7 tiles past it
	// (the next row's, rewritten after), and the products read whole
	// micro-tiles of 16.
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
	forward = newWinoGeom(g.C, g.H, g.W, g.PadH, g.PadW, g.O)
	data = newWinoGeom(g.O, g.OutH(), g.OutW(), 2-g.PadH, 2-g.PadW, g.C)
	return forward, data, true
}

// winogradForwardOK and winogradDataOK report whether the Winograd path
// applies to g's forward pass (data gradient) with input x (output
// gradient dy) and weights w, and costs less than the direct path: both
// finite, and winoCost at most nine tenths of the direct path's
// multiply-adds.
func winogradForwardOK(g geom.Conv, x, w []float32) bool {
	fw, _, ok := winogradGeom(g)
	if !ok {
		return false
	}
	f, _ := newForwardGeom(g)
	direct := ceilDiv(g.O, mr) * mr * g.FanIn() * f.nPos
	return 10*fw.cost() <= 9*direct && f32.AllFinite(w) && f32.AllFinite(x)
}

func winogradDataOK(g geom.Conv, dy, w []float32) bool {
	_, data, ok := winogradGeom(g)
	if !ok {
		return false
	}
	d, _ := newDirectGeom(g)
	return 10*data.cost() <= 9*directCost(g, d) && f32.AllFinite(w) && f32.AllFinite(dy)
}

// cost is an image's multiply-adds on the Winograd path, those of the
// products (whole micro-tiles) and the transforms', counted as
// winoTransformCost multiply-adds per tile and channel, input or output
// (whole vector groups).
func (wg winoGeom) cost() int {
	tiles := 0
	for ty0 := 0; ty0 < wg.tY; ty0 += wg.rowsPer {
		tiles += ceilDiv((min(ty0+wg.rowsPer, wg.tY)-ty0)*wg.tX, nr) * nr
	}
	products := 16 * wg.outTiles * mr * wg.ins * tiles
	return products + winoTransformCost*wg.tY*wg.groups*8*(wg.ins+wg.outs)
}

// winoTransformCost is the cost of transforming one tile of one channel,
// in multiply-adds of the products.
const winoTransformCost = 88

// winoJob is one call's work, kept in the Workspace so that handing it to
// the workers allocates nothing: the weights' transform (winoWeightsLoop,
// a part per output tile) and the images (winoImagesLoop).
type winoJob struct {
	wg      winoGeom
	out, in []float32
	mask    []bool // nil: none
	w, u    []float32
	flipped bool
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
	for ot := lo; ot < hi; ot++ {
		for i := 0; i < mr; i++ {
			o := ot*mr + i
			for c := 0; c < ins; c++ {
				var k [9]float32
				switch {
				case o >= outs:
				case j.flipped:
					src := j.w[(c*outs+o)*9:][:9]
					for t := range k {
						k[t] = src[8-t]
					}
				default:
					copy(k[:], j.w[(o*ins+c)*9:][:9])
				}
				// t = G g: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2; then
				// the same on the columns of t.
				var t [4][3]float32
				for x := 0; x < 3; x++ {
					g0, g1, g2 := k[x], k[3+x], k[6+x]
					t[0][x], t[1][x], t[2][x], t[3][x] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
				}
				for r := 0; r < 4; r++ {
					g0, g1, g2 := t[r][0], t[r][1], t[r][2]
					row := [4]float32{g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2}
					for s, v := range row {
						j.u[(((4*r+s)*wg.outTiles+ot)*ins+c)*mr+i] = v
					}
				}
			}
		}
	}
}

// Run computes images [lo, hi) with worker part's buffers.
func (j *winoImagesLoop) Run(part, lo, hi int) {
	wg := &j.wg
	inImg, outImg := wg.ins*wg.h*wg.w, wg.outs*wg.oh*wg.ow
	for i := lo; i < hi; i++ {
		var m []bool
		if j.mask != nil {
			m = j.mask[i*outImg:][:outImg]
		}
		winogradImage(j.out[i*outImg:][:outImg], j.in[i*inImg:][:inImg], m, j.u, wg, &j.workers[part])
	}
}

// winogradConv computes the convolution of n images of in with the
// weights w on the Winograd path, into out; mask (nil: none) zeroes the
// outputs where it is false, as they are written. It returns false, and
// writes nothing, when the transformed weights are not finite.
func winogradConv(out, in []float32, mask []bool, w []float32, flipped bool, wg winoGeom, n, threads int, ws *Workspace) bool {
	uLen := 16 * wg.outTiles * wg.ins * mr
	ws.shared = growFloats(ws.shared, uLen)
	workers := workerCount(n, threads)
	ws.begin(workers)
	j := &ws.wino
	*j = winoJob{wg: wg, out: out, in: in, mask: mask, w: w, u: ws.shared[:uLen], flipped: flipped, workers: ws.workers}
	defer func() { *j = winoJob{} }() // keep no caller's memory
	parallel.Run(wg.outTiles, threads, 1, (*winoWeightsLoop)(j))
	if !f32.AllFinite(j.u) {
		return false
	}
	parallel.Run(n, workers, 1, (*winoImagesLoop)(j))
	return true
}

// winogradImage is winogradConv on one image, in blocks of tile rows.
func winogradImage(out, in []float32, mask []bool, u []float32, wg *winoGeom, b *workerBufs) {
	// The zero-padded input planes.
	b.col = growFloats(b.col, wg.ins*wg.planeLen+winoSlack)
	clear(b.col)
	for c := 0; c < wg.ins; c++ {
		copyRows(b.col[c*wg.planeLen+wg.padH*wg.pw+wg.padW:], in[c*wg.h*wg.w:], nil, wg.h, wg.w, wg.pw, wg.w)
	}
	vs := wg.ins * wg.vPitch // between element positions ξ
	ms := wg.outTiles * mr * wg.mPitch
	b.pack = growFloats(b.pack, 16*vs+winoSlack)
	b.acc = growFloats(b.acc, 16*ms+winoSlack)
	if !wg.inPlace {
		b.stage = growFloats(b.stage, wg.outs*2*wg.rowsPer*wg.sPitch)
	}
	for ty0 := 0; ty0 < wg.tY; ty0 += wg.rowsPer {
		ty1 := min(ty0+wg.rowsPer, wg.tY)
		tiles := (ty1 - ty0) * wg.tX
		// Tile rows in order: a row's last group spills into the next's
		// place, which the next rewrites.
		for c := 0; c < wg.ins; c++ {
			for ty := ty0; ty < ty1; ty++ {
				winoInput(wg.groups, &b.col[c*wg.planeLen+2*ty*wg.pw], wg.pw, &b.pack[c*wg.vPitch+(ty-ty0)*wg.tX], vs)
			}
		}
		cols := ceilDiv(tiles, nr)
		for xi := 0; xi < 16; xi++ {
			winoProducts(wg.ins, &u[xi*wg.outTiles*wg.ins*mr], wg.outTiles, &b.pack[xi*vs], wg.vPitch, cols, &b.acc[xi*ms], wg.mPitch)
		}
		oy0 := 2 * ty0
		kept := min(2*ty1, wg.oh) - oy0
		if wg.inPlace {
			// Whole rows of whole tiles: written where they belong.
			for o := 0; o < wg.outs; o++ {
				for ty := ty0; ty < ty1; ty++ {
					winoOutput(wg.groups, &b.acc[o*wg.mPitch+(ty-ty0)*wg.tX], ms, &out[(o*wg.oh+2*ty)*wg.ow], wg.ow)
				}
				if mask != nil {
					at := o*wg.oh*wg.ow + oy0*wg.ow
					copyRows(out[at:], out[at:], mask[at:], kept, wg.ow, wg.ow, wg.ow)
				}
			}
			continue
		}
		for o := 0; o < wg.outs; o++ {
			for ty := ty0; ty < ty1; ty++ {
				winoOutput(wg.groups, &b.acc[o*wg.mPitch+(ty-ty0)*wg.tX], ms, &b.stage[(o*2*wg.rowsPer+2*(ty-ty0))*wg.sPitch], wg.sPitch)
			}
		}
		for o := 0; o < wg.outs; o++ {
			at := o*wg.oh*wg.ow + oy0*wg.ow
			var m []bool
			if mask != nil {
				m = mask[at:]
			}
			copyRows(out[at:], b.stage[o*2*wg.rowsPer*wg.sPitch:], m, kept, wg.ow, wg.ow, wg.sPitch)
		}
	}
}

// backwardDataWinograd is Conv2dBackwardData (with
// Conv2dBackwardDataMasked's mask, nil: none) on the Winograd path; false,
// with nothing written, when the transformed weights are not finite.
func backwardDataWinograd(dx, dy, w []float32, mask []bool, g geom.Conv, threads int, ws *Workspace) bool {
	_, data, _ := winogradGeom(g)
	return winogradConv(dx, dy, mask, w, true, data, g.N, threads, ws)
}
