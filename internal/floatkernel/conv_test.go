package floatkernel

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/ops/geom"
)

// naiveConv is the textbook definition of a grouped convolution, in float64.
func naiveConv(x, w []float32, g geom.Conv) []float64 {
	oh, ow := g.OutH(), g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	y := make([]float64, g.YLen())
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			grp := o / og
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					for c := 0; c < cg; c++ {
						for ky := 0; ky < g.KH; ky++ {
							for kx := 0; kx < g.KW; kx++ {
								iy := oy*g.StrideH - g.PadH + ky*g.DilH
								ix := ox*g.StrideW - g.PadW + kx*g.DilW
								if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
									continue
								}
								xv := x[((n*g.C+grp*cg+c)*g.H+iy)*g.W+ix]
								wv := w[((o*cg+c)*g.KH+ky)*g.KW+kx]
								s += float64(xv) * float64(wv)
							}
						}
					}
					y[((n*g.O+o)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return y
}

// naiveGrads returns d/dx and d/dw of sum(y·dy), by the same loops: every
// product x·w contributes dy·w to dx and dy·x to dw.
func naiveGrads(x, w, dy []float32, g geom.Conv) (dx, dw []float64) {
	oh, ow := g.OutH(), g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	dx, dw = make([]float64, g.XLen()), make([]float64, g.WLen())
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			grp := o / og
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					d := float64(dy[((n*g.O+o)*oh+oy)*ow+ox])
					for c := 0; c < cg; c++ {
						for ky := 0; ky < g.KH; ky++ {
							for kx := 0; kx < g.KW; kx++ {
								iy := oy*g.StrideH - g.PadH + ky*g.DilH
								ix := ox*g.StrideW - g.PadW + kx*g.DilW
								if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
									continue
								}
								xi := ((n*g.C+grp*cg+c)*g.H+iy)*g.W + ix
								wi := ((o*cg+c)*g.KH+ky)*g.KW + kx
								dx[xi] += d * float64(w[wi])
								dw[wi] += d * float64(x[xi])
							}
						}
					}
				}
			}
		}
	}
	return dx, dw
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func assertClose(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		// Not d > tolerance: that is false for a NaN.
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= 1e-5*math.Max(scale, 1)) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %g)", what, i, got[i], want[i], d)
		}
	}
}

