package kernel

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/goapprox/goapprox/ops/geom"
)

// TestPregatherKernels checks every implementation's pre-gathered kernel
// against the definition, Σ over the steps of the P entry each selector
// code picks, at every chunk width, with step counts around one, P entries
// at the edges (0 and 0xFFFF, the largest pair words), overlapping offsets
// and a second call that adds to the sums of the first.
func TestPregatherKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, im := range impls {
		kern := im.pgKernel()
		for width := pgUnit; width <= pgMaxWidth; width += pgUnit {
			for _, steps := range [][2]int{{1, 0}, {1, 1}, {2, 3}, {7, 30}, {40, 1}} {
				k := steps[0] + steps[1]
				step := pgStepBytes(width)
				p := randomP(rng, k*step, 0xFFFF)
				src := codes(rng, 300, 0)
				offs := make([]int32, k)
				for l := range offs {
					offs[l] = int32(rng.IntN(100))
				}
				n := 1 + rng.IntN(40)
				bases := make([]int32, n)
				for i := range bases {
					bases[i] = int32(rng.IntN(200))
				}
				acc := make([]uint32, n*width+5)
				for i := range acc {
					acc[i] = rng.Uint32() // first must overwrite these
				}
				tail := append([]uint32(nil), acc[n*width:]...)
				k0 := steps[0]
				bias := int32(rng.Uint32())
				if k > k0 {
					kern(p[:k0*step], width, offs[:k0], src, bases, acc, pgFirst, bias)
					kern(p[k0*step:], width, offs[k0:], src, bases, acc, pgLast, bias)
				} else {
					kern(p, width, offs, src, bases, acc, pgFirst|pgLast, bias)
				}
				for i, b := range bases {
					got := acc[i*width:][:width]
					for q := range width {
						want := bias
						for l, o := range offs {
							s := int(src[int(b)+int(o)])
							want += int32(binary.LittleEndian.Uint16(p[l*step+(s*width+q)*2:]))
						}
						if int32(got[q]) != want {
							t.Fatalf("%s width %d steps %v row %d lane %d: %d, want %d", im.name, width, steps, i, q, got[q], want)
						}
					}
				}
				for i, v := range acc[n*width:] {
					if v != tail[i] {
						t.Fatalf("%s width %d: wrote past the rows' sums", im.name, width)
					}
				}
			}
		}
	}
}

// randomP returns n bytes of P: random uint16 entries up to hi, half of
// them at the edges (0 and hi: 0xFFFF makes the largest pair words, 0x7FFF
// the largest entries pgPairs allows).
func randomP(rng *rand.Rand, n int, hi uint16) []byte {
	p := make([]byte, n)
	for i := 0; i < len(p); i += 2 {
		v := uint16(rng.UintN(uint(hi) + 1))
		switch rng.IntN(4) {
		case 0:
			v = hi
		case 1:
			v = 0
		}
		binary.LittleEndian.PutUint16(p[i:], v)
	}
	return p
}

// TestPregatherBuilders checks every implementation's builder of P against
// the definition, at every chunk width, with lanes padded by the zero row
// and codes at the edges, on a table whose entries are all distinct: the
// rows of the codes asked for (whole groups of eight) and no others.
func TestPregatherBuilders(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	tab := new([65536]int32)
	for i := range tab {
		tab[i] = int32(i) - 1000 // entry-base = x<<8|w, all distinct
	}
	p := Prepare(tab)
	spans := [][2]int{{0, 255}, {0, 127}, {128, 255}, {0, 0}, {255, 255}, {9, 9}, {7, 8}, {40, 90}}
	for _, im := range impls {
		build := im.pgBuilder()
		for i := range 2 * len(spans) {
			width := pgUnit + i%2*pgUnit
			lo, hi := spans[i/2][0], spans[i/2][1]
			from, to := lo&^7, hi|7+1
			nl := width - rng.IntN(pgUnit)
			var rows [pgMaxWidth]int64
			lanes := codes(rng, width, 0)
			for q := range rows {
				rows[q] = 256 * 512
				if q < nl {
					rows[q] = 512 * int64(lanes[q])
				}
			}
			dst := make([]byte, 256*2*width+7)
			for i := range dst {
				dst[i] = 0xA5
			}
			build(dst, width, &p.pgRows, &rows, lo, hi)
			for s := range 256 {
				for q := range width {
					want := uint16(0xA5A5) // rows outside the span are left alone
					if s >= from && s < to {
						want = 0
						if q < nl {
							want = uint16(s<<8 | int(lanes[q]))
						}
					}
					if got := binary.LittleEndian.Uint16(dst[(s*width+q)*2:]); got != want {
						t.Fatalf("%s width %d, codes %d..%d: row %d lane %d = %#x, want %#x", im.name, width, lo, hi, s, q, got, want)
					}
				}
			}
			for _, b := range dst[256*2*width:] {
				if b != 0xA5 {
					t.Fatalf("%s width %d: wrote past the rows", im.name, width)
				}
			}
		}
	}
}

