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
		g := convGeom(1+rng.IntN(3), c, 1+rng.IntN(40), 1+rng.IntN(40), c*mult, kh, kw,
			1+rng.IntN(3), 1+rng.IntN(3), rng.IntN(kh*dh), rng.IntN(kw*dw), dh, dw, c)
		if i%3 == 0 { // the zoo's case: 3x3, stride 2, padding 1
			g = convGeom(1+rng.IntN(3), c, 5+rng.IntN(36), 5+rng.IntN(36), c*mult, 3, 3, 2, 2, 1, 1, 1, 1, c)
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

// TestCopyRowsAndRuns checks the 3-D byte copy and the run copy of sums,
// with and without their vector versions, on every width up to 70 (one
// past the masked copy's 64) and run lengths up to 40, against plain
// loops, and that nothing outside the destinations changes.
func TestCopyRowsAndRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for _, asm := range []bool{true, false} {
		prev := SetAssembly(asm)
		for width := 1; width <= 70; width++ {
			rows, images := 1+rng.IntN(5), 1+rng.IntN(3)
			sp, dp := width+rng.IntN(9), width+rng.IntN(9)
			si, di := rows*sp+rng.IntN(9), rows*dp+rng.IntN(9)
			src := codes(rng, (images-1)*si+(rows-1)*sp+width+3, 0)
			dst := make([]byte, (images-1)*di+(rows-1)*dp+width+70)
			want := slices.Clone(dst)
			for m := 0; m < images; m++ {
				for r := 0; r < rows; r++ {
					copy(want[m*di+r*dp:][:width], src[m*si+r*sp:][:width])
				}
			}
			copyRows(dst, dp, di, src, sp, si, rows, width, images)
			if !slices.Equal(dst, want) {
				t.Fatalf("assembly %v: copyRows width %d rows %d images %d pitches %d, %d: wrong bytes", asm, width, rows, images, dp, sp)
			}
		}
		var out [maxLanes]int32
		for i := range out {
			out[i] = int32(rng.Uint32())
		}
		for trial := 0; trial < 50; trial++ {
			acc := make([]int32, 600)
			want := slices.Clone(acc)
			var runs []run
			for dst, lane := rng.IntN(5), rng.IntN(5); ; {
				n := 1 + rng.IntN(40)
				if dst+n > len(acc) || lane+n > maxLanes {
					break
				}
				runs = append(runs, run{lane: lane, dst: dst, n: n})
				copy(want[dst:dst+n], out[lane:lane+n])
				dst += n + rng.IntN(4)
				lane += n + rng.IntN(3)
			}
			copyRuns(acc, &out, runs)
			if !slices.Equal(acc, want) {
				t.Fatalf("assembly %v: copyRuns %v: wrong sums", asm, runs)
			}
		}
		SetAssembly(prev)
	}
}

// TestStoreRows checks the whole-row store of a block's sums, with and
// without its vector version, against storeRowsGo's plain definition on
// random row geometries (rows wider than 16 sums included, blocks that
// start inside an image's wasted rows and run on into the next images).
func TestStoreRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	var out [maxLanes]int32
	for i := range out {
		out[i] = int32(rng.Uint32())
	}
	for trial := 0; trial < 300; trial++ {
		ow := 1 + rng.IntN(40)
		wq := ow + rng.IntN(3)
		oh := 1 + rng.IntN(6)
		rg := rowGeom{wq: wq, ow: ow, oh: oh, rowsPer: oh + rng.IntN(3), image: 0}
		rg.image = oh*ow + rng.IntN(20)
		rows := 1 + rng.IntN(maxLanes/wq)
		y := rng.IntN(rg.rowsPer)
		n := (rows/rg.rowsPer + 2) * rg.image
		want := make([]int32, n)
		for r, yr, img := 0, y, 0; r < rows; r++ {
			if yr < oh {
				copy(want[img+yr*ow:][:ow], out[r*wq:][:ow])
			}
			if yr++; yr == rg.rowsPer {
				yr, img = 0, img+rg.image
			}
		}
		for _, asm := range []bool{true, false} {
			prev := SetAssembly(asm)
			got := make([]int32, n)
			storeRows(got, &out, rows, y, &rg)
			SetAssembly(prev)
			if !slices.Equal(got, want) {
				t.Fatalf("assembly %v: %+v rows %d from y %d: %s", asm, rg, rows, y, firstDiff(got, want))
			}
		}
	}
}