var geoms = []geom.Conv{
	{N: 1, C: 1, H: 1, W: 1, O: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 2, C: 3, H: 17, W: 5, O: 4, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 0, DilH: 1, DilW: 1, Groups: 1},
	{N: 3, C: 6, H: 12, W: 12, O: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 2, C: 4, H: 9, W: 7, O: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 2},
	{N: 1, C: 8, H: 11, W: 13, O: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 2, DilW: 2, Groups: 8},
	{N: 5, C: 3, H: 7, W: 9, O: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 3},
	{N: 2, C: 2, H: 6, W: 6, O: 3, KH: 1, KW: 1, StrideH: 4, StrideW: 3, DilH: 1, DilW: 1, Groups: 1},
	// depthwise with a channel multiplier, stride > kernel, odd sizes
	{N: 3, C: 5, H: 17, W: 9, O: 10, KH: 3, KW: 2, StrideH: 4, StrideW: 3, PadH: 2, PadW: 1, DilH: 1, DilW: 3, Groups: 5},
	{N: 2, C: 144, H: 13, W: 11, O: 144, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 144},
	{N: 1, C: 2, H: 1, W: 1, O: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 2},
	// stride-1 depthwise with a channel multiplier, rectangular kernel,
	// unequal padding and dilation: the padded-plane path
	{N: 2, C: 3, H: 7, W: 9, O: 6, KH: 3, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 1, DilH: 1, DilW: 2, Groups: 3},
	{N: 3, C: 4, H: 5, W: 6, O: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 4},
	// fan-in 288: more than one packed block of inner steps
	{N: 2, C: 32, H: 6, W: 5, O: 7, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 3, H: 129, W: 3, O: 2, KH: 4, KW: 2, StrideH: 3, StrideW: 1, PadH: 2, PadW: 2, DilH: 3, DilW: 1, Groups: 1},
	// LeNet's conv1 and conv2 shapes on odd batches (image blocks of
	// unequal size), and stride-1 shapes whose kernel rows are not a
	// multiple of the dot tile: the wide-layout paths
	{N: 9, C: 1, H: 11, W: 7, O: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1, Groups: 1},
	{N: 3, C: 6, H: 14, W: 14, O: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 2, C: 4, H: 5, W: 8, O: 5, KH: 2, KW: 4, StrideH: 1, StrideW: 1, PadH: 0, PadW: 3, DilH: 2, DilW: 1, Groups: 1},
	{N: 2, C: 6, H: 7, W: 6, O: 9, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadH: 1, PadW: 2, DilH: 1, DilW: 1, Groups: 3},
	// pointwise: taps gathered across channels, chunks of channels of
	// unequal size
	{N: 3, C: 40, H: 5, W: 3, O: 7, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	// a CIFAR ResNet's 3x3 layer, small: many outputs, one panel partly
	// padding, positions not a multiple of the transpose's blocks; the
	// tap-major weight gradient on padded planes
	{N: 3, C: 5, H: 9, W: 7, O: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 2, C: 7, H: 8, W: 8, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	// stride 2 on the tap-major path (stride phases): a ResNet stage's
	// entry, and strides, padding and dilation differing between the axes
	{N: 2, C: 6, H: 9, W: 10, O: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 3, C: 2, H: 7, W: 11, O: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadH: 0, PadW: 2, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 4, H: 8, W: 9, O: 16, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 0, DilH: 2, DilW: 1, Groups: 1},
	// large enough for the Winograd weight gradient
	{N: 4, C: 32, H: 16, W: 16, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	// and wide enough for F(4×4, 3×3), its weight gradient too
	{N: 8, C: 16, H: 16, W: 32, O: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
}

// TestMatMulTiles checks products larger than one tile and one packed
// panel, with edge tiles, every transpose combination, alpha 1 (the packed
// micro-kernel path where the CPU has one) and 2 (BLAS), and thread counts
// 1 to 3, against a float64 reference; and that the result does not depend
// on the thread count.
func TestMatMulTiles(t *testing.T) {
	for _, impl := range []blas.Float32{gonum.Implementation{}, blasOnly{}} {
		t.Run(fmt.Sprintf("%T", impl), func(t *testing.T) { testMatMulTiles(t, impl) })
	}
}

func testMatMulTiles(t *testing.T, impl blas.Float32) {
	r := rand.New(rand.NewSource(2))
	sizes := [][3]int{{1, 1, 1}, {3, 17, 5}, {6, 16, 1}, {65, 193, 7}, {129, 200, 33}, {7, 400, 3}, {13, 35, 300}, {64, 120, 400}, {2, 3, 0}}
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			a, b := randSlice(r, m*k), randSlice(r, k*n)
			c0 := randSlice(r, m*n)
			for _, alpha := range []float32{1, 2} {
				for _, beta := range []float32{0, 1, 0.5} {
					want := make([]float64, m*n)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							s := float64(beta) * float64(c0[i*n+j])
							for l := 0; l < k; l++ {
								av, bv := a[i*k+l], b[l*n+j]
								if tr[0] {
									av = a[l*m+i]
								}
								if tr[1] {
									bv = b[j*k+l]
								}
								s += float64(alpha) * float64(av) * float64(bv)
							}
							want[i*n+j] = s
						}
					}
					var first []float32
					for _, threads := range []int{1, 2, 3} {
						c := append([]float32(nil), c0...)
						MatMul(impl, tr[0], tr[1], m, n, k, alpha, a, b, beta, c, threads)
						what := fmt.Sprintf("%dx%dx%d trans=%v alpha=%g beta=%g threads=%d", m, n, k, tr, alpha, beta, threads)
						assertClose(t, what, c, want)
						if first == nil {
							first = c
						} else if !bitsEqual(c, first) {
							t.Fatalf("%s: result differs from 1 thread", what)
						}
						c = append(c[:0], c0...)
						matMulSerial(impl, tr[0], tr[1], m, n, k, alpha, a, b, beta, c)
						if !bitsEqual(c, first) {
							t.Fatalf("%s: serial result differs from MatMul", what)
						}
					}
				}
			}
		}
	}
}

