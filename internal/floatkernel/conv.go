package floatkernel

import (
	"fmt"

	"gonum.org/v1/gonum/blas"

	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/geom"
)

// check verifies the geometry and the lengths of the three buffers.
func check(g geom.Conv, x, w, y []float32) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if len(x) != g.XLen() || len(w) != g.WLen() || len(y) != g.YLen() {
		return fmt.Errorf("floatkernel: buffer lengths x=%d w=%d y=%d do not match the geometry (want %d, %d, %d)",
			len(x), len(w), len(y), g.XLen(), g.WLen(), g.YLen())
	}
	return nil
}

// How the convolutions are fast. Each call picks one path (forwardPath,
// dataPath, weightPath):
//
// Products on gonum's BLAS run on this package's packed kernels when the
// CPU has AVX2 and FMA: a 6×16 register-blocked micro-kernel over operands
// packed into panels (256 inner steps per block), and a 3×4 dot-product
// kernel for weight gradients, whose two operands (output gradient and
// unfolded input) both run along the output positions. Any other BLAS
// (gorgonia.Use(netlib...)) is called as before.
//
// Convolutions unfold (im2col) one image at a time into a worker's buffer,
// with the weights packed once per call. Stride-1 convolutions mostly skip
// the column matrix: the weight gradient of a layer with many outputs
// broadcasts kernel taps straight from the input planes onto the 6×16
// register block (taps.go); with fewer outputs, the output gradient is laid
// out with the zero-padded input's row length, so that every kernel tap
// reads the padded input plane in place from one offset and a dot kernel
// taking its rows by pointer gathers taps across kernel rows and channels
// (wide.go); and the forward pass and the data gradient read every tap of
// the zero-padded input or output gradient in place from one offset
// (direct.go). Ungrouped 3×3 layers of stride 1 with finite operands
// instead take Winograd's F(2×2, 3×3) (winograd.go, winograd_weight.go):
// 16 multiply-adds per 2×2 outputs and channel instead of 36, as 16
// matrix products between additive transforms, for all three results;
// on rows of at least 8 tiles (29 outputs or more) all three take
// F(4×4, 3×3) where it costs less, 36 per 4×4 outputs and channel.
// Stride-2 layers take the same kernel by stride phases (phases.go): the
// forward pass reads the padded input split into its phase planes, and
// the data gradient computes dx's four phases, each a stride-1
// correlation of the output gradient, interleaved into dx as they are
// stored.
// Each is chosen by counting multiply-adds against the other paths.
//
// Depthwise layers (one input channel and fewer than six outputs per
// group) use direct loops instead: one vector axpy or dot per kernel tap
// over a zero-padded plane's phase planes (see phased); vector row movers
// split images into phase planes and merge them back, a plane per call.
// With one output per channel, the common case, two fused paths skip most
// of that: the data gradient computes each row class of dx straight from
// the output gradient and stores it masked, stride 2 interleaving even and
// odd columns in registers (depthwise_fused_amd64.s); the weight gradient
// builds each plane's phase layout in the first-level cache and runs its
// nine dot products in one assembly call per worker and image
// (depthwise_wgrad_amd64.s). Both give the phase-plane path's bits, which
// stays for channel multipliers, narrow rows and the purego build.

// Workspace is the scratch memory of the convolution kernels, kept between
// calls so that steady-state calls allocate nothing. The zero value is
// ready; a nil *Workspace makes each call allocate its own. A Workspace
// must not be used by two calls at once.
type Workspace struct {
	workers  []workerBufs
	shared   []float32 // packed operands read by every worker
	partials []float32 // partial weight gradients of image blocks
	offs     []int     // offsets of kernel taps in padded planes
	// An input given as quantization codes, dequantized for the kernels
	// that read floats (Conv2dBackwardWeightCodes).
	dequantized []float32
	sums        []float64     // the depthwise weight gradient's sums
	padded      []float32     // zero-padded input planes (backwardWeightTaps)
	wino        winoJob       // the Winograd path's call, read by the workers
	winoWeight  winoWeightJob // the same for the weight gradient
}

