package tablegrad

import "github.com/goapprox/goapprox/internal/parallel"

// How the fused linear kernel is fast: a training step needs both
// gradients, and both visit the same products (x, w, dy). One pass reads
// each product's codes and output gradient once and takes both slopes from
// the two 1 KiB rows the activation code fixes (Tables.gx and Tables.gw):
// the data gradient's sum runs in registers along the pass, the weight
// gradient's sums are a row of accumulators in L1 (one per output, for the
// input at hand) that the pass adds to. Summation orders are fixed by the
// shapes alone (the data gradient as in dotAxpy, the weight gradient over
// the batch rows in order), so results do not depend on the thread count.

// GEMMBoth computes what GEMMData and GEMMWeight compute, in one pass over
// the products: dx (m×k) and dw (n×k, or k×n with inOut). It returns what
// the references return up to float32 rounding (not the bits of the
// separate functions: the sums run in another order), the same bits for
// every thread count.
func GEMMBoth(dx, dw, dy []float32, x, w []byte, m, n, k int, inOut bool, t *Tables, q *Quant, threads int, ws *Workspace) error {
	if err := checkGEMM("GEMMBoth", dx, m*k, "m*k", dy, x, w, m, n, k, t != nil); err != nil {
		return err
	}
	if err := checkGEMM("GEMMBoth", dw, n*k, "n*k", dy, x, w, m, n, k, true); err != nil {
		return err
	}
	j := ws.gemmJob()
	defer ws.doneGEMM(j)
	p, err := resolve(q, n, j.sw, j.zw)
	j.sw, j.zw = p.sw, p.zw
	if err != nil {
		return err
	}
	if k == 0 || n == 0 && m == 0 {
		return nil
	}
	j.t, j.p, j.out, j.dy, j.x, j.w, j.m, j.n, j.k, j.inOut = t, p, dx, dy, x, w, m, n, k, inOut
	j.dw = dw
	j.codesT = grow(j.codesT, k*n)
	transposeBytes(j.codesT, w, n, k)
	// The output gradient scaled per output, its per-row zero-point share
	// for dx and its per-output sums for dw's.
	j.dyT = grow(j.dyT, m*n)
	j.rowCorr = grow(j.rowCorr, m)
	j.colSum = grow(j.colSum, n)
	clear(j.colSum)
	for i := 0; i < m; i++ {
		var c float64
		for o, d := range dy[i*n : (i+1)*n] {
			v := float32(float64(d) * p.scale(o))
			j.dyT[i*n+o] = v
			c += float64(v) * p.zero(o)
			j.colSum[o] += float64(v)
		}
		j.rowCorr[i] = c
	}
	j.acc = grow(j.acc, k*n)
	parallel.Run(k, threads, max(1, minParallelProducts/max(m*n, 1)), (*gemmBoth)(j))
	return nil
}

type gemmBoth gemmJob

// Run computes inputs [lo, hi): column l of dx and the gradients of every
// weight of input l.
func (j *gemmBoth) Run(_, lo, hi int) {
	m, n, k := j.m, j.n, j.k
	for l := lo; l < hi; l++ {
		acc := j.acc[l*n : (l+1)*n]
		clear(acc)
		wl := j.codesT[l*n : (l+1)*n]
		for i := 0; i < m; i++ {
			s := dotAxpy(j.dyT[i*n:(i+1)*n], wl, &j.t.gx[j.x[i*k+l]], &j.t.gw[j.x[i*k+l]], acc)
			j.out[i*k+l] = float32(float64(s) - j.rowCorr[i])
		}
		for o, v := range acc {
			g := float32(j.p.sx / j.p.scale(o) * (float64(v) - j.p.zx*j.colSum[o]))
			if j.inOut {
				j.dw[l*n+o] = g
			} else {
				j.dw[o*k+l] = g
			}
		}
	}
}
