package kernel

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/ops/geom"
)

// The conformance suite: every kernel implementation, in every conv mode,
// must return exactly GEMMRef's and Conv2dRef's integers. A new
// implementation added to impls is picked up here without further work.

// variant is one way to compute GEMM and Conv2d.
type variant struct {
	name string
	gemm func(acc []int32, x, w []byte, m, n, k int, p *Prepared, threads int) error
	conv func(acc []int32, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int) error
}

func variants(t testing.TB) []variant {
	// Each conv mode's variant also forces one GEMM orientation.
	vs := []variant{{name: "exported", gemm: GEMM, conv: Conv2d}}
	modes := []struct {
		name string
		m    convMode
		g    gemmOrient
	}{{"im2col", convIm2col, gemmLanesW}, {"direct", convDirect, gemmLanesX}, {"shifted", convShifted, gemmLanesW},
		{"direct-stacked", convDirectStacked, gemmLanesX}, {"shifted-stacked", convShiftedStacked, gemmAuto},
		{"pregather", convPregather, gemmPregather}, {"auto", convAuto, gemmAuto}}
	if testing.Short() {
		modes = modes[:len(modes)-1] // the exported variant covers auto
	}
	for _, im := range impls {
		for _, mode := range modes {
			vs = append(vs, variant{
				name: im.name + "/" + mode.name,
				gemm: func(acc []int32, x, w []byte, m, n, k int, p *Prepared, threads int) error {
					return gemmWith(im, mode.g, acc, x, w, m, n, k, p, threads)
				},
				conv: func(acc []int32, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int) error {
					return convWith(im, mode.m, acc, x, w, pad, g, p, threads)
				},
			})
		}
	}
	if len(impls) < 2 {
		t.Logf("only the portable kernel runs on this machine/build")
	}
	return vs
}

// testTables are the tables every shape is checked with: narrow signed and
// unsigned ones (the SIMD planes), one spanning exactly 65535 (the widest
// narrow table), one spanning exactly 32767 (the widest whose entries add
// in pairs, pgPairs), exact products, and a wide one with full-range int32
// entries that wraps the sums (the portable fallback).
func testTables() []struct {
	name string
	t    *[65536]int32
} {
	rng := rand.New(rand.NewPCG(7, 11))
	mk := func(f func(x, w int) int32) *[65536]int32 {
		t := new([65536]int32)
		for i := range t {
			t[i] = f(i>>8, i&0xFF)
		}
		return t
	}
	s8 := func(c int) int { return int(int8(uint8(c))) }
	return []struct {
		name string
		t    *[65536]int32
	}{
		{"int16", mk(func(x, w int) int32 { return int32(rng.IntN(32769) - 16384) })},
		{"uint16", mk(func(x, w int) int32 { return int32(rng.IntN(65026)) })},
		{"span65535", mk(func(x, w int) int32 {
			switch x<<8 | w {
			case 0:
				return -30000
			case 65535:
				return 35535
			}
			return int32(rng.IntN(65536) - 30000)
		})},
		{"span32767", mk(func(x, w int) int32 {
			switch x<<8 | w {
			case 7:
				return -12000
			case 65000:
				return 20767
			}
			return int32(rng.IntN(32768) - 12000)
		})},
		{"exact-signed", mk(func(x, w int) int32 { return int32(s8(x) * s8(w)) })},
		{"asymmetric", mk(func(x, w int) int32 { return int32(x*3 - w*1000) })},
		{"wide-int32", mk(func(x, w int) int32 { return int32(rng.Uint32()) })},
	}
}

// codes returns n random codes, about a third of them edge codes.
func codes(rng *rand.Rand, n int, pad byte) []byte {
	edges := []byte{0, 127, 128, 255, pad}
	b := make([]byte, n)
	for i := range b {
		if rng.IntN(3) == 0 {
			b[i] = edges[rng.IntN(len(edges))]
		} else {
			b[i] = byte(rng.IntN(256))
		}
	}
	return b
}

