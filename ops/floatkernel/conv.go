package floatkernel

import (
	"fmt"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"

	"github.com/goapprox/goapprox/ops/kernel"
)

// check verifies the geometry and the lengths of the three buffers.
func check(g kernel.ConvGeom, x, w, y []float32) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if len(x) != g.XLen() || len(w) != g.WLen() || len(y) != g.YLen() {
		return fmt.Errorf("floatkernel: buffer lengths x=%d w=%d y=%d do not match the geometry (want %d, %d, %d)",
			len(x), len(w), len(y), g.XLen(), g.WLen(), g.YLen())
	}
	return nil
}

// Workspace is the scratch memory of the convolution kernels, kept between
// calls so that steady-state calls allocate nothing. The zero value is
// ready; a nil *Workspace makes each call allocate its own. A Workspace
// must not be used by two calls at once.
type Workspace struct {
	bufs [][]float32 // one per worker
}

// buf returns worker t's buffer with length n (contents undefined).
func (ws *Workspace) buf(t, n int) []float32 {
	for len(ws.bufs) <= t {
		ws.bufs = append(ws.bufs, nil)
	}
	if cap(ws.bufs[t]) < n {
		ws.bufs[t] = make([]float32, n)
	}
	return ws.bufs[t][:n]
}

// grow makes room for workers buffers, before they are handed out
// concurrently.
func (ws *Workspace) grow(workers int) {
	for len(ws.bufs) < workers {
		ws.bufs = append(ws.bufs, nil)
	}
}

// Conv2d computes the grouped convolution y = x ⊛ w (no bias). y is
// overwritten. Images are spread over threads workers (threads <= 0: one
// per core, GOMAXPROCS).
func Conv2d(impl blas.Float32, y, x, w []float32, g kernel.ConvGeom, threads int, ws *Workspace) error {
	if err := check(g, x, w, y); err != nil {
		return err
	}
	if isDepthwise(g) {
		depthwiseForward(y, x, w, g, threads)
		return nil
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	forEachImage(g.N, threads, ws, k*spatial, func(n int, col []float32) {
		for grp := 0; grp < g.Groups; grp++ {
			Im2col(col, x[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], cg, g)
			wg := w[grp*og*k:][:og*k]
			yg := y[n*yImg+grp*og*spatial:][:og*spatial]
			matMulSerial(impl, false, false, og, spatial, k, 1, wg, col, 0, yg)
		}
	})
	return nil
}

// Conv2dBackwardData computes dx, the gradient of sum(y·dy) with respect to
// x, for y = x ⊛ w. dx is overwritten.
func Conv2dBackwardData(impl blas.Float32, dx, dy, w []float32, g kernel.ConvGeom, threads int, ws *Workspace) error {
	if err := check(g, dx, w, dy); err != nil {
		return err
	}
	if isDepthwise(g) {
		depthwiseBackwardData(dx, dy, w, g, threads)
		return nil
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	forEachImage(g.N, threads, ws, k*spatial, func(n int, col []float32) {
		for grp := 0; grp < g.Groups; grp++ {
			wg := w[grp*og*k:][:og*k]
			dyg := dy[n*yImg+grp*og*spatial:][:og*spatial]
			// dcol (k×spatial) = wgᵀ (k×og) · dyg (og×spatial)
			matMulSerial(impl, true, false, k, spatial, og, 1, wg, dyg, 0, col)
			Col2im(dx[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], col, cg, g)
		}
	})
	return nil
}

// Conv2dBackwardWeight computes dw, the gradient of sum(y·dy) with respect
// to w, for y = x ⊛ w. dw is overwritten.
//
// The work is split by weight columns, not by images: a task owns a range
// of rows (c, ky, kx) of the unfolded input of one group, unfolds just those
// rows of each image in turn and adds that image's product to its columns
// of dw. Every weight is thus summed over the images in order by one task,
// and the result is the same for any thread count.
func Conv2dBackwardWeight(impl blas.Float32, dw, dy, x []float32, g kernel.ConvGeom, threads int, ws *Workspace) error {
	if err := check(g, x, dw, dy); err != nil {
		return err
	}
	if isDepthwise(g) {
		depthwiseBackwardWeight(dw, dy, x, g, threads)
		return nil
	}
	if ws == nil {
		ws = new(Workspace)
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	// Column ranges of about 32 rows (whole kernel windows when they fit)
	// give enough tasks for the workers while keeping the products wide.
	span := max(1, 32/(g.KH*g.KW)) * g.KH * g.KW
	chunks := ceilDiv(k, span)
	workers := workerCount(g.Groups*chunks, threads)
	ws.grow(workers)
	parallelForWorker(g.Groups*chunks, workers, func(t, task int) {
		grp, r0 := task/chunks, (task%chunks)*span
		r1 := min(r0+span, k)
		rows := r1 - r0
		buf := ws.buf(t, rows*spatial+og*rows)
		col, acc := buf[:rows*spatial], buf[rows*spatial:]
		clear(acc)
		for n := 0; n < g.N; n++ {
			im2colRows(col, x[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], g, r0, r1)
			dyg := dy[n*yImg+grp*og*spatial:][:og*spatial]
			// acc (og×rows) += dyg (og×spatial) · colᵀ (spatial×rows)
			matMulSerial(impl, false, true, og, rows, spatial, 1, dyg, col, 1, acc)
		}
		for o := 0; o < og; o++ {
			copy(dw[(grp*og+o)*k+r0:][:rows], acc[o*rows:][:rows])
		}
	})
	return nil
}

// Im2col unfolds one image's channels of one group (cg×H×W, C-order) into
// col, a (cg·KH·KW)×(OutH·OutW) matrix: row (c, ky, kx), column (oy, ox)
// holds the input under kernel tap (ky, kx) of output (oy, ox), or 0 in the
// padding.
func Im2col(col, x []float32, cg int, g kernel.ConvGeom) {
	im2colRows(col, x, g, 0, cg*g.KH*g.KW)
}

// im2colRows writes rows [r0, r1) of Im2col's matrix into col.
func im2colRows(col, x []float32, g kernel.ConvGeom, r0, r1 int) {
	oh, ow := g.OutH(), g.OutW()
	taps := g.KH * g.KW
	for r := r0; r < r1; r++ {
		c, ky, kx := r/taps, r%taps/g.KW, r%g.KW
		plane := x[c*g.H*g.W:][:g.H*g.W]
		row := col[(r-r0)*oh*ow:][:oh*ow]
		for oy := 0; oy < oh; oy++ {
			iy := oy*g.StrideH - g.PadH + ky*g.DilH
			out := row[oy*ow:][:ow]
			if iy < 0 || iy >= g.H {
				clear(out)
				continue
			}
			in := plane[iy*g.W:][:g.W]
			ix := kx*g.DilW - g.PadW
			if g.StrideW == 1 && ix >= 0 && ix+ow <= g.W {
				copy(out, in[ix:])
				continue
			}
			for ox := range out {
				if ix >= 0 && ix < g.W {
					out[ox] = in[ix]
				} else {
					out[ox] = 0
				}
				ix += g.StrideW
			}
		}
	}
}

// Col2im is the adjoint of Im2col: it overwrites x (cg×H×W) with the sum,
// over every column entry, of the entry at the input position it was read
// from. Padding entries are dropped.
func Col2im(x, col []float32, cg int, g kernel.ConvGeom) {
	clear(x)
	oh, ow := g.OutH(), g.OutW()
	r := 0
	for c := 0; c < cg; c++ {
		plane := x[c*g.H*g.W:][:g.H*g.W]
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				row := col[r*oh*ow:][:oh*ow]
				r++
				for oy := 0; oy < oh; oy++ {
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					if iy < 0 || iy >= g.H {
						continue
					}
					in := plane[iy*g.W:][:g.W]
					ix := kx*g.DilW - g.PadW
					for _, v := range row[oy*ow:][:ow] {
						if ix >= 0 && ix < g.W {
							in[ix] += v
						}
						ix += g.StrideW
					}
				}
			}
		}
	}
}

// resolveThreads applies the "threads <= 0 means one per core" rule.
func resolveThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}

