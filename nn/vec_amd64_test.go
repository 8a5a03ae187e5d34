//go:build amd64 && !purego

package nn

import (
	"math"
	"testing"

	"github.com/goapprox/goapprox/internal/asm"
)

// withGeneric runs f with the AVX2 kernels turned off.
func withGeneric(f func()) {
	defer asm.Set(asm.Set(false))
	f()
}

// TestAVX2KernelsMatchGeneric checks that every AVX2 kernel gives the
// plain Go kernel's bits, element-wise and in the lane sums.
func TestAVX2KernelsMatchGeneric(t *testing.T) {
	if !asm.AVX2() {
		t.Skip("no AVX2")
	}
	type kernels struct {
		y, dx, y6, dx6, ss, gx []float32
		sum, sq, sdy, sdyx     float64
	}
	run := func(x, dy []float32) (k kernels) {
		n := len(x)
		k.y, k.dx, k.y6, k.dx6 = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		k.ss, k.gx = make([]float32, n), make([]float32, n)
		relu(k.y, x)
		reluGrad(k.dx, x, dy)
		relu6(k.y6, x)
		relu6Grad(k.dx6, x, dy)
		scaleShift(k.ss, x, 1.3, -0.7)
		bnGradX(k.gx, x, dy, 0.3, 1.7, 0.9, 0.11, -0.23)
		k.sum, k.sq = sum64(x), sqDev64(x, 0.3)
		k.sdy, k.sdyx = sumsDyXhat(x, dy, 0.3, 1.7)
		return k
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false
			}
		}
		return true
	}
	for _, n := range append(vecLengths, 1000, 4099) {
		x, dy := specialInput(uint64(n)+5, n), specialInput(uint64(n)+6, n)
		// The sums get finite data (NaN would compare unequal).
		xf, dyf := randTensor(uint64(n)+7, 3, n+1).Float32s()[:n], randTensor(uint64(n)+8, 1, n+1).Float32s()[:n]
		fast, fastSums := run(x, dy), run(xf, dyf)
		var plain, plainSums kernels
		withGeneric(func() { plain, plainSums = run(x, dy), run(xf, dyf) })
		if !same(fast.y, plain.y) || !same(fast.dx, plain.dx) || !same(fast.y6, plain.y6) || !same(fast.dx6, plain.dx6) {
			t.Errorf("n=%d: AVX2 activations differ from plain Go", n)
		}
		if !same(fastSums.ss, plainSums.ss) || !same(fastSums.gx, plainSums.gx) {
			t.Errorf("n=%d: AVX2 batch norm element-wise kernels differ from plain Go", n)
		}
		if fastSums.sum != plainSums.sum || fastSums.sq != plainSums.sq || fastSums.sdy != plainSums.sdy || fastSums.sdyx != plainSums.sdyx {
			t.Errorf("n=%d: AVX2 sums %v differ from plain Go %v", n, fastSums, plainSums)
		}
	}
}

// TestBatchNormAVX2MatchesGeneric checks the whole op, forward and
// gradients, gives the same bits with and without the AVX2 kernels.
func TestBatchNormAVX2MatchesGeneric(t *testing.T) {
	if !asm.AVX2() {
		t.Skip("no AVX2")
	}
	for k, c := range bnCases {
		_, fast := runBatchNorm(t, c, uint64(k))
		var plain [4][]float32
		withGeneric(func() { _, plain = runBatchNorm(t, c, uint64(k)) })
		for i := range fast {
			for j := range fast[i] {
				if math.Float32bits(fast[i][j]) != math.Float32bits(plain[i][j]) {
					t.Fatalf("%v training=%v: output %d element %d: AVX2 %g, plain Go %g", c.shape, c.training, i, j, fast[i][j], plain[i][j])
				}
			}
		}
	}
}

// TestBatchNormActAVX2 checks the fused op against batch norm then the
// activation on the plain Go kernels too (TestBatchNormActMatchesSeparateOps
// covers the AVX2 ones), and the fused op's AVX2 bits against its plain Go
// bits.
func TestBatchNormActAVX2(t *testing.T) {
	if !asm.AVX2() {
		t.Skip("no AVX2")
	}
	withGeneric(func() { checkFusedMatchesSeparate(t) })
	for k, c := range bnCases {
		for _, a := range fusedActs {
			fast := runBatchNormAct(t, c, uint64(k)+70, a, true)
			var plain [][]float32
			withGeneric(func() { plain = runBatchNormAct(t, c, uint64(k)+70, a, true) })
			for i := range fast {
				if !sameBits32(fast[i], plain[i]) {
					t.Fatalf("%v training=%v %v: output %d: AVX2 and plain Go differ", c.shape, c.training, a, i)
				}
			}
		}
	}
	withGeneric(func() { TestFusedKernelsMatchSeparate(t) })
}