// suite trims the conformance suite under -short (CI runs it with -race,
// which slows everything about twentyfold): fewer tables, thread counts and
// conv modes, still covering each kernel on narrow and wide tables: one
// whose entries add in pairs at the limit of pgPairs, one spanning all of
// 16 bits, and one whose int32 sums wrap.
func suite(tables []struct {
	name string
	t    *[65536]int32
}) (threads []int, tabs []struct {
	name string
	t    *[65536]int32
}) {
	if !testing.Short() {
		return []int{1, 2, 3, 7}, tables
	}
	for _, t := range tables {
		switch t.name {
		case "span32767", "span65535", "wide-int32":
			tabs = append(tabs, t)
		}
	}
	if len(tabs) != 3 {
		panic("conformance suite: the -short tables are named span32767, span65535 and wide-int32")
	}
	return []int{1, 3}, tabs
}

func TestGEMMConformance(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {3, 17, 129}, {129, 3, 17}, {17, 129, 3}, {1, 300, 9}, {64, 10, 84},
		{70, 257, 5}, {5, 5, 513}, {0, 4, 4}, {4, 4, 0}, {257, 70, 300}}
	// The linear layers of the zoo's models (batch 64): LeNet-5's fc1,
	// fc2, fc3 and MobileNetV2's fc; then sizes around the kernel's lane
	// widths (64, 128, 256) in either operand, with k from one step to
	// several 128-step chunks.
	layers := [][3]int{{64, 120, 400}, {64, 84, 120}, {64, 10, 84}, {64, 10, 128},
		{1, 257, 7}, {257, 1, 400}, {63, 65, 1}, {65, 63, 400}, {129, 257, 7}, {257, 129, 1},
		{63, 1, 7}, {1, 129, 400}, {65, 129, 400}, {129, 65, 7}}
	if testing.Short() {
		shapes = append(shapes[:10], layers[:6]...)
	} else {
		shapes = append(shapes, layers...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 8 && !testing.Short(); i++ {
		shapes = append(shapes, [3]int{1 + rng.IntN(200), 1 + rng.IntN(200), 1 + rng.IntN(300)})
	}
	vs := variants(t)
	threadCounts, tables := suite(testTables())
	for _, tb := range tables {
		p := Prepare(tb.t)
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			x, w := codes(rng, m*k, 0), codes(rng, n*k, 0)
			want := make([]int32, m*n)
			GEMMRef(want, x, w, m, n, k, tb.t)
			for _, v := range vs {
				for _, th := range threadCounts {
					got := make([]int32, m*n+3)
					got[m*n], got[m*n+1], got[m*n+2] = 11, 22, 33
					if err := v.gemm(got, x, w, m, n, k, p, th); err != nil {
						t.Fatalf("%s %s %dx%dx%d threads %d: %v", tb.name, v.name, m, n, k, th, err)
					}
					if !slices.Equal(got[:m*n], want) {
						t.Fatalf("%s %s %dx%dx%d threads %d: first difference at %s", tb.name, v.name, m, n, k, th, firstDiff(got, want))
					}
					if got[m*n] != 11 || got[m*n+1] != 22 || got[m*n+2] != 33 {
						t.Fatalf("%s %s: wrote past m*n", tb.name, v.name)
					}
				}
			}
		}
	}
}

func convGeom(n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups int) geom.Conv {
	return geom.Conv{N: n, C: c, H: h, W: w, O: o, KH: kh, KW: kw, StrideH: sh, StrideW: sw,
		PadH: ph, PadW: pw, DilH: dh, DilW: dw, Groups: groups}
}

