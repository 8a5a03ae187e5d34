package kernel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDepthwiseConformance checks depthwise and grouped-by-channel layers,
// where the direct form's input building dominates, against Conv2dRef on
// random shapes: odd sizes up to 40 (so the stride-2 column split runs its
// vector part and its tail), strides 1 to 3, padding up to the kernel's
// reach, dilation, channel multipliers 1 to 3, edge codes as padding, every
// implementation and conv mode, 1, 2 and 3 threads, exactly.
func TestDepthwiseConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 5))
	tables := testTables()
	vs := variants(t)
	n := 40
	if testing.Short() {
		n = 12
	}
	tested := 0
	for i := 0; i < n; i++ {
		c, mult := 1+rng.IntN(4), 1+rng.IntN(3)
		kh, kw, dh, dw := 1+rng.IntN(3), 1+rng.IntN(3), 1+rng.IntN(2), 1+rng.IntN(2)
		g := geom(1+rng.IntN(3), c, 1+rng.IntN(40), 1+rng.IntN(40), c*mult, kh, kw,
			1+rng.IntN(3), 1+rng.IntN(3), rng.IntN(kh*dh), rng.IntN(kw*dw), dh, dw, c)
		if i%3 == 0 { // the zoo's case: 3x3, stride 2, padding 1
			g = geom(1+rng.IntN(3), c, 5+rng.IntN(36), 5+rng.IntN(36), c*mult, 3, 3, 2, 2, 1, 1, 1, 1, c)
		}
		if g.Validate() != nil {
			continue
		}
		tested++
		tb := tables[i%len(tables)]
		p := Prepare(tb.t)
		pad := []byte{0, 128, 255, 127, 3}[i%5]
		x, w := codes(rng, g.XLen(), pad), codes(rng, g.WLen(), pad)
		want := make([]int32, g.YLen())
		Conv2dRef(want, x, w, pad, g, tb.t)
		for _, v := range vs {
			for _, th := range []int{1, 2, 3} {
				got := make([]int32, g.YLen())
				if err := v.conv(got, x, w, pad, g, p, th); err != nil {
					t.Fatalf("%s %s %+v threads %d: %v", tb.name, v.name, g, th, err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s %s %+v pad %d threads %d: first difference at %s", tb.name, v.name, g, pad, th, firstDiff(got, want))
				}
			}
		}
	}
	if tested < n/2 {
		t.Fatalf("only %d of %d random shapes were valid", tested, n)
	}
}

// TestSplitBytes checks the stride-2 column split, with and without its
// vector part, on every length up to 100 and on unaligned slices.
func TestSplitBytes(t *testing.T) {
	for _, asm := range []bool{true, false} {
		prev := SetAssembly(asm)
		for n := 0; n <= 100; n++ {
			for off := 0; off < 3; off++ {
				in := make([]byte, 2*n+off)
				for i := range in {
					in[i] = byte(i*7 + 1)
				}
				in = in[off:]
				even, odd := make([]byte, n+off)[off:], make([]byte, n+1)[1:]
				splitBytes(even, odd, in)
				for i := 0; i < n; i++ {
					if even[i] != in[2*i] || odd[i] != in[2*i+1] {
						t.Fatalf("%s n=%d off=%d: at %d got %d,%d want %d,%d", fmt.Sprint("assembly ", asm), n, off, i,
							even[i], odd[i], in[2*i], in[2*i+1])
					}
				}
			}
		}
		SetAssembly(prev)
	}
}
