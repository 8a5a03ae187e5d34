package floatkernel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/ops/kernel"
)

// TestDepthwiseRandomShapes checks the phase-plane depthwise loops against
// the textbook loops on random shapes: odd sizes, strides 1 to 3 (also
// unequal), padding up to the kernel's reach, dilation, channel
// multipliers, and that every result is bit-identical on 1, 2 and 3
// threads.
func TestDepthwiseRandomShapes(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	ws := new(Workspace)
	tested := 0
	for i := 0; i < 80; i++ {
		c, mult := 1+r.Intn(5), 1+r.Intn(3)
		g := kernel.ConvGeom{N: 1 + r.Intn(3), C: c, H: 1 + r.Intn(13), W: 1 + r.Intn(13), O: c * mult,
			KH: 1 + r.Intn(4), KW: 1 + r.Intn(4), StrideH: 1 + r.Intn(3), StrideW: 1 + r.Intn(3),
			DilH: 1 + r.Intn(2), DilW: 1 + r.Intn(2), Groups: c}
		g.PadH, g.PadW = r.Intn(g.KH*g.DilH), r.Intn(g.KW*g.DilW)
		if g.Validate() != nil || !isDepthwise(g) {
			continue
		}
		tested++
		x, w, dy := randSlice(r, g.XLen()), randSlice(r, g.WLen()), randSlice(r, g.YLen())
		wantDX, wantDW := naiveGrads(x, w, dy, g)
		wantY := naiveConv(x, w, g)
		var first [3][]float32
		for _, threads := range []int{1, 2, 3} {
			name := fmt.Sprintf("%d/%+v/threads%d", i, g, threads)
			y, dx, dw := randSlice(r, g.YLen()), randSlice(r, g.XLen()), randSlice(r, g.WLen())
			impl := gonum.Implementation{}
			if err := Conv2d(impl, y, x, w, g, threads, ws); err != nil {
				t.Fatal(name, err)
			}
			if err := Conv2dBackwardData(impl, dx, dy, w, g, threads, ws); err != nil {
				t.Fatal(name, err)
			}
			if err := Conv2dBackwardWeight(impl, dw, dy, x, g, threads, ws); err != nil {
				t.Fatal(name, err)
			}
			assertClose(t, name+" y", y, wantY)
			assertClose(t, name+" dx", dx, wantDX)
			assertClose(t, name+" dw", dw, wantDW)
			for k, got := range [3][]float32{y, dx, dw} {
				if first[k] == nil {
					first[k] = got
					continue
				}
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(first[k][j]) {
						t.Fatalf("%s: result %d differs at %d from 1 thread: %g vs %g", name, k, j, got[j], first[k][j])
					}
				}
			}
		}
	}
	if tested < 40 {
		t.Fatalf("only %d of the random shapes were valid depthwise shapes", tested)
	}
}

// TestDeinterleave checks the stride-2 row split and its inverse on every
// length up to 20.
func TestDeinterleave(t *testing.T) {
	for n := 0; n <= 20; n++ {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(i)
		}
		even, odd := make([]float32, (n+1)/2), make([]float32, n/2)
		deinterleave(even, odd, row)
		for i := range even {
			if even[i] != float32(2*i) {
				t.Fatalf("n=%d: even[%d] = %g", n, i, even[i])
			}
		}
		for i := range odd {
			if odd[i] != float32(2*i+1) {
				t.Fatalf("n=%d: odd[%d] = %g", n, i, odd[i])
			}
		}
		back := make([]float32, n)
		interleave(back, even, odd)
		for i := range back {
			if back[i] != row[i] {
				t.Fatalf("n=%d: interleave gives %v", n, back)
			}
		}
	}
}