func convShapes(rng *rand.Rand, short bool) []geom.Conv {
	gs := []geom.Conv{
		convGeom(2, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1),   // LeNet-5 conv2
		convGeom(1, 17, 3, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1),     // 1x1, batch 1
		convGeom(2, 3, 11, 13, 4, 1, 1, 3, 3, 0, 0, 1, 1, 1),    // stride larger than the 1x1 kernel
		convGeom(1, 2, 9, 10, 3, 2, 2, 3, 4, 1, 1, 1, 1, 1),     // stride larger than 2x2, padding
		convGeom(2, 3, 12, 11, 5, 3, 3, 1, 1, 2, 2, 2, 2, 1),    // padding and dilation
		convGeom(2, 6, 7, 9, 9, 3, 3, 2, 1, 1, 0, 1, 1, 3),      // groups, uneven stride and padding
		convGeom(3, 8, 17, 17, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8),    // depthwise
		convGeom(2, 8, 17, 16, 8, 3, 3, 2, 2, 1, 1, 1, 1, 8),    // depthwise stride 2
		convGeom(1, 4, 5, 129, 8, 3, 1, 1, 1, 1, 0, 1, 1, 4),    // depthwise multiplier 2, wide row
		convGeom(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1),      // a single product
		convGeom(1, 1, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1),      // all but the centre tap read padding
		convGeom(1, 3, 129, 3, 2, 3, 2, 1, 1, 1, 2, 3, 1, 1),    // tall, dilation only in H
		convGeom(4, 2, 7, 7, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2),      // 7x7 maps, lanes across images
		convGeom(1, 12, 20, 20, 12, 3, 3, 1, 1, 1, 1, 1, 1, 12), // depthwise, several lane blocks
		convGeom(2, 130, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1),    // fan-in 1170, several 128-step chunks
		convGeom(1, 3, 24, 24, 5, 7, 7, 1, 1, 3, 3, 1, 1, 1),    // big kernel
		convGeom(1, 2, 6, 6, 2, 3, 3, 5, 5, 2, 2, 1, 1, 1),      // stride 5
		convGeom(1, 16, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 16),   // depthwise multiplier 2
		convGeom(3, 4, 3, 3, 130, 3, 3, 1, 1, 0, 0, 1, 1, 1),    // one position, many outputs
		convGeom(1, 5, 4, 300, 1, 1, 5, 1, 1, 0, 2, 1, 1, 1),    // more than 256 lanes in one row
		// LeNet-5 conv1-like: one input channel, 5x5 taps, few outputs
		// (the shifted planes' case), with edges that read the pad code.
		convGeom(1, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1), // LeNet-5 conv1, several lane blocks per image
		convGeom(3, 1, 13, 11, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1), // odd sizes
		convGeom(2, 1, 15, 13, 5, 5, 5, 2, 2, 2, 2, 1, 1, 1), // stride 2
		convGeom(2, 2, 11, 17, 3, 5, 3, 1, 2, 2, 1, 2, 2, 1), // dilation, stride 2 in W only
		convGeom(2, 1, 9, 23, 4, 3, 5, 2, 3, 3, 4, 2, 2, 1),  // padding wider than the dilated reach of some taps
		convGeom(1, 2, 12, 12, 4, 5, 5, 1, 1, 0, 0, 1, 1, 2), // groups, no padding
		// Lanes running on across images (stacked planes, blocks of whole
		// rows, rows and images sharing their padding).
		convGeom(5, 6, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),   // the zoo's 7x7 depthwise, small batch
		convGeom(3, 4, 14, 14, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4), // 14x14 stride 2, multiplier 2
		convGeom(1, 3, 9, 11, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3),  // batch 1, odd sizes
		convGeom(7, 2, 5, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2),   // tiny maps, many images per block
		convGeom(20, 2, 7, 7, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2),  // many blocks and spans over 20 images
		convGeom(2, 2, 5, 6, 2, 2, 2, 1, 1, 2, 2, 1, 1, 2),   // padding beyond the kernel's reach (no sharing)
		convGeom(2, 3, 4, 5, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),   // 1x1 with padding
		convGeom(3, 2, 40, 37, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2), // rows longer than 32 lanes (runs, not whole rows)
		convGeom(4, 3, 13, 9, 6, 3, 3, 1, 2, 1, 1, 1, 1, 3),  // stride 2 in W only, shared rows in H
		convGeom(6, 2, 9, 9, 2, 3, 3, 2, 1, 1, 1, 2, 1, 2),   // stride 2 in H only, dilation in H
		convGeom(9, 1, 6, 6, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1),   // stride 2, even size, 9 images
		convGeom(2, 4, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4),   // 1x1 maps: each output reads one pixel
	}
	if short {
		return gs
	}
	for i := 0; i < 25; i++ {
		groups := 1 + rng.IntN(4)
		g := convGeom(1+rng.IntN(3), groups*(1+rng.IntN(3)), 1+rng.IntN(20), 1+rng.IntN(20), groups*(1+rng.IntN(4)),
			1+rng.IntN(4), 1+rng.IntN(4), 1+rng.IntN(3), 1+rng.IntN(3), rng.IntN(3), rng.IntN(3),
			1+rng.IntN(2), 1+rng.IntN(2), groups)
		if g.Validate() == nil {
			gs = append(gs, g)
		}
	}
	return gs
}