func bitsEqual(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// TestMicroKernel holds the micro-kernel (where the CPU has one) to its
// definition on small integers, where float32 sums are exact.
func TestMicroKernel(t *testing.T) {
	if microKernel == nil {
		t.Skip("no micro-kernel on this CPU or build")
	}
	r := rand.New(rand.NewSource(3))
	for _, k := range []int{0, 1, 2, 7, 256} {
		a, b := make([]float32, max(k, 1)*mr), make([]float32, max(k, 1)*nr)
		for i := range a {
			a[i] = float32(r.Intn(17) - 8)
		}
		for i := range b {
			b[i] = float32(r.Intn(17) - 8)
		}
		const ldc = nr + 3 // rows apart by more than a tile: the gap must stay untouched
		c := make([]float32, mr*ldc)
		for i := range c {
			c[i] = float32(i)
		}
		microKernel(k, &a[0], &b[0], &c[0], ldc)
		for i := 0; i < mr; i++ {
			for j := 0; j < ldc; j++ {
				want := float32(i*ldc + j)
				if j < nr {
					for l := 0; l < k; l++ {
						want += a[l*mr+i] * b[l*nr+j]
					}
				}
				if c[i*ldc+j] != want {
					t.Fatalf("k=%d: c[%d][%d] = %g, want %g", k, i, j, c[i*ldc+j], want)
				}
			}
		}
	}
}

func TestConvRejectsBadInput(t *testing.T) {
	g := geoms[1]
	impl := gonum.Implementation{}
	if err := Conv2d(impl, make([]float32, g.YLen()), make([]float32, g.XLen()-1), make([]float32, g.WLen()), g, 1, nil); err == nil {
		t.Error("short x accepted")
	}
	bad := g
	bad.Groups = 2 // does not divide C = 3
	if err := Conv2d(impl, make([]float32, 1), make([]float32, 1), make([]float32, 1), bad, 1, nil); err == nil {
		t.Error("groups not dividing channels accepted")
	}
}

func TestMatMulTransposeFlags(t *testing.T) {
	// a = [[1 2 3] [4 5 6]] (2×3), b = [[1 0] [0 1] [1 1]] (3×2).
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	impl := gonum.Implementation{}
	c := make([]float32, 4)
	MatMul(impl, false, false, 2, 2, 3, 1, a, b, 0, c, 1)
	want := []float64{4, 5, 10, 11}
	assertClose(t, "a·b", c, want)
	// aᵀ stored as 3×2, bᵀ stored as 2×3: same product via flags.
	at := []float32{1, 4, 2, 5, 3, 6}
	bt := []float32{1, 0, 1, 0, 1, 1}
	MatMul(impl, true, true, 2, 2, 3, 1, at, bt, 0, c, 1)
	assertClose(t, "aᵀᵀ·bᵀᵀ", c, want)
}

// TestDotKernel holds the dot kernel (where the CPU has one) to its
// definition on small integers, where float32 sums are exact.
func TestDotKernel(t *testing.T) {
	if dotKernel == nil {
		t.Skip("no dot kernel on this CPU or build")
	}
	r := rand.New(rand.NewSource(4))
	for _, k := range []int{0, 8, 16, 104, 784} {
		const lda, ldb = 800, 801 // rows further apart than k
		a, b := make([]float32, dr*lda), make([]float32, dc*ldb)
		for i := range a {
			a[i] = float32(r.Intn(17) - 8)
		}
		for i := range b {
			b[i] = float32(r.Intn(17) - 8)
		}
		c := make([]float32, dr*dc+1)
		c[dr*dc] = 42 // must stay untouched
		dotKernel(k, &a[0], lda, &b[0], ldb, &c[0])
		for i := 0; i < dr; i++ {
			for j := 0; j < dc; j++ {
				var want float32
				for l := 0; l < k; l++ {
					want += a[i*lda+l] * b[j*ldb+l]
				}
				if c[i*dc+j] != want {
					t.Fatalf("k=%d: c[%d][%d] = %g, want %g", k, i, j, c[i*dc+j], want)
				}
			}
		}
		if c[dr*dc] != 42 {
			t.Fatal("dot kernel wrote past its tile")
		}
	}
}

// TestVectorOps holds axpy and dot (vector versions where the CPU has
// them) to their definitions on small integers, where float32 arithmetic
// is exact, for every length up to past two vector blocks.
// TestDotPtrsKernel checks the gathered dot kernel exactly on small
// integers, with rows at unrelated places (one repeated, as at tile edges).
func TestDotPtrsKernel(t *testing.T) {
	if dotPtrsKernel == nil {
		t.Skip("no gathered dot kernel on this CPU or build")
	}
	r := rand.New(rand.NewSource(5))
	for _, k := range []int{0, 8, 16, 144, 896} {
		buf := make([]float32, 9*k+100)
		for i := range buf {
			buf[i] = float32(r.Intn(17) - 8)
		}
		var rows [dr + dc]*float32
		starts := [dr + dc]int{5 * k, 3, 7*k + 50, 2 * k, 11, 2 * k, 8*k + 99}
		for i, s := range starts {
			rows[i] = &buf[s]
		}
		c := make([]float32, dr*dc+1)
		c[dr*dc] = 42 // must stay untouched
		dotPtrsKernel(k, &rows, &c[0])
		for i := 0; i < dr; i++ {
			for j := 0; j < dc; j++ {
				var want float32
				for l := 0; l < k; l++ {
					want += buf[starts[i]+l] * buf[starts[dr+j]+l]
				}
				if c[i*dc+j] != want {
					t.Fatalf("k=%d: c[%d][%d] = %g, want %g", k, i, j, c[i*dc+j], want)
				}
			}
		}
		if c[dr*dc] != 42 {
			t.Fatal("gathered dot kernel wrote past its tile")
		}
	}
}

// TestMatMulBLASEqualsOneSgemm checks the promise Float-mode layers rely
// on: tiled and spread over threads, the BLAS path gives exactly what one
// Sgemm call gives.
func TestMatMulBLASEqualsOneSgemm(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	impl := gonum.Implementation{}
	for _, sz := range [][3]int{{64, 120, 400}, {130, 200, 70}, {5, 390, 9}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}} {
			a, b := randSlice(r, m*k), randSlice(r, k*n)
			ta, lda, tb, ldb := blas.NoTrans, k, blas.NoTrans, n
			if tr[0] {
				ta, lda = blas.Trans, m
			}
			if tr[1] {
				tb, ldb = blas.Trans, k
			}
			want := make([]float32, m*n)
			impl.Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, want, n)
			for _, threads := range []int{1, 2, 3} {
				got := randSlice(r, m*n)
				MatMulBLAS(impl, tr[0], tr[1], m, n, k, 1, a, b, 0, got, threads)
				if !bitsEqual(got, want) {
					t.Fatalf("%dx%dx%d trans=%v threads=%d: differs from one Sgemm call", m, n, k, tr, threads)
				}
			}
		}
	}
}