// workerBufs is one worker's memory.
type workerBufs struct {
	col, pack, acc []float32
	edge           [mr * nr]float32
	// The gathered dot kernel's rows and tile; here, not on the stack,
	// because a call through a function variable makes them escape.
	dotRows [dr + dc]*float32
	tapRows [mr]*float32 // tapKernel's taps
	dotTile [dr * dc]float32
	ptrs    []*float32 // rows of the gathered dot kernel's tiles
	tiles   []float32  // sums of the gathered dot kernel's tiles
	stage   []float32  // the Winograd path's outputs before they are placed
	plane   []float32  // one dequantized input plane (Winograd weight gradient)
	// nonFinite: the Winograd path made a result that is not finite.
	nonFinite bool
	// One value per kernel tap: a phase's weights (depthwise data
	// gradient) or one image's tap sums (depthwise weight gradient).
	tapBuf []float32
}

// begin makes room for the given number of workers, before they start.
func (ws *Workspace) begin(workers int) {
	for len(ws.workers) < workers {
		ws.workers = append(ws.workers, workerBufs{})
	}
}

// Conv2d computes the grouped convolution y = x ⊛ w (no bias). y is
// overwritten. Images are spread over threads workers (threads <= 0: one
// per core, GOMAXPROCS).
func Conv2d(impl blas.Float32, y, x, w []float32, g geom.Conv, threads int, ws *Workspace) error {
	if err := check(g, x, w, y); err != nil {
		return err
	}
	conv2dVia(forwardPath(impl, g, w), impl, y, x, w, g, threads, ws)
	return nil
}

// path names one way to compute a convolution or one of its gradients.
// The exported functions pick one by the rules of forwardPath, dataPath
// and weightPath; tests force each in turn.
type path int

const (
	pathBLAS      path = iota + 1 // unfold (im2col, col2im) and the caller's BLAS
	pathPacked                    // unfold and the packed micro-kernel, or the dot kernel for dw
	pathDirect                    // every tap read in place from one offset (direct.go)
	pathTaps                      // tap-major weight gradient (taps.go)
	pathWide                      // gathered dot kernel on the wide layout (wide.go)
	pathPhased                    // depthwise loops over phase planes (depthwise.go)
	pathFused                     // depthwise fused row kernels (depthwise.go)
	pathWinograd                  // Winograd's F(2×2, 3×3) (winograd.go)
	pathWinograd4                 // Winograd's F(4×4, 3×3) (winograd.go)
	pathPhases                    // stride 2 by stride phases on the direct kernel (phases.go)
)

// forwardPath is the path Conv2d takes: the depthwise loops for depthwise
// layers, the caller's BLAS unless it is gonum's on a CPU with the packed
// kernels, the cheaper Winograd path where one applies and costs less,
// the direct layout where it applies and costs less, the packed
// column-matrix path otherwise.
func forwardPath(impl blas.Float32, g geom.Conv, w []float32) path {
	switch {
	case isDepthwise(g):
		return pathPhased
	case !packed(impl, 1):
		return pathBLAS
	}
	if p := winogradForward(g, w); p != 0 {
		return p
	}
	if forwardPhasesOK(g, w) {
		return pathPhases
	}
	if _, ok := forwardDirectOK(g, w); ok {
		return pathDirect
	}
	return pathPacked
}