func TestConv2dConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := convShapes(rng, testing.Short())
	vs := variants(t)
	threadCounts, tables := suite(testTables())
	for ti, tb := range tables {
		p := Prepare(tb.t)
		for gi, g := range shapes {
			if err := g.Validate(); err != nil {
				t.Fatalf("test shape %d: %v", gi, err)
			}
			// Cycle the pad code through the edge codes.
			pad := []byte{0, 128, 255, 127, 3}[(ti+gi)%5]
			x, w := codes(rng, g.XLen(), pad), codes(rng, g.WLen(), pad)
			want := make([]int32, g.YLen())
			Conv2dRef(want, x, w, pad, g, tb.t)
			for _, v := range vs {
				for _, th := range threadCounts {
					got := make([]int32, g.YLen()+1)
					got[g.YLen()] = 99
					if err := v.conv(got, x, w, pad, g, p, th); err != nil {
						t.Fatalf("%s %s %+v threads %d: %v", tb.name, v.name, g, th, err)
					}
					if !slices.Equal(got[:g.YLen()], want) || got[g.YLen()] != 99 {
						t.Fatalf("%s %s %+v pad %d threads %d: first difference at %s", tb.name, v.name, g, pad, th, firstDiff(got, want))
					}
				}
			}
		}
	}
}

// TestTableOperandOrder pins which operand selects the table row, with a
// table that is zero except two entries.
func TestTableOperandOrder(t *testing.T) {
	tab := new([65536]int32)
	tab[127<<8] = 42    // activation 127, weight 0
	tab[0<<8|127] = -23 // activation 0, weight 127
	p := Prepare(tab)
	for _, v := range variants(t) {
		acc := make([]int32, 2)
		// x = [127, 0], one row; w rows [0, 0] and [127, 127].
		if err := v.gemm(acc, []byte{127, 0}, []byte{0, 0, 127, 127}, 1, 2, 2, p, 1); err != nil {
			t.Fatal(err)
		}
		// row 0: tab[127,0] + tab[0,0] = 42; row 1: tab[127,127] + tab[0,127] = -23.
		if acc[0] != 42 || acc[1] != -23 {
			t.Errorf("%s: GEMM = %v, want [42 -23]", v.name, acc)
		}
		// 1x1 conv of a 1x2 image with activations [127, 0] and weight 0.
		if err := v.conv(acc, []byte{127, 0}, []byte{0}, 0, convGeom(1, 1, 1, 2, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1), p, 1); err != nil {
			t.Fatal(err)
		}
		if acc[0] != 42 || acc[1] != 0 {
			t.Errorf("%s: Conv2d = %v, want [42 0]", v.name, acc)
		}
	}
}

func TestPrepareNarrow(t *testing.T) {
	tab := new([65536]int32)
	tab[5] = -16384
	tab[9] = 16384
	if p := Prepare(tab); !p.Narrow() || p.base != -16384 {
		t.Errorf("signed table: narrow %v base %d, want true -16384", p.Narrow(), p.base)
	}
	tab[9] = 65535 - 16384
	if !Prepare(tab).Narrow() {
		t.Error("a table spanning exactly 65535 must be narrow")
	}
	tab[9]++
	if Prepare(tab).Narrow() {
		t.Error("a table spanning 65536 must not be narrow")
	}
	// Prepare copies: changing the table afterwards changes nothing.
	p := Prepare(tab)
	tab[0] = 1000
	acc := make([]int32, 1)
	if err := GEMM(acc, []byte{0}, []byte{0}, 1, 1, 1, p, 1); err != nil || acc[0] != 0 {
		t.Errorf("GEMM after changing the source table = %d, %v; want 0", acc[0], err)
	}
}

