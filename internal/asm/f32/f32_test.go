package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/goapprox/goapprox/internal/asm"
)

// Every routine is checked against its pure-Go twin with the assembly
// switched on (where the CPU has it) and off, on random lengths, odd sizes
// and unaligned starts, with guard elements around every output, and on
// edge values: NaN, ±Inf, -0, the largest and smallest floats.

// forEachSetting runs f with the assembly switched on and off.
func forEachSetting(t *testing.T, f func(t *testing.T)) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("asm=%v", on), func(t *testing.T) {
			defer asm.Set(asm.Set(on))
			f(t)
		})
	}
}

// lengths are the sizes checked: every length around the vector widths,
// then random ones.
func lengths(r *rand.Rand) []int {
	var ns []int
	for n := 0; n <= 40; n++ {
		ns = append(ns, n)
	}
	for range 12 {
		ns = append(ns, 41+r.IntN(1000))
	}
	return ns
}

var edgeValues = []float32{
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
	float32(math.Copysign(0, -1)), 0, math.MaxFloat32, -math.MaxFloat32,
	math.SmallestNonzeroFloat32, 1, -1, 6, 0.5,
}

// values returns n floats at an unaligned start of a larger slice:
// random ones, with edge values mixed in if edges.
func values(r *rand.Rand, n int, edges bool) []float32 {
	off := r.IntN(8)
	buf := make([]float32, off+n+3)
	for i := range buf {
		buf[i] = float32(r.NormFloat64() * 4)
		if edges && r.IntN(4) == 0 {
			buf[i] = edgeValues[r.IntN(len(edgeValues))]
		}
	}
	return buf[off : off+n]
}

// output is a slice of n elements with guard elements on both sides, all
// filled with a marker a routine must overwrite or leave alone.
type output struct {
	buf  []float32
	off  int
	n    int
	mark float32
}

func newOutput(r *rand.Rand, n int) *output {
	o := &output{off: 1 + r.IntN(8), n: n, mark: -12345.5}
	o.buf = make([]float32, o.off+n+9)
	for i := range o.buf {
		o.buf[i] = o.mark
	}
	return o
}

func (o *output) s() []float32 { return o.buf[o.off : o.off+o.n] }

func (o *output) clone() *output {
	c := *o
	c.buf = slices.Clone(o.buf)
	return &c
}

// checkGuards fails if anything outside the output changed.
func (o *output) checkGuards(t *testing.T, name string) {
	t.Helper()
	for i, v := range o.buf {
		if (i < o.off || i >= o.off+o.n) && v != o.mark {
			t.Fatalf("%s: wrote outside its output at %d", name, i-o.off)
		}
	}
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestElementwiseMatchTwins checks the element-wise routines bit for bit
// against their twins.
func TestElementwiseMatchTwins(t *testing.T) {
	type unary struct {
		name      string
		run, twin func(y, x, dy []float32)
	}
	routines := []unary{
		{"ReLU", func(y, x, _ []float32) { ReLU(y, x) }, func(y, x, _ []float32) { reluGo(y, x) }},
		{"ReLUGrad", ReLUGrad, reluGradGo},
		{"ReLU6", func(y, x, _ []float32) { ReLU6(y, x) }, func(y, x, _ []float32) { relu6Go(y, x) }},
		{"ReLU6Grad", ReLU6Grad, relu6GradGo},
		{"Add", func(y, a, b []float32) { AddAct(y, a, b, 0) }, func(y, a, b []float32) { addActGo(y, a, b, 0) }},
		{"AddReLU", func(y, a, b []float32) { AddAct(y, a, b, inf32) }, func(y, a, b []float32) { addActGo(y, a, b, inf32) }},
		{"AddReLU6", func(y, a, b []float32) { AddAct(y, a, b, 6) }, func(y, a, b []float32) { addActGo(y, a, b, 6) }},
		{"ScaleShift", func(y, x, _ []float32) { ScaleShift(y, x, 1.3, -0.7) },
			func(y, x, _ []float32) { scaleShiftGo(y, x, 1.3, -0.7) }},
		{"BNGradX", func(y, x, dy []float32) { BNGradX(y, x, dy, 0.3, 1.7, 0.9, 0.11, -0.23) },
			func(y, x, dy []float32) { bnGradXGo(y, x, dy, 0.3, 1.7, 0.9, 0.11, -0.23) }},
	}
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, f := range routines {
			for _, n := range lengths(r) {
				x, dy := values(r, n, true), values(r, n, true)
				got := newOutput(r, n)
				want := got.clone()
				f.run(got.s(), x, dy)
				f.twin(want.s(), x, dy)
				got.checkGuards(t, f.name)
				if i := sameBits(got.s(), want.s()); i >= 0 {
					t.Fatalf("%s n=%d: element %d is %g, twin %g (x=%g)", f.name, n, i, got.s()[i], want.s()[i], x[i])
				}
			}
		}
	})
}