// TestCol2imMatchesLoop checks Col2im bit for bit against the plain loop
// over every column entry (each input element receives its entries in the
// same order, row by row of the column matrix), on every test geometry
// with values that make rounding visible.
func TestCol2imMatchesLoop(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i, g := range geoms {
		cg := g.InPerGroup()
		oh, ow := g.OutH(), g.OutW()
		col := randSlice(r, cg*g.KH*g.KW*oh*ow)
		for j := range col {
			col[j] *= float32(int(1) << r.Intn(20))
		}
		want := make([]float32, cg*g.H*g.W)
		for row := 0; row < cg*g.KH*g.KW; row++ {
			c, ky, kx := row/(g.KH*g.KW), row/g.KW%g.KH, row%g.KW
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					ix := ox*g.StrideW - g.PadW + kx*g.DilW
					if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
						want[(c*g.H+iy)*g.W+ix] += col[(row*oh+oy)*ow+ox]
					}
				}
			}
		}
		got := randSlice(r, len(want)) // garbage that must be overwritten
		Col2im(got, col, cg, g)
		if !bitsEqual(got, want) {
			t.Fatalf("geom%d: Col2im differs from the loop", i)
		}
	}
}

// TestConvGradsIgnoreStaleScratch runs the kernels on a Workspace whose
// worker buffers hold NaN beyond any length a call asks for, as memory left
// by an earlier call on non-finite data (or whatever lies after a fresh
// buffer) would: a kernel that reads past the part of its scratch it wrote
// turns that NaN into NaN gradients. (The wide weight gradient once read its
// last tap's row (KW-1)·DilW floats past its padded planes; the product
// with the zero tail of the output gradient row is NaN for a NaN there.)
func TestConvGradsIgnoreStaleScratch(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	nan := float32(math.NaN())
	poisoned := func() []float32 {
		s := make([]float32, 1<<16)
		for i := range s {
			s[i] = nan
		}
		return s[:0]
	}
	for i, g := range geoms {
		x, w, dy := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
		wantDX, wantDW := naiveGrads(x, w, dy, g)
		for _, threads := range []int{1, 3} {
			ws := new(Workspace)
			ws.begin(4)
			for k := range ws.workers {
				b := &ws.workers[k]
				b.col, b.pack, b.acc, b.tiles = poisoned(), poisoned(), poisoned(), poisoned()
			}
			ws.shared, ws.partials = poisoned(), poisoned()
			y, dx, dw := randSlice(r, g.YLen()), randSlice(r, g.XLen()), randSlice(r, g.WLen())
			if err := Conv2d(gonum.Implementation{}, y, x, w, g, threads, ws); err != nil {
				t.Fatal(err)
			}
			assertClose(t, fmt.Sprintf("geom%d/threads%d y", i, threads), y, naiveConv(x, w, g))
			if err := Conv2dBackwardWeight(gonum.Implementation{}, dw, dy, x, g, threads, ws); err != nil {
				t.Fatal(err)
			}
			assertClose(t, fmt.Sprintf("geom%d/threads%d dw", i, threads), dw, wantDW)
			if err := Conv2dBackwardData(gonum.Implementation{}, dx, dy, w, g, threads, ws); err != nil {
				t.Fatal(err)
			}
			assertClose(t, fmt.Sprintf("geom%d/threads%d dx", i, threads), dx, wantDX)
		}
	}
}