// TestPregatherChoice checks where the cost estimates of the AVX2
// implementation take the pre-gathered path: the convolutions of a CIFAR
// ResNet-20 at batch 128, LeNet-5's conv2 and a pointwise conv on 56x56
// maps (many output positions per weight), and large GEMMs; not the
// depthwise layers (one output channel per group) nor the linear layers
// of a batch of 64, where building the rows would cost more than it saves.
// A path that is never chosen would pass the conformance suite and still
// leave every layer on the slower one.
func TestPregatherChoice(t *testing.T) {
	var im *impl
	for _, c := range impls {
		if c.name == "avx2" {
			im = c
		}
	}
	if im == nil {
		t.Skip("no AVX2 kernel in this build or on this CPU")
	}
	p := benchTable()
	want := map[string]bool{"lenet5-conv2": true, "mobilenetv2-pw": true,
		"mobilenetv2-dw": false, "mobilenetv2-dw-s2": false, "zoo-b1.dw": false, "zoo-b5.dw": false}
	convs := append(benchConvs, benchResNet20Convs...)
	for _, c := range benchResNet20Convs {
		want[c.name] = true
	}
	for _, c := range convs {
		w, ok := want[c.name]
		if !ok {
			continue
		}
		for _, threads := range []int{1, 2} {
			var j convJob
			j.init(im, nil, nil, nil, 0, c.g, p)
			if got := j.picksPregather(p, threads); got != w {
				t.Errorf("%s, %d threads: pre-gathered %v, want %v", c.name, threads, got, w)
			}
		}
	}
	for _, c := range benchLinears {
		if gemmPicksPregather(im, p, c.m, c.n, c.k, 2) {
			t.Errorf("%s: GEMM takes the pre-gathered path", c.name)
		}
	}
	if !gemmPicksPregather(im, p, 512, 512, 512, 2) {
		t.Error("512x512x512 GEMM: not pre-gathered")
	}
	// A wide table cannot be held as uint16 rows.
	wide := new([65536]int32)
	wide[1] = 1 << 20
	if gemmPicksPregather(im, Prepare(wide), 512, 512, 512, 2) {
		t.Error("wide table: pre-gathered")
	}
}

// TestPregatherStores checks every implementation's store of a
// convolution's sums against the definition, lane q of row t to
// out[q*opos+t], for every chunk width, lane counts that are not multiples
// of the store's eight, one to three blocks of rows, and that nothing else
// in out is written (the lanes past nl belong to other channels).
func TestPregatherStores(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, im := range impls {
		st := im.pgStorer()
		for width := pgUnit; width <= pgMaxWidth; width += pgUnit {
			for _, nl := range []int{1, 7, 8, 9, width - 1, width} {
				for groups := 1; groups <= 3; groups++ {
					rows := 8 * groups
					opos := rows + rng.IntN(5)
					acc := make([]uint32, rows*width)
					for i := range acc {
						acc[i] = rng.Uint32()
					}
					out := make([]int32, width*opos+3)
					for i := range out {
						out[i] = -7
					}
					st(out, opos, acc, width, nl, groups)
					for i, v := range out {
						q, r := i/opos, i%opos
						want := int32(-7)
						if q < nl && r < rows {
							want = int32(acc[r*width+q])
						}
						if v != want {
							t.Fatalf("%s width %d nl %d groups %d: out[%d] (lane %d, row %d) = %d, want %d", im.name, width, nl, groups, i, q, r, v, want)
						}
					}
				}
			}
		}
	}
}