// TestLaneSumsMatchTwins checks the lane sums bit for bit against their
// twins, on finite data (NaN would compare unequal) and on data with Inf
// and NaN, where both must give the same class of result per lane.
func TestLaneSumsMatchTwins(t *testing.T) {
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, edges := range []bool{false, true} {
			for _, n := range lengths(r) {
				x, dy := values(r, n, edges), values(r, n, edges)
				k := n &^ (Lanes - 1)
				var p, q [4][Lanes]float64
				for i := range p {
					for j := range p[i] {
						p[i][j] = float64(j) - 7.5 // sums add to what is there
						q[i][j] = p[i][j]
					}
				}
				if tail := SumLanes(x, &p[0]); len(tail) != n-k {
					t.Fatalf("SumLanes n=%d: tail of %d, want %d", n, len(tail), n-k)
				}
				sumLanesGo(x[:k], &q[0])
				if tail := SqDevLanes(x, 0.3, &p[1]); len(tail) != n-k {
					t.Fatalf("SqDevLanes n=%d: tail of %d, want %d", n, len(tail), n-k)
				}
				sqDevLanesGo(x[:k], 0.3, &q[1])
				if got := DyXhatLanes(x, dy, 0.3, 1.7, &p[2], &p[3]); got != k {
					t.Fatalf("DyXhatLanes n=%d: took %d, want %d", n, got, k)
				}
				dyXhatLanesGo(x[:k], dy[:k], 0.3, 1.7, &q[2], &q[3])
				for i := range p {
					for j := range p[i] {
						a, b := p[i][j], q[i][j]
						if math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
							t.Fatalf("lane sum %d n=%d edges=%v: lane %d is %g, twin %g", i, n, edges, j, a, b)
						}
					}
				}
			}
		}
	})
}

// TestFoldLanes checks the fold order on values where it shows: the
// lanes' order of addition decides which of the large values absorb the
// small ones.
func TestFoldLanes(t *testing.T) {
	var p [Lanes]float64
	for i := range p {
		p[i] = 1
	}
	p[0], p[4] = 1<<53, -(1 << 53)
	// q[0] = (2^53 + -2^53) + (1 + 1) = 2; q[1..3] = 4; (2+4)+(4+4) = 14.
	if got := FoldLanes(&p); got != 14 {
		t.Fatalf("FoldLanes = %g, want 14", got)
	}
}

// TestAddRows checks AddRows against the loop over the block, bit for bit,
// on widths around the vector length, with strides wider than the rows
// and nothing written outside the block.
func TestAddRows(t *testing.T) {
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, cols := range append(lengths(r)[:34], 63, 129) {
			rows := 1 + r.IntN(4)
			ds, ss := cols+r.IntN(6), cols+r.IntN(6)
			src := values(r, (rows-1)*ss+cols, true)
			dst := values(r, (rows-1)*ds+cols+5, true)
			want := slices.Clone(dst)
			for y := 0; y < rows; y++ {
				for x := 0; x < cols; x++ {
					want[y*ds+x] += src[y*ss+x]
				}
			}
			AddRows(dst, src, rows, cols, ds, ss)
			if i := sameBits(dst, want); i >= 0 && !(isNaN(dst[i]) && isNaN(want[i])) {
				t.Fatalf("cols=%d rows=%d: element %d is %g, want %g", cols, rows, i, dst[i], want[i])
			}
		}
	})
}