func TestBadArguments(t *testing.T) {
	p := Prepare(new([65536]int32))
	g := convGeom(1, 2, 4, 4, 2, 3, 3, 1, 1, 0, 0, 1, 1, 1)
	cases := []struct {
		name string
		err  error
	}{
		{"nil table", GEMM(make([]int32, 4), make([]byte, 4), make([]byte, 4), 2, 2, 2, nil, 1)},
		{"negative size", GEMM(nil, nil, nil, -1, 2, 2, p, 1)},
		{"short x", GEMM(make([]int32, 4), make([]byte, 3), make([]byte, 4), 2, 2, 2, p, 1)},
		{"short w", GEMM(make([]int32, 4), make([]byte, 4), make([]byte, 3), 2, 2, 2, p, 1)},
		{"short acc", GEMM(make([]int32, 3), make([]byte, 4), make([]byte, 4), 2, 2, 2, p, 1)},
		{"conv nil table", Conv2d(make([]int32, g.YLen()), make([]byte, g.XLen()), make([]byte, g.WLen()), 0, g, nil, 1)},
		{"conv short x", Conv2d(make([]int32, g.YLen()), make([]byte, g.XLen()-1), make([]byte, g.WLen()), 0, g, p, 1)},
		{"conv short w", Conv2d(make([]int32, g.YLen()), make([]byte, g.XLen()), make([]byte, g.WLen()-1), 0, g, p, 1)},
		{"conv short acc", Conv2d(make([]int32, g.YLen()-1), make([]byte, g.XLen()), make([]byte, g.WLen()), 0, g, p, 1)},
		{"conv bad groups", Conv2d(nil, nil, nil, 0, convGeom(1, 3, 4, 4, 2, 3, 3, 1, 1, 0, 0, 1, 1, 2), p, 1)},
		{"conv kernel too big", Conv2d(nil, nil, nil, 0, convGeom(1, 1, 2, 2, 1, 3, 3, 1, 1, 0, 0, 1, 1, 1), p, 1)},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		} else {
			t.Logf("%s: %v", c.name, c.err)
		}
	}
}

// TestNoAllocation checks that calls in steady state allocate nothing,
// also when they use several threads.
func TestNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	p := Prepare(testTables()[0].t)
	rng := rand.New(rand.NewPCG(5, 6))
	x, w := codes(rng, 64*300, 0), codes(rng, 120*300, 0)
	acc := make([]int32, 64*120)
	g := convGeom(4, 8, 16, 16, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8)
	cx, cw, cacc := codes(rng, g.XLen(), 0), codes(rng, g.WLen(), 0), make([]int32, g.YLen())
	// The pre-gathered path, forced, with a padded input.
	pg := convGeom(2, 16, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1)
	px, pw, pacc := codes(rng, pg.XLen(), 0), codes(rng, pg.WLen(), 0), make([]int32, pg.YLen())
	for _, th := range []int{1, 2} {
		allocs := testing.AllocsPerRun(20, func() {
			if err := GEMM(acc, x, w, 64, 120, 300, p, th); err != nil {
				t.Fatal(err)
			}
			if err := Conv2d(cacc, cx, cw, 0, g, p, th); err != nil {
				t.Fatal(err)
			}
			if err := gemmWith(current(), gemmPregather, acc, x, w, 64, 120, 300, p, th); err != nil {
				t.Fatal(err)
			}
			if err := convWith(current(), convPregather, pacc, px, pw, 3, pg, p, th); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("threads %d: %.1f allocations per round of calls, want 0", th, allocs)
		}
	}
}

func firstDiff(got, want []int32) string {
	for i := range want {
		if got[i] != want[i] {
			return fmt.Sprintf("%d: got %d, want %d", i, got[i], want[i])
		}
	}
	return "past the end"
}

// TestValidateKernelTooBig pins a geometry whose output size formula
// truncates to 1 although the dilated kernel (extent 7) exceeds the padded
// width 6.
func TestValidateKernelTooBig(t *testing.T) {
	g := convGeom(1, 1, 6, 6, 1, 1, 4, 1, 2, 0, 0, 1, 2, 1)
	if g.OutW() != 1 {
		t.Fatalf("OutW = %d; the premise of this test is the truncated 1", g.OutW())
	}
	if g.Validate() == nil {
		t.Error("Validate accepted a 7-wide dilated kernel on a 6-wide input")
	}
}

