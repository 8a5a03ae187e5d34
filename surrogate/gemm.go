package surrogate

import (
	"fmt"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/goapprox/goapprox/ops/geom"
)

type float interface{ float32 | float64 }

// GEMM computes the surrogate of kernel.GEMMRef's accumulator:
//
//	acc[i*n+j] ≈ Σ_l table[x[i*k+l]][w[j*k+l]]   for i < m, j < n
//
// with x m×k activation codes and w n×k weight codes (row-major, one weight
// row per output), in float32. The r+1 terms are one matrix product: every
// code of x is expanded into its r+1 transformed values along the inner
// dimension, and likewise for w, so the product has inner size k·(r+1).
// The sums are not rounded to integers: below full rank they are not the
// table's integers anyway, and consumers scale them to floats. Buffers may
// be longer than needed; only acc[:m*n] is written.
//
// The product runs on gonum's current float32 BLAS (blas32.Use switches
// it, e.g. to OpenBLAS through gonum's netlib package).
func (s *Surrogate) GEMM(acc []float32, x, w []byte, m, n, k int) error {
	return gemm(s, s.x32, s.w32, acc, x, w, m, n, k)
}

// GEMM64 is GEMM in float64. At full rank it reproduces the table's integer
// sums to well within 0.5, so rounding gives kernel.GEMMRef's result.
func (s *Surrogate) GEMM64(acc []float64, x, w []byte, m, n, k int) error {
	return gemm(s, s.x, s.w, acc, x, w, m, n, k)
}

func gemm[T float](s *Surrogate, fx, fw [][256]T, acc []T, x, w []byte, m, n, k int) error {
	switch {
	case m < 0 || n < 0 || k < 0:
		return fmt.Errorf("surrogate: GEMM sizes m=%d, n=%d, k=%d must not be negative", m, n, k)
	case len(x) < m*k:
		return fmt.Errorf("surrogate: GEMM activations hold %d codes, need m*k = %d*%d = %d", len(x), m, k, m*k)
	case len(w) < n*k:
		return fmt.Errorf("surrogate: GEMM weights hold %d codes, need n*k = %d*%d = %d", len(w), n, k, n*k)
	case len(acc) < m*n:
		return fmt.Errorf("surrogate: GEMM output holds %d sums, need m*n = %d*%d = %d", len(acc), m, n, m*n)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 {
		clear(acc[:m*n])
		return nil
	}
	kk := k * (s.rank + 1)
	a, b := getBuffer[T](m*kk), getBuffer[T](n*kk)
	defer putBuffer(a)
	defer putBuffer(b)
	expand(*a, x, m, k, fx)
	expand(*b, w, n, k, fw)
	gemmNT(m, n, kk, *a, *b, acc, n)
	return nil
}

// expand writes, for each of the rows codes of length k, the r+1
// transformed copies of the row one after another: dst row i holds
// f[0][codes of row i], then f[1][...], and so on.
func expand[T float](dst []T, codes []byte, rows, k int, f [][256]T) {
	kk := k * len(f)
	for i := range rows {
		src := codes[i*k : i*k+k]
		row := dst[i*kk : i*kk+kk]
		for t := range f {
			ft := &f[t]
			out := row[t*k : t*k+k]
			for l, c := range src {
				out[l] = ft[c]
			}
		}
	}
}

// gemmNT computes c = a·bᵀ with a m×k, b n×k and c m×n with row stride ldc.
func gemmNT[T float](m, n, k int, a, b, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, any(b).([]float32), k, 0, any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, any(b).([]float64), k, 0, any(c).([]float64), ldc)
	}
}