func isNaN(v float32) bool { return v != v }

// TestAllFinite checks the finiteness test at every position of slices
// around the vector length, with each special value, on finite edge
// values (largest, smallest subnormal, -0), at unaligned starts.
func TestAllFinite(t *testing.T) {
	finite := []float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1)), 1}
	special := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	forEachSetting(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			buf := make([]float32, n+3)
			x := buf[n%3 : n%3+n]
			for i := range x {
				x[i] = finite[i%len(finite)]
			}
			buf[0], buf[len(buf)-1] = special[2], special[0] // outside x
			if n%3 > 0 && !AllFinite(x) {
				t.Fatalf("n=%d: finite values reported as non-finite", n)
			}
			for i := range x {
				for _, s := range special {
					saved := x[i]
					x[i] = s
					if AllFinite(x) || allFiniteGo(x) {
						t.Fatalf("n=%d: %g at %d not found", n, s, i)
					}
					x[i] = saved
				}
			}
		}
	})
}

// TestAxpyDotExact checks Axpy and Dot where every rounding is exact
// (small integers), so the fused assembly and the twin must both give the
// exact result, and that Axpy writes nothing past len(y).
func TestAxpyDotExact(t *testing.T) {
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range lengths(r) {
			x, y := make([]float32, n+1), make([]float32, n+1)
			for i := range x {
				x[i], y[i] = float32(r.IntN(9)-4), float32(r.IntN(9)-4)
			}
			guard := y[n]
			want := make([]float32, n)
			var wantDot float32
			for i := 0; i < n; i++ {
				want[i] = y[i] + 3*x[i]
				wantDot += x[i] * y[i]
			}
			if got := Dot(x[:n], y); got != wantDot {
				t.Fatalf("n=%d: Dot = %g, want %g", n, got, wantDot)
			}
			Axpy(3, x, y[:n])
			for i := 0; i < n; i++ {
				if y[i] != want[i] {
					t.Fatalf("n=%d: Axpy y[%d] = %g, want %g", n, i, y[i], want[i])
				}
			}
			if y[n] != guard {
				t.Fatalf("n=%d: Axpy wrote past the end", n)
			}
		}
	})
}

// TestAxpyDotMatchTwins checks Axpy and Dot against their twins on random
// data: the assembly fuses each multiply-add and Dot keeps eight partial
// sums, so they agree within the rounding bound of the twin's own
// operations, and exactly in which elements are NaN or infinite.
func TestAxpyDotMatchTwins(t *testing.T) {
	const eps = 1.0 / (1 << 23)
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, edges := range []bool{false, true} {
			for _, n := range lengths(r) {
				x, y0 := values(r, n, edges), values(r, n, edges)
				// Products of the largest floats overflow in the twin but
				// may not in a fused operation: keep x small.
				for i, v := range x {
					if !math.IsInf(float64(v), 0) && (v > 1e30 || v < -1e30) {
						x[i] = 1
					}
				}
				a := float32(r.NormFloat64())
				got := newOutput(r, n)
				copy(got.s(), y0)
				want := got.clone()
				Axpy(a, x, got.s())
				axpyGo(a, x, want.s())
				got.checkGuards(t, "Axpy")
				for i := range n {
					g, w := got.s()[i], want.s()[i]
					bound := eps * (math.Abs(float64(a)*float64(x[i])) + math.Abs(float64(y0[i])))
					if !sameClass(g, w) || !isInf(w) && !isNaN(w) && math.Abs(float64(g-w)) > bound {
						t.Fatalf("Axpy n=%d: element %d is %g, twin %g (a=%g x=%g y=%g)", n, i, g, w, a, x[i], y0[i])
					}
				}
				g, w := Dot(x, y0), dotGo(x, y0)
				var abs float64
				for i := range n {
					abs += math.Abs(float64(x[i]) * float64(y0[i]))
				}
				if !edges && math.Abs(float64(g-w)) > 2*float64(n)*eps*abs {
					t.Fatalf("Dot n=%d: %g, twin %g (bound %g)", n, g, w, 2*float64(n)*eps*abs)
				}
				if edges && isNaN(g) != isNaN(w) {
					t.Fatalf("Dot n=%d: %g, twin %g: one is NaN", n, g, w)
				}
			}
		}
	})
}

