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

// Conv2d computes the grouped convolution y = x ⊛ w (no bias). y is
// overwritten. Images are spread over threads workers (threads <= 0: one
// per core, GOMAXPROCS).
func Conv2d(impl blas.Float32, y, x, w []float32, g kernel.ConvGeom, threads int) error {
	if err := check(g, x, w, y); err != nil {
		return err
	}
	if isDepthwise(g) {
		depthwiseForward(impl, y, x, w, g, threads)
		return nil
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	forEachImage(g.N, threads, func(n int, col []float32) {
		for grp := 0; grp < g.Groups; grp++ {
			Im2col(col, x[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], cg, g)
			wg := w[grp*og*k:][:og*k]
			yg := y[n*yImg+grp*og*spatial:][:og*spatial]
			MatMul(impl, false, false, og, spatial, k, 1, wg, col, 0, yg)
		}
	}, k*spatial)
	return nil
}

// Conv2dBackwardData computes dx, the gradient of sum(y·dy) with respect to
// x, for y = x ⊛ w. dx is overwritten.
func Conv2dBackwardData(impl blas.Float32, dx, dy, w []float32, g kernel.ConvGeom, threads int) error {
	if err := check(g, dx, w, dy); err != nil {
		return err
	}
	if isDepthwise(g) {
		depthwiseBackwardData(impl, dx, dy, w, g, threads)
		return nil
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	forEachImage(g.N, threads, func(n int, col []float32) {
		for grp := 0; grp < g.Groups; grp++ {
			wg := w[grp*og*k:][:og*k]
			dyg := dy[n*yImg+grp*og*spatial:][:og*spatial]
			// dcol (k×spatial) = wgᵀ (k×og) · dyg (og×spatial)
			MatMul(impl, true, false, k, spatial, og, 1, wg, dyg, 0, col)
			Col2im(dx[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], col, cg, g)
		}
	}, k*spatial)
	return nil
}

// Conv2dBackwardWeight computes dw, the gradient of sum(y·dy) with respect
// to w, for y = x ⊛ w. dw is overwritten. The images are split into
// contiguous ranges, one per worker, each accumulating its own partial
// gradient; the partials are then added in worker order, so the result is
// the same on every run with the same thread count.
func Conv2dBackwardWeight(impl blas.Float32, dw, dy, x []float32, g kernel.ConvGeom, threads int) error {
	if err := check(g, x, dw, dy); err != nil {
		return err
	}
	if isDepthwise(g) {
		depthwiseBackwardWeight(impl, dw, dy, x, g, threads)
		return nil
	}
	k, spatial := g.FanIn(), g.OutH()*g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	xImg, yImg := g.C*g.H*g.W, g.O*spatial
	workers := workerCount(g.N, threads)
	partial := make([][]float32, workers)
	var wgp sync.WaitGroup
	for t := 0; t < workers; t++ {
		lo, hi := t*g.N/workers, (t+1)*g.N/workers
		acc := dw
		if t > 0 {
			acc = make([]float32, len(dw))
		} else {
			clear(dw)
		}
		partial[t] = acc
		wgp.Add(1)
		go func() {
			defer wgp.Done()
			col := make([]float32, k*spatial)
			for n := lo; n < hi; n++ {
				for grp := 0; grp < g.Groups; grp++ {
					Im2col(col, x[n*xImg+grp*cg*g.H*g.W:][:cg*g.H*g.W], cg, g)
					dyg := dy[n*yImg+grp*og*spatial:][:og*spatial]
					// dwg (og×k) += dyg (og×spatial) · colᵀ (spatial×k)
					MatMul(impl, false, true, og, k, spatial, 1, dyg, col, 1, acc[grp*og*k:][:og*k])
				}
			}
		}()
	}
	wgp.Wait()
	for t := 1; t < workers; t++ {
		for i, v := range partial[t] {
			dw[i] += v
		}
	}
	return nil
}

// Im2col unfolds one image's channels of one group (cg×H×W, C-order) into
// col, a (cg·KH·KW)×(OutH·OutW) matrix: row (c, ky, kx), column (oy, ox)
// holds the input under kernel tap (ky, kx) of output (oy, ox), or 0 in the
// padding.
func Im2col(col, x []float32, cg int, g kernel.ConvGeom) {
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
					out := row[oy*ow:][:ow]
					if iy < 0 || iy >= g.H {
						clear(out)
						continue
					}
					in := plane[iy*g.W:][:g.W]
					ix := kx*g.DilW - g.PadW
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

// workerCount returns how many workers to use for n independent images.
func workerCount(n, threads int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, n)
	return max(threads, 1)
}

// forEachImage calls f for every image index in [0, n), spread over
// workers that each own a scratch buffer of colLen floats.
func forEachImage(n, threads int, f func(n int, col []float32), colLen int) {
	workers := workerCount(n, threads)
	if workers == 1 {
		col := make([]float32, colLen)
		for i := 0; i < n; i++ {
			f(i, col)
		}
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < workers; t++ {
		lo, hi := t*n/workers, (t+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			col := make([]float32, colLen)
			for i := lo; i < hi; i++ {
				f(i, col)
			}
		}()
	}
	wg.Wait()
}

// parallelFor runs f(0..n-1) on up to threads workers (threads <= 0: one
// per core), each taking a contiguous range of task indices.
func parallelFor(n, threads int, f func(task int)) {
	workers := workerCount(n, threads)
	var wg sync.WaitGroup
	for t := 0; t < workers; t++ {
		lo, hi := t*n/workers, (t+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				f(i)
			}
		}()
	}
	wg.Wait()
}