// workerCount returns how many workers to use for n independent tasks.
func workerCount(n, threads int) int {
	return max(min(resolveThreads(threads), n), 1)
}

// forEachImage calls f for every image index in [0, n), spread over
// workers that each own a scratch buffer of colLen floats from ws.
func forEachImage(n, threads int, ws *Workspace, colLen int, f func(n int, col []float32)) {
	if ws == nil {
		ws = new(Workspace)
	}
	workers := workerCount(n, threads)
	ws.grow(workers)
	parallelForWorker(n, workers, func(t, i int) { f(i, ws.buf(t, colLen)) })
}

// parallelFor runs f(0..n-1) on up to threads workers (threads <= 0: one
// per core), each taking a contiguous range of task indices.
func parallelFor(n, threads int, f func(task int)) {
	parallelForWorker(n, workerCount(n, threads), func(_, task int) { f(task) })
}

// parallelForWorker runs f(t, task) for task in [0, n) on the given number
// of workers; t in [0, workers) names the worker, which runs a contiguous
// range of tasks. One worker runs on the calling goroutine.
func parallelForWorker(n, workers int, f func(t, task int)) {
	workers = max(min(workers, n), 1)
	if workers == 1 {
		for i := 0; i < n; i++ {
			f(0, i)
		}
		return
	}
	var wg sync.WaitGroup
	for t := 1; t < workers; t++ {
		lo, hi := t*n/workers, (t+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				f(t, i)
			}
		}()
	}
	for i := 0; i < n/workers; i++ {
		f(0, i)
	}
	wg.Wait()
}
