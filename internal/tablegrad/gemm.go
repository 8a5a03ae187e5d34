package tablegrad

import (
	"sync"

	"github.com/goapprox/goapprox/internal/parallel"
)

// How the GEMM gradients are fast: both are gather-dots (see dot.go) over
// operands laid out so that the varying codes and the output gradient are
// contiguous. The data gradient fixes the activation code x[i][l], so its
// row of GX is gathered by the weight codes of input l over all outputs:
// the weights are transposed once per call to one row of n codes per input,
// and the output gradient row i (scaled per output) is read as it is. The
// weight gradient fixes the weight code w[j][l], so its row of the
// transposed GW is gathered by the activation codes of input l over the
// batch: activations and output gradient are transposed once per call. The
// transposes move k·n bytes, or k·m bytes and m·n floats, against m·n·k
// gathered products. Rows of the result are split over the shared workers;
// each element is one gather-dot in the fixed order, so the result does not
// depend on the thread count.

// minParallelProducts is the work below which a call stays on the calling
// goroutine: waking workers costs a few microseconds.
const minParallelProducts = 1 << 15

// gemmJob is one GEMM gradient call: its arguments and the memory kept
// between calls (in a Workspace, or pooled), so that calls in steady state
// allocate nothing.
type gemmJob struct {
	t       *Tables
	p       params
	out, dy []float32
	x, w    []byte
	m, n, k int
	inOut   bool

	codesT []byte      // weight gradient: x transposed (k×m); data gradient: w transposed (k×n)
	dyT    []float32   // weight gradient: dy transposed (n×m)
	rows   [][]float32 // data gradient: per part, one row of dy scaled per output
	sw, zw []float64   // the memory of p's slices

	// GEMMBoth: the weight gradient's destination, its sums (k×n), the
	// per-row zero-point shares of dx and per-output sums of scaled dy.
	dw      []float32
	acc     []float32
	rowCorr []float64
	colSum  []float64
}

var gemmJobs = sync.Pool{New: func() any { return new(gemmJob) }}

// GEMMData computes the data gradient of an approximate matrix product
// acc[i][j] = Σ_l T[x[i*k+l]][w[j*k+l]] (activation codes x m×k, weight
// codes w n×k, one row per output, as kernel.GEMM takes them) from the
// output gradient dy (m×n), with the table's slope GX in place of the
// weight's value:
//
//	dx[i*k+l] = Σ_j dy[i*n+j]·sw_j·(GX[x[i*k+l]][w[j*k+l]] − zw_j)
//
// with the scales and zero points of q (nil: 1 and 0). It returns what
// GEMMDataRef returns up to float32 rounding, the same bits for every
// thread count (threads <= 0: one per core). Buffers may be longer than
// needed; only dx[:m*k] is written.
func GEMMData(dx, dy []float32, x, w []byte, m, n, k int, t *Tables, q *Quant, threads int, ws *Workspace) error {
	if err := checkGEMM("GEMMData", dx, m*k, "m*k", dy, x, w, m, n, k, t != nil); err != nil {
		return err
	}
	j := ws.gemmJob()
	defer ws.doneGEMM(j)
	p, err := resolve(q, n, j.sw, j.zw)
	j.sw, j.zw = p.sw, p.zw
	if err != nil {
		return err
	}
	if m == 0 || k == 0 {
		return nil
	}
	j.t, j.p, j.out, j.dy, j.x, j.w, j.m, j.n, j.k = t, p, dx, dy, x, w, m, n, k
	j.codesT = grow(j.codesT, k*n)
	transposeBytes(j.codesT, w, n, k)
	parts := parallel.Parts(m, threads, max(1, minParallelProducts/max(n*k, 1)))
	for len(j.rows) < parts {
		j.rows = append(j.rows, nil)
	}
	parallel.RunParts(m, parts, threads, (*gemmData)(j))
	return nil
}

type gemmData gemmJob