// conv2dVia is Conv2d on path p, which must apply to g (see forwardPath).
func conv2dVia(p path, impl blas.Float32, y, x, w []float32, g geom.Conv, threads int, ws *Workspace) {
	if ws == nil {
		ws = new(Workspace)
	}
	switch p {
	case pathPhased:
		depthwiseForward(y, x, w, g, threads, ws)
		return
	case pathWinograd, pathWinograd4:
		fw, _, _ := winogradGeom(g, winoTile(p))
		if winogradConv(y, x, nil, w, false, fw, g.N, threads, true, ws) {
			return
		}
		fallthrough // an operand out of its range
	case pathDirect:
		f, _ := newForwardGeom(g)
		forwardDirect(y, x, w, g, f, threads, ws)
		return
	case pathPhases:
		forwardPhases(y, x, w, g, threads, ws)
		return
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	fast := p == pathPacked
	aLen := packedLen(og, mr, k)
	if fast {
		// yg (og×spatial) = wg (og×k) · col (k×spatial); the weights are
		// packed once for every image.
		ws.shared = growFloats(ws.shared, g.Groups*aLen)
		for grp := 0; grp < g.Groups; grp++ {
			packA(ws.shared[grp*aLen:], w[grp*og*k:], og, k, k, 1)
		}
	}
	forEachImage(g.N, threads, ws, func(n int, b *workerBufs) {
		b.col = growFloats(b.col, k*spatial)
		for grp := 0; grp < g.Groups; grp++ {
			Im2col(b.col, x[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], cg, g)
			yg := y[n*yImg+grp*og*spatial:][:og*spatial]
			if !fast {
				matMulSerial(impl, false, false, og, spatial, k, 1, w[grp*og*k:][:og*k], b.col, 0, yg)
				continue
			}
			b.pack = growFloats(b.pack, packedLen(spatial, nr, k))
			packB(b.pack, b.col, k, spatial, spatial, 1)
			multiplyPacked(ws.shared[grp*aLen:], b.pack, og, spatial, k, yg, spatial, false, allTiles(og, spatial), &b.edge)
		}
	})
}

// allTiles is the tile range covering an m×n C.
func allTiles(m, n int) tileRange { return tileRange{0, ceilDiv(m, mr), 0, ceilDiv(n, nr)} }

// Conv2dBackwardData computes dx, the gradient of sum(y·dy) with respect to
// x, for y = x ⊛ w. dx is overwritten.
func Conv2dBackwardData(impl blas.Float32, dx, dy, w []float32, g geom.Conv, threads int, ws *Workspace) error {
	if err := check(g, dx, w, dy); err != nil {
		return err
	}
	backwardDataVia(dataPath(impl, g, w), impl, dx, dy, w, g, threads, ws)
	return nil
}

// dataPath is the path Conv2dBackwardData takes: as forwardPath, with the
// fused depthwise kernels where they apply (fusedRows).
func dataPath(impl blas.Float32, g geom.Conv, w []float32) path {
	switch {
	case isDepthwise(g):
		if phasedGeom(g).fusedRows(g) {
			return pathFused
		}
		return pathPhased
	case !packed(impl, 1):
		return pathBLAS
	}
	if p := winogradData(g, w); p != 0 {
		return p
	}
	if phasesOK(g, w) {
		return pathPhases
	}
	if _, ok := directOK(g, w); ok {
		return pathDirect
	}
	return pathPacked
}

// backwardDataVia is Conv2dBackwardData on path p, which must apply to g
// (see dataPath).
func backwardDataVia(p path, impl blas.Float32, dx, dy, w []float32, g geom.Conv, threads int, ws *Workspace) {
	if ws == nil {
		ws = new(Workspace)
	}
	switch p {
	case pathPhased:
		depthwiseBackwardDataPhased(dx, dy, w, nil, g, phasedGeom(g), threads, ws)
		return
	case pathFused:
		depthwiseBackwardDataFused(dx, dy, w, nil, g, phasedGeom(g), threads, ws)
		return
	case pathWinograd, pathWinograd4:
		if backwardDataWinograd(p, dx, dy, w, nil, g, threads, ws) {
			return
		}
		fallthrough // an operand out of its range
	case pathDirect:
		d, _ := newDirectGeom(g)
		backwardDataDirect(dx, dy, w, nil, g, d, threads, ws)
		return
	case pathPhases:
		backwardDataPhases(dx, dy, w, nil, g, threads, ws)
		return
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	fast := p == pathPacked
	aLen := packedLen(k, mr, og)
	if fast {
		// dcol (k×spatial) = wgᵀ (k×og) · dyg (og×spatial); the transposed
		// weights are packed once for every image.
		ws.shared = growFloats(ws.shared, g.Groups*aLen)
		for grp := 0; grp < g.Groups; grp++ {
			packA(ws.shared[grp*aLen:], w[grp*og*k:], k, og, 1, k)
		}
	}
	forEachImage(g.N, threads, ws, func(n int, b *workerBufs) {
		b.col = growFloats(b.col, k*spatial)
		for grp := 0; grp < g.Groups; grp++ {
			dyg := dy[n*yImg+grp*og*spatial:][:og*spatial]
			if fast {
				b.pack = growFloats(b.pack, packedLen(spatial, nr, og))
				packB(b.pack, dyg, og, spatial, spatial, 1)
				multiplyPacked(ws.shared[grp*aLen:], b.pack, k, spatial, og, b.col, spatial, false, allTiles(k, spatial), &b.edge)
			} else {
				matMulSerial(impl, true, false, k, spatial, og, 1, w[grp*og*k:][:og*k], dyg, 0, b.col)
			}
			Col2im(dx[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], b.col, cg, g)
		}
	})
}

// Conv2dBackwardWeight computes dw, the gradient of sum(y·dy) with respect
// to w, for y = x ⊛ w. dw is overwritten.
//
// The work is split by weight columns: a task owns a range of rows (c, ky,
// kx) of the unfolded input of one group, unfolds just those rows of each
// of its images in turn and adds each image's product to its columns of
// dw. When the weights have too few columns for that to feed the workers
// (a first layer with one input channel), the images are also cut into
// blocks, whose partial sums are added in block order. The split depends
// on the geometry only (weightSplit), so every weight is summed in the
// same order for any thread count.
func Conv2dBackwardWeight(impl blas.Float32, dw, dy, x []float32, g geom.Conv, threads int, ws *Workspace) error {
	if err := check(g, x, dw, dy); err != nil {
		return err
	}
	backwardWeightVia(weightPath(impl, g, x), impl, dw, dy, x, g, threads, ws)
	return nil
}

// weightPath is the path Conv2dBackwardWeight takes: the depthwise loops
// (fused where fusedDots applies) for depthwise layers, the caller's BLAS
// unless it is gonum's on a CPU with the packed kernels, Winograd's where
// it applies and costs clearly less, then the cheaper of the tap-major
// and the wide layout where they apply, the dot kernel on the column
// matrix otherwise.
func weightPath(impl blas.Float32, g geom.Conv, x []float32) path {
	switch {
	case isDepthwise(g):
		if phasedGeom(g).fusedDots(g) {
			return pathFused
		}
		return pathPhased
	case dotKernel == nil || !packed(impl, 1):
		return pathBLAS
	}
	if p := winogradWeight(g); p != 0 {
		return p
	}
	return otherWeightPath(g, x)
}

// otherWeightPath is weightPath's choice among the tap-major, wide and
// column-matrix layouts, where the packed kernels run.
func otherWeightPath(g geom.Conv, x []float32) path {
	switch {
	case tapsOK(g):
		return pathTaps
	case wideOK(g, x):
		return pathWide
	}
	return pathPacked
}

// backwardWeightVia is Conv2dBackwardWeight on path p, which must apply to
// g (see weightPath).
func backwardWeightVia(p path, impl blas.Float32, dw, dy, x []float32, g geom.Conv, threads int, ws *Workspace) {
	if ws == nil {
		ws = new(Workspace)
	}
	switch p {
	case pathPhased:
		depthwiseBackwardWeightPhased(dw, dy, inputPlanes{floats: x}, g, phasedGeom(g), threads, ws)
		return
	case pathFused:
		depthwiseBackwardWeightFused(dw, dy, inputPlanes{floats: x}, g, phasedGeom(g), threads, ws)
		return
	case pathTaps:
		backwardWeightTaps(dw, dy, inputPlanes{floats: x}, g, threads, ws)
		return
	case pathWide:
		backwardWeightWide(dw, dy, x, g, threads, ws)
		return
	case pathWinograd, pathWinograd4:
		if !backwardWeightWinograd(p, dw, dy, inputPlanes{floats: x}, g, threads, ws) {
			backwardWeightVia(otherWeightPath(g, x), impl, dw, dy, x, g, threads, ws)
		}
		return
	case pathPacked:
		backwardWeightDot(dw, dy, x, g, threads, ws)
		return
	}
	// Through the caller's BLAS: unfold rows, acc (og×rows) += dyg
	// (og×spatial) · colᵀ (spatial×rows), image by image.
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	span, chunks, blocks := weightSplit(g)
	tasks := g.Groups * chunks * blocks
	workers := workerCount(tasks, threads)
	ws.begin(workers)
	partLen := og * span
	ws.partials = growFloats(ws.partials, tasks*partLen)
	parallelForWorker(tasks, workers, func(t, task int) {
		b := &ws.workers[t]
		grp, chunk, block := task/(chunks*blocks), task/blocks%chunks, task%blocks
		r0 := chunk * span
		rows := min(r0+span, k) - r0
		n0, n1 := block*g.N/blocks, (block+1)*g.N/blocks
		b.col = growFloats(b.col, rows*spatial)
		acc := ws.partials[task*partLen:][:og*rows]
		for n := n0; n < n1; n++ {
			im2colRows(b.col, x[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], g, r0, r0+rows, spatial)
			beta := float32(1)
			if n == n0 {
				beta = 0
			}
			matMulSerial(impl, false, true, og, rows, spatial, 1, dy[n*yImg+grp*og*spatial:][:og*spatial], b.col, beta, acc)
		}
	})
	addBlocks(dw, g, ws)
}

// weightSplit returns how Conv2dBackwardWeight splits its work: ranges of
// span weight columns (rows of the unfolded input), chunks of them per
// group, and blocks of images. It depends on the geometry only.
func weightSplit(g geom.Conv) (span, chunks, blocks int) {
	const minTasks = 8
	span = 32
	chunks = ceilDiv(g.FanIn(), span)
	blocks = min(g.N, ceilDiv(minTasks, chunks*g.Groups))
	return span, chunks, blocks
}

// backwardWeightDot is Conv2dBackwardWeight on the dot kernel: the output
// gradient of an image and its unfolded input both run along the output
// positions, so each weight is a dot product of two such rows and neither
// operand needs transposing. Rows are padded with zeros to a multiple of
// the kernel's step, and to whole tiles.
func backwardWeightDot(dw, dy, x []float32, g geom.Conv, threads int, ws *Workspace) {
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	sPad := ceilDiv(spatial, dotStep) * dotStep
	ogPad := ceilDiv(og, dr) * dr
	span, chunks, blocks := weightSplit(g)

	// Every image's output gradient, padded, once.
	dyLen := ogPad * sPad
	ws.shared = growFloats(ws.shared, g.N*g.Groups*dyLen)
	parallelFor(g.N*g.Groups, threads, func(t int) {
		n, grp := t/g.Groups, t%g.Groups
		dst := ws.shared[t*dyLen:][:dyLen]
		for o := 0; o < ogPad; o++ {
			row := dst[o*sPad:][:sPad]
			if o < og {
				copy(row, dy[n*yImg+(grp*og+o)*spatial:][:spatial])
				clear(row[spatial:])
			} else {
				clear(row)
			}
		}
	})

	tasks := g.Groups * chunks * blocks
	workers := workerCount(tasks, threads)
	ws.begin(workers)
	partLen := og * span
	ws.partials = growFloats(ws.partials, tasks*partLen)
	parallelForWorker(tasks, workers, func(t, task int) {
		b := &ws.workers[t]
		grp, chunk, block := task/(chunks*blocks), task/blocks%chunks, task%blocks
		r0 := chunk * span
		rows := min(r0+span, k) - r0
		rowsPad := ceilDiv(rows, dc) * dc
		n0, n1 := block*g.N/blocks, (block+1)*g.N/blocks
		// Padding rows and the tails of rows stay zero: im2colRows writes
		// only the first spatial floats of the first rows rows.
		b.col = growFloats(b.col, rowsPad*sPad)
		clear(b.col)
		acc := ws.partials[task*partLen:][:og*rows]
		var tile [dr * dc]float32
		for n := n0; n < n1; n++ {
			im2colRows(b.col, x[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], g, r0, r0+rows, sPad)
			dyn := ws.shared[(n*g.Groups+grp)*dyLen:]
			for i0 := 0; i0 < og; i0 += dr {
				for j0 := 0; j0 < rows; j0 += dc {
					dotKernel(sPad, &dyn[i0*sPad], sPad, &b.col[j0*sPad], sPad, &tile[0])
					for i := i0; i < min(i0+dr, og); i++ {
						out := acc[i*rows+j0 : i*rows+min(j0+dc, rows)]
						src := tile[(i-i0)*dc:][:len(out)]
						if n == n0 {
							copy(out, src)
							continue
						}
						for j, v := range src {
							out[j] += v
						}
					}
				}
			}
		}
	})
	addBlocks(dw, g, ws)
}

// addBlocks adds the image blocks' partial weight gradients in block order
// and places the sums in dw.
func addBlocks(dw []float32, g geom.Conv, ws *Workspace) {
	k, og := g.FanIn(), g.OutPerGroup()
	span, chunks, blocks := weightSplit(g)
	partLen := og * span
	for gc := 0; gc < g.Groups*chunks; gc++ {
		grp, chunk := gc/chunks, gc%chunks
		r0 := chunk * span
		rows := min(r0+span, k) - r0
		first := ws.partials[gc*blocks*partLen:][:og*rows]
		for blk := 1; blk < blocks; blk++ {
			for i, v := range ws.partials[(gc*blocks+blk)*partLen:][:og*rows] {
				first[i] += v
			}
		}
		for o := 0; o < og; o++ {
			copy(dw[(grp*og+o)*k+r0:][:rows], first[o*rows:][:rows])
		}
	}
}

// Im2col unfolds one image's channels of one group (cg×H×W, C-order) into
// col, a (cg·KH·KW)×(OutH·OutW) matrix: row (c, ky, kx), column (oy, ox)
// holds the input under kernel tap (ky, kx) of output (oy, ox), or 0 in the
// padding.
func Im2col(col, x []float32, cg int, g geom.Conv) {
	im2colRows(col, x, g, 0, cg*g.KH*g.KW, g.OutH()*g.OutW())
}

// im2colRows writes rows [r0, r1) of Im2col's matrix into col, ld floats
// apart. Each row is the input row under one kernel tap: a copy (stride 1)
// or strided gather between the output columns whose tap falls in the
// padding, which are zero.
func im2colRows(col, x []float32, g geom.Conv, r0, r1, ld int) {
	oh, ow := g.OutH(), g.OutW()
	taps := g.KH * g.KW
	for r := r0; r < r1; r++ {
		c, ky, kx := r/taps, r%taps/g.KW, r%g.KW
		plane := x[c*g.H*g.W:][:g.H*g.W]
		row := col[(r-r0)*ld:][:oh*ow]
		lo, hi, off := tapSpan(g, kx)
		for oy := 0; oy < oh; oy++ {
			iy := oy*g.StrideH - g.PadH + ky*g.DilH
			out := row[oy*ow:][:ow]
			if iy < 0 || iy >= g.H {
				clear(out)
				continue
			}
			in := plane[iy*g.W:][:g.W]
			clear(out[:lo])
			clear(out[hi:])
			if g.StrideW == 1 {
				copy(out[lo:hi], in[lo+off:])
				continue
			}
			ix := lo*g.StrideW + off
			for ox := lo; ox < hi; ox++ {
				out[ox] = in[ix]
				ix += g.StrideW
			}
		}
	}
}

// Col2im is the adjoint of Im2col: it overwrites x (cg×H×W) with the sum,
// over every column entry, of the entry at the input position it was read
// from. Padding entries are dropped.
func Col2im(x, col []float32, cg int, g geom.Conv) {
	clear(x)
	oh, ow := g.OutH(), g.OutW()
	taps := g.KH * g.KW
	if g.StrideW == 1 && g.KW <= maxSpanKW {
		col2imRows(x, col, cg, g)
		return
	}
	for r := 0; r < cg*taps; r++ {
		c, ky, kx := r/taps, r%taps/g.KW, r%g.KW
		plane := x[c*g.H*g.W:][:g.H*g.W]
		row := col[r*oh*ow:][:oh*ow]
		lo, hi, off := tapSpan(g, kx)
		if hi <= lo {
			continue
		}
		for oy := 0; oy < oh; oy++ {
			iy := oy*g.StrideH - g.PadH + ky*g.DilH
			if iy < 0 || iy >= g.H {
				continue
			}
			in := plane[iy*g.W:][:g.W]
			src := row[oy*ow+lo : oy*ow+hi]
			ix := lo*g.StrideW + off
			for _, v := range src {
				in[ix] += v
				ix += g.StrideW
			}
		}
	}
}

// maxSpanKW bounds the kernel widths whose tap spans col2imRows keeps on
// the stack.
const maxSpanKW = 32

// col2imRows is Col2im for StrideW 1 on a cleared x: each row of col (one
// kernel tap of one channel) is added as one block, the output rows whose
// tap row lies in the image (iy = oy·StrideH - PadH + ky·DilH) and the
// columns whose tap column does.
func col2imRows(x, col []float32, cg int, g geom.Conv) {
	oh, ow := g.OutH(), g.OutW()
	var lo, hi, off [maxSpanKW]int
	for kx := 0; kx < g.KW; kx++ {
		lo[kx], hi[kx], off[kx] = tapSpan(g, kx)
	}
	r := 0
	for c := 0; c < cg; c++ {
		plane := x[c*g.H*g.W:][:g.H*g.W]
		for ky := 0; ky < g.KH; ky++ {
			base := ky*g.DilH - g.PadH
			oy0, oy1 := 0, 0
			if base < 0 {
				oy0 = (-base + g.StrideH - 1) / g.StrideH
			}
			if g.H-1-base >= 0 {
				oy1 = min(oh, (g.H-1-base)/g.StrideH+1)
			}
			for kx := 0; kx < g.KW; kx, r = kx+1, r+1 {
				if oy1 <= oy0 || hi[kx] <= lo[kx] {
					continue
				}
				iy0 := oy0*g.StrideH + base
				f32.AddRows(plane[iy0*g.W+lo[kx]+off[kx]:], col[r*oh*ow+oy0*ow+lo[kx]:], oy1-oy0, hi[kx]-lo[kx], g.StrideH*g.W, ow)
			}
		}
	}
}

// workerCount returns how many workers (parts of parallel.Run) to use
// for n independent tasks on up to threads threads (<= 0: one per core).
func workerCount(n, threads int) int { return parallel.Parts(n, threads, 1) }

// forEachImage calls f for every image index in [0, n), spread over
// workers that each own a workerBufs of ws.
func forEachImage(n, threads int, ws *Workspace, f func(n int, b *workerBufs)) {
	workers := workerCount(n, threads)
	ws.begin(workers)
	parallelForWorker(n, workers, func(t, i int) { f(i, &ws.workers[t]) })
}

// parallelFor runs f(0..n-1) on up to threads workers (threads <= 0: one
// per core), each taking a contiguous range of task indices.
func parallelFor(n, threads int, f func(task int)) {
	parallelForWorker(n, workerCount(n, threads), func(_, task int) { f(task) })
}

// parallelForWorker runs f(t, task) for task in [0, n) on the module's
// worker pool, split into the given number of parts (at most n): part t
// is a contiguous range of tasks, run in order by one goroutine, so f may
// use scratch owned by worker t without locking. Which goroutine runs a
// part does not matter; the split depends on n and workers only.
func parallelForWorker(n, workers int, f func(t, task int)) {
	parallel.Run(n, max(workers, 1), 1, taskLoop(f))
}

// taskLoop runs a part's tasks one by one. A func type, so that handing
// one to parallel.Run costs no allocation beyond the closure itself.
type taskLoop func(t, task int)

func (f taskLoop) Run(t, lo, hi int) {
	for i := lo; i < hi; i++ {
		f(t, i)
	}
}