// TestGather checks the row gather of both conv modes against the plain
// definition for every start, stride and length around the row's edges.
func TestGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, w := range []int{1, 5, 16, 40} {
		xrow := codes(rng, w, 0)
		for stride := 1; stride <= 3; stride++ {
			for ix0 := -20; ix0 <= w+3; ix0++ {
				for n := 0; n <= 30; n++ {
					got := make([]byte, n)
					gather(got, xrow, ix0, stride, 77)
					for i := range got {
						want := byte(77)
						if ix := ix0 + i*stride; ix >= 0 && ix < w {
							want = xrow[ix]
						}
						if got[i] != want {
							t.Fatalf("w %d stride %d ix0 %d n %d: seg[%d] = %d, want %d", w, stride, ix0, n, i, got[i], want)
						}
					}
				}
			}
		}
	}
}

// TestConcurrentCalls runs calls with a shared Prepared from several
// goroutines at once (under -race this also checks the worker pool).
func TestConcurrentCalls(t *testing.T) {
	tab := testTables()[1].t
	p := Prepare(tab)
	rng := rand.New(rand.NewPCG(4, 4))
	m, n, k := 33, 70, 40
	x, w := codes(rng, m*k, 0), codes(rng, n*k, 0)
	want := make([]int32, m*n)
	GEMMRef(want, x, w, m, n, k, tab)
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			acc := make([]int32, m*n)
			for i := 0; i < 5; i++ {
				if err := GEMM(acc, x, w, m, n, k, p, 2); err != nil || !slices.Equal(acc, want) {
					errs <- fmt.Sprintf("concurrent GEMM: %v, %s", err, firstDiff(acc, want))
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

// TestRealMultiplier runs an EvoApproxLib table from ../shared, when
// present, through every variant.
func TestRealMultiplier(t *testing.T) {
	raw, err := os.ReadFile(shared.RequireLUT(t, "mul8u_17KS"))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 2*65536 {
		t.Fatalf("table file holds %d bytes, want %d", len(raw), 2*65536)
	}
	tab := new([65536]int32)
	for i := range tab {
		tab[i] = int32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	p := Prepare(tab)
	if !p.Narrow() {
		t.Fatal("an unsigned 8x8 multiplier must be narrow")
	}
	rng := rand.New(rand.NewPCG(6, 6))
	g := convGeom(2, 4, 9, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2)
	x, w := codes(rng, g.XLen(), 0), codes(rng, g.WLen(), 0)
	want := make([]int32, g.YLen())
	Conv2dRef(want, x, w, 0, g, tab)
	for _, v := range variants(t) {
		got := make([]int32, g.YLen())
		if err := v.conv(got, x, w, 0, g, p, 2); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %v, %s", v.name, err, firstDiff(got, want))
		}
	}
}

// TestPackPanel checks GEMM's panel packing (8x8 word transposes plus
// scalar edges) against the plain definition, for lane and step counts
// around multiples of 8 and packs of part of the steps, and that it leaves
// everything else alone.
func TestPackPanel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, nl := range []int{1, 7, 8, 9, 63, 120, 256} {
		for _, k := range []int{1, 7, 8, 9, 17, 400} {
			width := roundLanes(nl)
			lanes := codes(rng, nl*k, 0)
			for _, span := range [][2]int{{0, k}, {0, min(8, k)}, {min(8, k), k}} {
				l0, l1 := span[0], span[1]
				panel := make([]byte, k*width)
				for i := range panel {
					panel[i] = 0xAA
				}
				packPanel(panel, width, lanes, k, nl, l0, l1)
				for l := 0; l < k; l++ {
					for q := 0; q < width; q++ {
						want := byte(0xAA)
						if q < nl && l >= l0 && l < l1 {
							want = lanes[q*k+l]
						}
						if got := panel[l*width+q]; got != want {
							t.Fatalf("nl %d k %d steps [%d, %d): panel[%d*%d+%d] = %d, want %d", nl, k, l0, l1, l, width, q, got, want)
						}
					}
				}
			}
		}
	}
}