// Run computes rows [lo, hi) of dx.
func (j *gemmData) Run(part, lo, hi int) {
	n, k := j.n, j.k
	ds := grow(j.rows[part], n)
	j.rows[part] = ds
	for i := lo; i < hi; i++ {
		var c float64
		for o, d := range j.dy[i*n : (i+1)*n] {
			ds[o] = float32(float64(d) * j.p.scale(o))
			c += float64(ds[o]) * j.p.zero(o)
		}
		xs, out := j.x[i*k:(i+1)*k], j.out[i*k:(i+1)*k]
		for l, a := range xs {
			out[l] = float32(float64(dot(ds, j.codesT[l*n:(l+1)*n], &j.t.gx[a])) - c)
		}
	}
}

// GEMMWeight computes the weight gradient of the product GEMMData
// differentiates, with the table's slope GW in place of the activation's
// value:
//
//	dw[j*k+l] = sx·Σ_i dy[i*n+j]·(GW[x[i*k+l]][w[j*k+l]] − zx)
//
// stored one row per output (n×k, the layout of w) or, with inOut, one
// row per input (dw[l*n+j], k×n). Threads and buffers as GEMMData.
func GEMMWeight(dw, dy []float32, x, w []byte, m, n, k int, inOut bool, t *Tables, q *Quant, threads int, ws *Workspace) error {
	if err := checkGEMM("GEMMWeight", dw, n*k, "n*k", dy, x, w, m, n, k, t != nil); err != nil {
		return err
	}
	j := ws.gemmJob()
	defer ws.doneGEMM(j)
	p, err := resolve(q, n, j.sw, j.zw)
	j.sw, j.zw = p.sw, p.zw
	if err != nil {
		return err
	}
	if n == 0 || k == 0 {
		return nil
	}
	j.t, j.p, j.out, j.dy, j.x, j.w, j.m, j.n, j.k, j.inOut = t, p, dw, dy, x, w, m, n, k, inOut
	j.codesT = grow(j.codesT, k*m)
	transposeBytes(j.codesT, x, m, k)
	j.dyT = grow(j.dyT, n*m)
	transposeFloats(j.dyT, dy, m, n)
	parallel.Run(n, threads, max(1, minParallelProducts/max(m*k, 1)), (*gemmWeight)(j))
	return nil
}

type gemmWeight gemmJob

// Run computes the gradients of outputs [lo, hi).
func (j *gemmWeight) Run(_, lo, hi int) {
	m, n, k := j.m, j.n, j.k
	for o := lo; o < hi; o++ {
		d := j.dyT[o*m : (o+1)*m]
		var sum float64
		for _, v := range d {
			sum += float64(v)
		}
		corr := j.p.zx * sum
		for l, b := range j.w[o*k : (o+1)*k] {
			v := float32(j.p.sx * (float64(dot(d, j.codesT[l*m:(l+1)*m], &j.t.gwT[b])) - corr))
			if j.inOut {
				j.out[l*n+o] = v
			} else {
				j.out[o*k+l] = v
			}
		}
	}
}

// transposeBytes writes the transpose of the rows×cols matrix src into dst
// (cols×rows), in tiles that keep both sides' lines in L1.
func transposeBytes(dst, src []byte, rows, cols int) {
	const tile = 32
	for i0 := 0; i0 < rows; i0 += tile {
		for j0 := 0; j0 < cols; j0 += tile {
			for i := i0; i < min(i0+tile, rows); i++ {
				s := src[i*cols : (i+1)*cols]
				for jj := j0; jj < min(j0+tile, cols); jj++ {
					dst[jj*rows+i] = s[jj]
				}
			}
		}
	}
}

// transposeFloats is transposeBytes for float32.
func transposeFloats(dst, src []float32, rows, cols int) {
	const tile = 16
	for i0 := 0; i0 < rows; i0 += tile {
		for j0 := 0; j0 < cols; j0 += tile {
			for i := i0; i < min(i0+tile, rows); i++ {
				s := src[i*cols : (i+1)*cols]
				for jj := j0; jj < min(j0+tile, cols); jj++ {
					dst[jj*rows+i] = s[jj]
				}
			}
		}
	}
}