// Conv2d computes the surrogate of kernel.Conv2dRef's accumulator for the
// grouped NCHW convolution of activation codes x (N×C×H×W) with weight codes
// w (O×C/Groups×KH×KW) into acc (N×O×OutH×OutW), in float32. Positions
// outside the input read the code pad (the activation zero point), so they
// contribute table[pad][w] ≈ pad·w + Σ u_i[pad]·v_i[w], not 0.
//
// Each image and group is one matrix product of the expanded weights with
// the expanded unfolded input (im2col of the codes, then r+1 transformed
// copies); images are spread over GOMAXPROCS goroutines.
func (s *Surrogate) Conv2d(acc []float32, x, w []byte, pad byte, g geom.Conv) error {
	return conv2d(s, s.x32, s.w32, acc, x, w, pad, g)
}

// Conv2d64 is Conv2d in float64; at full rank, rounding gives
// kernel.Conv2dRef's result.
func (s *Surrogate) Conv2d64(acc []float64, x, w []byte, pad byte, g geom.Conv) error {
	return conv2d(s, s.x, s.w, acc, x, w, pad, g)
}

func conv2d[T float](s *Surrogate, fx, fw [][256]T, acc []T, x, w []byte, pad byte, g geom.Conv) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("surrogate: %w", err)
	}
	switch {
	case len(x) < g.XLen():
		return fmt.Errorf("surrogate: conv2d activations hold %d codes, need N*C*H*W = %d", len(x), g.XLen())
	case len(w) < g.WLen():
		return fmt.Errorf("surrogate: conv2d weights hold %d codes, need O*(C/Groups)*KH*KW = %d", len(w), g.WLen())
	case len(acc) < g.YLen():
		return fmt.Errorf("surrogate: conv2d output holds %d sums, need N*O*OutH*OutW = %d", len(acc), g.YLen())
	}
	fan, og := g.FanIn(), g.OutPerGroup()
	kk := fan * (s.rank + 1)
	positions := g.OutH() * g.OutW()
	// The weights of output channel o are row o of an O×fan matrix.
	wt := getBuffer[T](g.O * kk)
	defer putBuffer(wt)
	expand(*wt, w, g.O, fan, fw)

	workers := min(runtime.GOMAXPROCS(0), g.N)
	var wg sync.WaitGroup
	for id := range workers {
		wg.Go(func() {
			codes := make([]byte, positions*fan)
			cols := getBuffer[T](positions * kk)
			defer putBuffer(cols)
			for img := id; img < g.N; img += workers {
				for grp := range g.Groups {
					unfold(codes, x, pad, g, img, grp)
					expand(*cols, codes, positions, fan, fx)
					out := acc[(img*g.O+grp*og)*positions:]
					gemmNT(og, positions, kk, (*wt)[grp*og*kk:], *cols, out, positions)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// unfold writes the codes that the output positions of image img read from
// the channels of group grp: row p (output position) holds the fan-in codes
// in weight order (c, ky, kx), pad where the kernel reaches outside.
func unfold(codes, x []byte, pad byte, g geom.Conv, img, grp int) {
	oh, ow, cg, fan := g.OutH(), g.OutW(), g.InPerGroup(), g.FanIn()
	for oy := range oh {
		for ox := range ow {
			row := codes[(oy*ow+ox)*fan:]
			idx := 0
			for c := range cg {
				plane := x[((img*g.C)+grp*cg+c)*g.H*g.W:]
				for ky := range g.KH {
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					for kx := range g.KW {
						ix := ox*g.StrideW - g.PadW + kx*g.DilW
						v := pad
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							v = plane[iy*g.W+ix]
						}
						row[idx] = v
						idx++
					}
				}
			}
		}
	}
}

var pool32, pool64 sync.Pool

// getBuffer returns a pooled slice of length n, so steady-state calls do
// not allocate their expanded operands.
func getBuffer[T float](n int) *[]T {
	var p *sync.Pool
	var zero T
	if _, ok := any(zero).(float32); ok {
		p = &pool32
	} else {
		p = &pool64
	}
	if v, ok := p.Get().(*[]T); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	b := make([]T, n)
	return &b
}

func putBuffer[T float](b *[]T) {
	if _, ok := any(*b).([]float32); ok {
		pool32.Put(b)
	} else {
		pool64.Put(b)
	}
}