func isInf(v float32) bool { return math.IsInf(float64(v), 0) }

// sameClass reports whether a and b are both NaN, the same infinity, or
// both finite.
func sameClass(a, b float32) bool {
	switch {
	case isNaN(a) || isNaN(b):
		return isNaN(a) && isNaN(b)
	case isInf(a) || isInf(b):
		return a == b
	}
	return true
}

// TestQuantizeMatchesTwin checks Quantize bit for bit against its twin and
// against hand-computed codes, for every combination of requested
// outputs, signed and unsigned ranges, and inputs with NaN, ±Inf, -0,
// halfway cases and values outside the range; and its finite report
// against math.IsNaN and math.IsInf, with and without such inputs.
func TestQuantizeMatchesTwin(t *testing.T) {
	type codeRange struct {
		inv, scale, lo, hi float32
		zp                 int32
	}
	ranges := []codeRange{
		{inv: 10, scale: 0.1, lo: -128, hi: 127, zp: 0},    // signed
		{inv: 4, scale: 0.25, lo: -3, hi: 252, zp: 3},      // unsigned, zero point 3
		{inv: 1, scale: 1, lo: 0, hi: 255, zp: 0},          // unsigned, halfway cases at .5
		{inv: 0.5, scale: 2, lo: -127, hi: 127, zp: 0},     // narrow signed
		{inv: 3, scale: 1.0 / 3, lo: -10, hi: 245, zp: 10}, // inexact scale
	}
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for ri, q := range ranges {
			for k, n := range lengths(r) {
				src := values(r, n, k%2 == 0)
				for i := range src {
					if r.IntN(5) == 0 {
						src[i] = float32(r.IntN(600)-300) / 2 / q.inv // halfway and outside
					}
				}
				wantFinite := true
				for _, v := range src {
					wantFinite = wantFinite && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
				}
				for outs := 1; outs < 8; outs++ {
					gb, wb := bytesOut(outs&1 != 0, n), bytesOut(outs&1 != 0, n)
					gf, wf := floatsOut(outs&2 != 0, n), floatsOut(outs&2 != 0, n)
					gm, wm := boolsOut(outs&4 != 0, n), boolsOut(outs&4 != 0, n)
					finite := Quantize(src, q.inv, q.scale, q.lo, q.hi, q.zp, gb, gf, gm)
					twinFinite := quantizeGo(src, q.inv, q.scale, q.lo, q.hi, q.zp, wb, wf, wm)
					if !slices.Equal(gb, wb) || !slices.Equal(gm, wm) || (gf != nil && sameBits(gf, wf) >= 0) {
						t.Fatalf("range %d n=%d outputs %03b: differs from the twin", ri, n, outs)
					}
					if finite != wantFinite || twinFinite != wantFinite {
						t.Fatalf("range %d n=%d: finite %v, twin %v, want %v", ri, n, finite, twinFinite, wantFinite)
					}
					if wb != nil {
						checkCodes(t, src, wb, wm, q.inv, q.lo, q.hi, q.zp)
					}
				}
			}
		}
	})
}