// TestTapKernel checks the tap-major kernel exactly on small integers:
// six tap rows at unrelated places (one repeated, as at tile edges), rows
// and images skipping along them, sums added to what C holds.
func TestTapKernel(t *testing.T) {
	if tapKernel == nil {
		t.Skip("no tap kernel on this CPU or build")
	}
	r := rand.New(rand.NewSource(6))
	for _, sz := range [][3]int{{1, 1, 1}, {2, 3, 5}, {3, 10, 10}} {
		images, rows, cols := sz[0], sz[1], sz[2]
		const rowSkip, imgSkip = 3, 7
		span := images*(rows*(cols+rowSkip)+imgSkip) + 1
		a := make([]float32, 6*span+50)
		for i := range a {
			a[i] = float32(r.Intn(17) - 8)
		}
		steps := images * rows * cols
		b := make([]float32, steps*nr)
		for i := range b {
			b[i] = float32(r.Intn(17) - 8)
		}
		const ldc = nr + 3
		c := make([]float32, mr*ldc)
		for i := range c {
			c[i] = float32(r.Intn(9) - 4)
		}
		want := slices.Clone(c)
		starts := [mr]int{4 * span, 1, 2*span + 20, 5 * span, 1, 3 * span}
		var rowPtrs [mr]*float32
		for i, s := range starts {
			rowPtrs[i] = &a[s]
		}
		tapKernel(&rowPtrs, &b[0], &c[0], ldc, images, rows, cols, rowSkip, imgSkip)
		for i := 0; i < mr; i++ {
			for j := 0; j < nr; j++ {
				idx, l := starts[i], 0
				for n := 0; n < images; n++ {
					for y := 0; y < rows; y++ {
						for x := 0; x < cols; x++ {
							want[i*ldc+j] += a[idx] * b[l*nr+j]
							idx++
							l++
						}
						idx += rowSkip
					}
					idx += imgSkip
				}
			}
		}
		for i := range c {
			if c[i] != want[i] {
				t.Fatalf("%v: c[%d][%d] = %g, want %g", sz, i/ldc, i%ldc, c[i], want[i])
			}
		}
	}
}