// TestPregather3x3Kernels checks every implementation's kernel for 3×3
// taps against the definition on the taps' offsets (pg3Go), at every chunk
// width, with one to five channels, P entries at the edges (with pgPairs,
// of its range), codes at the end of src, and a second call that adds to
// the sums of the first.
func TestPregather3x3Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	tested := 0
	for _, im := range impls {
		if im.pg3 == nil {
			continue
		}
		tested++
		for i := range 2 * (pgMaxWidth / pgUnit) {
			width, pairs := pgUnit*(1+i/2), i%2 == 1
			for _, chans := range [][2]int{{1, 0}, {1, 1}, {2, 3}, {5, 0}} {
				c := chans[0] + chans[1]
				step := pgStepBytes(width)
				hi, flags := uint16(0xFFFF), 0
				if pairs {
					hi, flags = 0x7FFF, pgPairs
				}
				p := randomP(rng, 9*c*step, hi)
				wp := 3 + rng.IntN(20)
				plane := wp * (3 + rng.IntN(5))
				n := 1 + rng.IntN(40)
				// bases up to the last row whose taps fit in src exactly
				span := (c-1)*plane + 2*wp + 3
				maxBase := 50
				src := codes(rng, maxBase+span, 0)
				bases := make([]int32, n)
				for i := range bases {
					bases[i] = int32(rng.IntN(maxBase + 1))
				}
				bases[0] = int32(maxBase)
				bias := int32(rng.Uint32())
				got := make([]uint32, n*width+5)
				for i := range got {
					got[i] = rng.Uint32() // first must overwrite these
				}
				want := append([]uint32(nil), got...)
				run := func(kern pg3Func, acc []uint32) {
					c0 := chans[0]
					if chans[1] == 0 {
						kern(p, width, c0, plane, wp, src, bases, acc, flags|pgFirst|pgLast, bias)
						return
					}
					kern(p[:9*c0*step], width, c0, plane, wp, src, bases, acc, flags|pgFirst, bias)
					kern(p[9*c0*step:], width, chans[1], plane, wp, src[c0*plane:], bases, acc, flags|pgLast, bias)
				}
				run(im.pg3, got)
				run(pg3Go, want)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s width %d pairs %v channels %v (plane %d, wp %d), sum %d (row %d): %d, want %d",
							im.name, width, pairs, chans, plane, wp, i, i/width, got[i], want[i])
					}
				}
			}
		}
	}
	if tested == 0 {
		t.Skip("no implementation here has a kernel for 3×3 taps")
	}
}

// Tables whose entries span at most 32767 add in pairs; one more and they
// do not, nor do tables that are not narrow.
func TestPreparedPairs(t *testing.T) {
	for _, c := range []struct {
		lo, hi int32
		pairs  bool
	}{{-16256, 16384, true}, {0, 0x7FFF, true}, {-5, 0x7FFF - 5, true}, {-5, 0x7FFF - 4, false}, {0, 0x8000, false}, {0, 65025, false}, {-1 << 20, 1 << 20, false}} {
		table := new([65536]int32)
		table[3], table[60000] = c.lo, c.hi
		if p := Prepare(table); p.pairs != c.pairs {
			t.Errorf("entries %d..%d: pairs %v, want %v", c.lo, c.hi, p.pairs, c.pairs)
		}
	}
}

// TestCodeRange checks every implementation's scan for the smallest and
// largest code against the definition: lengths around the vector blocks,
// unaligned starts, extremes planted anywhere, including first and last.
func TestCodeRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	buf := make([]byte, 1100)
	for _, im := range impls {
		scan := im.pgRanger()
		for n := range 700 {
			off := rng.IntN(64)
			src := buf[off : off+n]
			base := byte(rng.IntN(256))
			spread := 1 + rng.IntN(40)
			for i := range src {
				src[i] = byte(min(255, int(base)+rng.IntN(spread)))
			}
			if n > 0 && rng.IntN(2) == 0 {
				src[[]int{0, n - 1, rng.IntN(n)}[rng.IntN(3)]] = byte(rng.IntN(256))
			}
			wantLo, wantHi := byte(255), byte(0)
			for _, v := range src {
				wantLo, wantHi = min(wantLo, v), max(wantHi, v)
			}
			if lo, hi := scan(src); lo != wantLo || hi != wantHi {
				t.Fatalf("%s, %d codes: range %d..%d, want %d..%d", im.name, n, lo, hi, wantLo, wantHi)
			}
		}
	}
}