// checkCodes checks the twin's codes and masks against a direct
// computation from the definition.
func checkCodes(t *testing.T, src []float32, codes []byte, mask []bool, inv, lo, hi float32, zp int32) {
	t.Helper()
	for i, v := range src {
		f := math.RoundToEven(float64(v * inv))
		var c float64
		in := !math.IsNaN(f) && f >= float64(lo) && f <= float64(hi)
		switch {
		case math.IsNaN(f):
			c = 0
		case f < float64(lo):
			c = float64(lo)
		case f > float64(hi):
			c = float64(hi)
		default:
			c = f
		}
		if codes[i] != byte(int32(c)+zp) {
			t.Fatalf("%g: code %d, want %d", v, codes[i], byte(int32(c)+zp))
		}
		if mask != nil && mask[i] != in {
			t.Fatalf("%g: in range %v, want %v", v, mask[i], in)
		}
	}
}

func bytesOut(want bool, n int) []byte {
	if !want {
		return nil
	}
	return make([]byte, n)
}

func floatsOut(want bool, n int) []float32 {
	if !want {
		return nil
	}
	return make([]float32, n)
}

func boolsOut(want bool, n int) []bool {
	if !want {
		return nil
	}
	return make([]bool, n)
}

// TestRescaleMatchesTwin checks Rescale bit for bit against its twin and
// against the definition computed in int64 and float64, with corrections
// at and beyond the range the assembly takes.
func TestRescaleMatchesTwin(t *testing.T) {
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, corr := range []int64{0, -37, 1 << 40, 1<<52 - 1, 1 << 52, -(1 << 52), 1 << 60} {
			for _, scale := range []float64{1e-3, -0.37, math.Inf(1), 0} {
				for _, n := range lengths(r) {
					acc := make([]int32, n+r.IntN(3))
					for i := range acc {
						acc[i] = int32(r.Uint32())
					}
					got := newOutput(r, n)
					want := got.clone()
					Rescale(got.s(), acc, corr, scale)
					rescaleGo(want.s(), acc, corr, scale)
					got.checkGuards(t, "Rescale")
					if i := sameBits(got.s(), want.s()); i >= 0 && !(isNaN(got.s()[i]) && isNaN(want.s()[i])) {
						t.Fatalf("corr=%d scale=%g n=%d: element %d is %g, twin %g", corr, scale, n, i, got.s()[i], want.s()[i])
					}
					for i := range n {
						def := float32(float64(int64(acc[i])+corr) * scale)
						if math.Float32bits(def) != math.Float32bits(want.s()[i]) && !(isNaN(def) && isNaN(want.s()[i])) {
							t.Fatalf("corr=%d scale=%g: twin gives %g for %d, want %g", corr, scale, want.s()[i], acc[i], def)
						}
					}
				}
			}
		}
	})
}