// TestWidenRows checks the row widener (vector version where the CPU has
// one) against its definition for row lengths around the vector width,
// over stale non-zero data.
func TestWidenRows(t *testing.T) {
	for _, rows := range []int{1, 3} {
		for cols := 1; cols <= 19; cols++ {
			for _, pad := range []int{0, 1, 4, 9} {
				src := make([]float32, rows*cols)
				for i := range src {
					src[i] = float32(i + 1)
				}
				dst := make([]float32, rows*(cols+pad)+1)
				for i := range dst {
					dst[i] = -7
				}
				widenRows(dst[:rows*(cols+pad)], src, rows, cols, pad)
				for y := 0; y < rows; y++ {
					for x := 0; x < cols+pad; x++ {
						want := float32(0)
						if x < cols {
							want = src[y*cols+x]
						}
						if got := dst[y*(cols+pad)+x]; got != want {
							t.Fatalf("rows=%d cols=%d pad=%d: dst[%d][%d] = %g, want %g", rows, cols, pad, y, x, got, want)
						}
					}
				}
				if dst[len(dst)-1] != -7 {
					t.Fatalf("rows=%d cols=%d pad=%d: wrote past the end", rows, cols, pad)
				}
			}
		}
	}
}

// TestTransposePanel checks the panel transpose (vector version where the
// CPU has one, then the portable one) against its definition for every
// output count up to a panel and position counts around the vector and
// block sizes, over stale data, with NaN payloads moved bit for bit.
func TestTransposePanel(t *testing.T) {
	for _, on := range []bool{true, false} {
		prev := asm.Set(on)
		for outs := 0; outs <= nr; outs++ {
			for _, spatial := range []int{1, 7, 8, 9, 16, 63, 64, 65, 72, 200} {
				src := make([]float32, outs*spatial)
				for i := range src {
					src[i] = math.Float32frombits(0x7fc00000 | uint32(i)) // distinct NaNs
				}
				dst := make([]float32, spatial*nr+1)
				for i := range dst {
					dst[i] = -7
				}
				transposePanel(dst[:spatial*nr], src, outs, spatial)
				for p := 0; p < spatial; p++ {
					for j := 0; j < nr; j++ {
						want := uint32(0)
						if j < outs {
							want = math.Float32bits(src[j*spatial+p])
						}
						if got := math.Float32bits(dst[p*nr+j]); got != want {
							t.Fatalf("asm %v, outs=%d spatial=%d: dst[%d][%d] = %#x, want %#x", on, outs, spatial, p, j, got, want)
						}
					}
				}
				if dst[len(dst)-1] != -7 {
					t.Fatalf("asm %v, outs=%d spatial=%d: wrote past the end", on, outs, spatial)
				}
			}
		}
		asm.Set(prev)
	}
}

// TestPlaceRows checks the zero-padded placement of rows (vector row
// copies where the CPU has them) against its definition over stale data,
// for margins and gaps of zero to a few floats.
func TestPlaceRows(t *testing.T) {
	for _, rows := range []int{0, 1, 2, 5} {
		for _, w := range []int{1, 3, 8, 17} {
			for _, top := range []int{0, 1, 2} {
				for _, left := range []int{0, 1, 3} {
					for _, gap := range []int{0, 1, 2} {
						stride := w + gap
						n := (top+rows+1)*stride + left + 3
						src := make([]float32, rows*w)
						for i := range src {
							src[i] = float32(i + 1)
						}
						dst := make([]float32, n)
						for i := range dst {
							dst[i] = -7
						}
						placeRows(dst, src, rows, w, top, left, stride)
						for i, got := range dst {
							want := float32(0)
							if p := i - top*stride - left; p >= 0 && p/stride < rows && p%stride < w {
								want = src[p/stride*w+p%stride]
							}
							if got != want {
								t.Fatalf("rows=%d w=%d top=%d left=%d stride=%d: dst[%d] = %g, want %g", rows, w, top, left, stride, i, got, want)
							}
						}
					}
				}
			}
		}
	}
}