// TestPregatherCodeRanges runs the pre-gathered path of every
// implementation on selector codes confined to part of 0..255, the pad
// code inside or outside it, with P filled with a pattern before each
// block is built: a kernel reading a row the builder left out returns
// wrong sums.
func TestPregatherCodeRanges(t *testing.T) {
	defer func(old bool) { pgPoison = old }(pgPoison)
	pgPoison = true
	rng := rand.New(rand.NewPCG(43, 44))
	tab := testTables()[0].t // int16: entries add in pairs
	p := Prepare(tab)
	spans := [][2]int{{0, 127}, {128, 255}, {0, 0}, {255, 255}, {37, 37}, {40, 90}, {7, 8}}
	convs := []geom.Conv{
		convGeom(2, 3, 9, 11, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1),  // 3×3 taps, padded
		convGeom(2, 2, 8, 9, 33, 3, 3, 1, 1, 0, 0, 1, 1, 1),   // 3×3 taps, no padding
		convGeom(1, 3, 10, 10, 16, 5, 5, 2, 1, 2, 1, 1, 1, 1), // other taps
	}
	for _, im := range impls {
		for si, sp := range spans {
			sel := func(n int) []byte {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(sp[0] + rng.IntN(sp[1]-sp[0]+1))
				}
				return b
			}
			for gi, g := range convs {
				pad := byte([]int{sp[0], 200, 3}[(si+gi)%3])
				x, w := sel(g.XLen()), codes(rng, g.WLen(), 0)
				want := make([]int32, g.YLen())
				Conv2dRef(want, x, w, pad, g, tab)
				got := make([]int32, g.YLen())
				if err := convWith(im, convPregather, got, x, w, pad, g, p, 2); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s conv %d, codes %d..%d, pad %d: first difference at %s", im.name, gi, sp[0], sp[1], pad, firstDiff(got, want))
				}
			}
			m, n, k := 37, 40, 29
			x, w := sel(m*k), codes(rng, n*k, 0)
			want := make([]int32, m*n)
			GEMMRef(want, x, w, m, n, k, tab)
			got := make([]int32, m*n)
			if err := gemmWith(im, gemmPregather, got, x, w, m, n, k, p, 2); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s GEMM, codes %d..%d: first difference at %s", im.name, sp[0], sp[1], firstDiff(got, want))
			}
		}
	}
}

// TestPregatherCodeRangeParts runs the pre-gathered path on an input
// large enough that the padder runs in several parts, padded and not,
// with the codes in 40..90 but for a 5 near the start and a 200 at the
// very end (the first and last part), and P poisoned before each block:
// each part's codes must reach the merged range.
func TestPregatherCodeRangeParts(t *testing.T) {
	defer func(old bool) { pgPoison = old }(pgPoison)
	pgPoison = true
	rng := rand.New(rand.NewPCG(45, 46))
	tab := testTables()[0].t
	p := Prepare(tab)
	for _, pad := range []int{1, 0} {
		g := convGeom(4, 16, 32, 32, 16, 3, 3, 1, 1, pad, pad, 1, 1, 1)
		x := make([]byte, g.XLen())
		for i := range x {
			x[i] = byte(40 + rng.IntN(51))
		}
		x[1], x[len(x)-1] = 5, 200
		w := codes(rng, g.WLen(), 0)
		want := make([]int32, g.YLen())
		Conv2dRef(want, x, w, 60, g, tab)
		for _, im := range impls {
			got := make([]int32, g.YLen())
			if err := convWith(im, convPregather, got, x, w, 60, g, p, 4); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s padding %d: first difference at %s", im.name, pad, firstDiff(got, want))
			}
		}
	}
}