// TestActivationEdges checks hand-computed activation values and
// gradients on the edge values, whatever kernel runs.
func TestActivationEdges(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	x := []float32{nan, inf, -inf, negZero, 0, -1, 0.5, 6, 7, 3, nan, -2, 1, 5.5, 6.5, 2, 4}
	dy := make([]float32, len(x))
	for i := range dy {
		dy[i] = float32(i + 1)
	}
	wantReLU := []float32{nan, inf, 0, 0, 0, 0, 0.5, 6, 7, 3, nan, 0, 1, 5.5, 6.5, 2, 4}
	wantReLU6 := []float32{nan, 6, 0, 0, 0, 0, 0.5, 6, 6, 3, nan, 0, 1, 5.5, 6, 2, 4}
	wantGrad := []float32{1, 2, 0, 0, 0, 0, 7, 8, 9, 10, 11, 0, 13, 14, 15, 16, 17}
	wantGrad6 := []float32{0, 0, 0, 0, 0, 0, 7, 0, 0, 10, 0, 0, 13, 14, 0, 16, 17}
	forEachSetting(t, func(t *testing.T) {
		y := make([]float32, len(x))
		check := func(name string, want []float32) {
			t.Helper()
			for i := range want {
				if math.Float32bits(y[i]) != math.Float32bits(want[i]) && !(isNaN(y[i]) && isNaN(want[i])) {
					t.Fatalf("%s(%g) = %g, want %g", name, x[i], y[i], want[i])
				}
			}
		}
		ReLU(y, x)
		check("ReLU", wantReLU)
		ReLU6(y, x)
		check("ReLU6", wantReLU6)
		ReLUGrad(y, x, dy)
		check("ReLUGrad", wantGrad)
		ReLU6Grad(y, x, dy)
		check("ReLU6Grad", wantGrad6)
		// The sum with zeros is x itself (x + +0 keeps -0 as -0 only
		// under round-down, so -0 + +0 = +0 here), so the fused
		// activations must give ReLU's and ReLU6's results.
		zeros := make([]float32, len(x))
		AddAct(y, x, zeros, inf32)
		check("AddAct(ReLU)", wantReLU)
		AddAct(y, x, zeros, 6)
		check("AddAct(ReLU6)", wantReLU6)
		// A sum that leaves the range only once added, and Inf - Inf.
		a := []float32{1, -1, 4, inf, 5, -3, 2, 0.25, 3}
		b := []float32{-2, 3, 4, -inf, -5, 1, 2, 0.5, 4}
		y = y[:len(a)]
		AddAct(y, a, b, inf32)
		check("AddAct(ReLU) sums", []float32{0, 2, 8, nan, 0, 0, 4, 0.75, 7})
		AddAct(y, a, b, 6)
		check("AddAct(ReLU6) sums", []float32{0, 2, 6, nan, 0, 0, 4, 0.75, 6})
		AddAct(y, a, b, 0)
		check("AddAct sums", []float32{-1, 2, 8, nan, 0, -2, 4, 0.75, 7})
		y = y[:cap(y)]
	})
}

var inf32 = float32(math.Inf(1))

// TestFiniteRange checks FiniteRange against its definition (a fold with
// Go's min and max over the finite elements, which puts -0 below +0) on
// random lengths and starts, with the assembly on and off: random values,
// values drawn from a small set of edge values (signed zeros only, all
// non-finite, NaN payloads, the largest and smallest floats), and a
// non-finite value in every position.
func TestFiniteRange(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	edges := []float32{0, negZero, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7fc00123), math.Float32frombits(0xffc00001), math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1, -1}
	want := func(x []float32) (lo, hi float32, bad int) {
		lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				bad++
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		return lo, hi, bad
	}
	check := func(t *testing.T, what string, x []float32) {
		t.Helper()
		lo, hi, bad := FiniteRange(x)
		wl, wh, wb := want(x)
		if math.Float32bits(lo) != math.Float32bits(wl) || math.Float32bits(hi) != math.Float32bits(wh) || bad != wb {
			t.Fatalf("%s: [%g, %g] (%#x, %#x) with %d non-finite, want [%g, %g] (%#x, %#x) with %d",
				what, lo, hi, math.Float32bits(lo), math.Float32bits(hi), bad, wl, wh, math.Float32bits(wl), math.Float32bits(wh), wb)
		}
	}
	forEachSetting(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		for _, n := range lengths(r) {
			buf := make([]float32, n+1)
			x := buf[1:]
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			check(t, fmt.Sprintf("n=%d random", n), x)
			for _, set := range [][]float32{edges, edges[:2], edges[2:5], {0, negZero, -1}, {0, negZero, 1}, {negZero}, {0}} {
				for i := range x {
					x[i] = set[r.IntN(len(set))]
				}
				check(t, fmt.Sprintf("n=%d from %v", n, set), x)
			}
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			for i := range x {
				saved := x[i]
				x[i] = edges[2+i%3]
				check(t, fmt.Sprintf("n=%d non-finite at %d", n, i), x)
				x[i] = saved
			}
		}
	})
}
