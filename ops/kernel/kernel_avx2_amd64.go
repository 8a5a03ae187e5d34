//go:build amd64 && !purego

package kernel

import (
	"slices"

	"github.com/goapprox/goapprox/internal/asm"
)

// The AVX2 kernel serves CPUs without AVX-512 VBMI. AVX2 has no 128-entry
// byte permute, so a 256-entry row is looked up 16 entries at a time, with
// VPSHUFB on 16-byte blocks of the byte planes (low and high bytes of
// entry-base): the shuffle zeroes the lanes whose index has bit 7 set.
// Picking out the lanes of one block takes two operations per block and
// vector (lower the codes by 16, saturate), but a window of all codes
// below a threshold takes one (a saturating add), so the kernel reads
// the planes rearranged as 16 nested windows whose bytes add up to the
// entries (layout.windows, see fillWindows) and sums the 16 shuffles of
// each plane with byte adds. That is five vector operations per block and
// 32 lanes, plus one 16-byte broadcast load per block and plane, shared
// by the two vectors (64 lanes) of a tile. The byte sums are then added
// as words and widened as in the AVX-512 kernel.
//
// Alternatives that were measured and lost:
//   - VPGATHERDD of the int32 row (eight lanes per gather, indices from
//     VPMOVZXBD): gathers are microcoded on AMD's Zen cores and ran no
//     faster than the portable Go kernel, alone or interleaved with the
//     shuffles;
//   - scalar lookups in assembly (a byte load and a table load per lookup,
//     four selector steps per pass over the lanes): bound by the load
//     ports, about as fast as the shuffles on one vector per tile and
//     slower than on two; mixing a few scalar lanes into the shuffle loop
//     (whose integer units are idle) gained little for the registers it
//     takes;
//   - the blocks themselves instead of windows, ORing the shuffles:
//     one more operation per block and vector.
//
// A row of lanes is done tile by tile, every tile walking all selector
// steps with its word sums in registers (one vector's last two in the
// frame); a trailing vector of at most 32 lanes runs alone. The kernel
// reads whole 32-byte vectors from every offset (the drivers guarantee
// maxLanes bytes), handles any k >= 1, and writes bias plus the sums of
// every lane of the vectors it touches, within out.

//go:noescape
func lutRowAVX2x2(windows *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)

//go:noescape
func lutRowAVX2x1(windows *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)

// avx2's costs, in its own lookups: building lanes (gather, copyRows),
// packing and the drivers' share of a call run the same Go code as with
// the portable kernel, so their costs are the portable ones scaled by how
// much cheaper a lookup is here; the call cost, which adds widening the
// sums of every tile, is fitted from GEMMs of small k. The step cost is
// small: a step's row is loaded block by block within the lookups, and
// GEMMs of 64 selector rows, k = 400 and 64 to 128 lanes, cost what their
// whole vectors of lanes cost along either operand. The pre-gathered
// path's costs are fitted to ResNet-20's and LeNet-5's convolutions at
// batches from 1 to 128, each forced onto either path, so that it is
// chosen where it ran faster: adding a lane of a step and building an
// entry of P each cost a small fraction of a lookup.
var avx2 = impl{name: "avx2", row: avx2Row, biased: true, enabled: asm.AVX2, gatherCost: 12, copyCost: 6, callCost: 500, stepCost: 8, packCost: 2,
	pg: pgAVX2, pg3: pg3AVX2, pgBuild: pgBuildAVX2Go, pgStore: pgStoreAVX2Go, pgStoreScaled: pgStoreScaledAVX2Go, pgRange: codeRangeAVX2Go, pgStep: 18, pgEntry: 18, pgOut: 256}

// The AVX-512 kernel, where present, stays last in impls, so current()
// picks it; the AVX2 kernel is still registered and tested there.
func init() {
	if asm.AVX2() {
		impls = slices.Insert(impls, 1, &avx2)
	}
}

func avx2Row(lay *layout, sel []byte, offs []int32, src []byte, lanes int, bias int32, out *[maxLanes]int32) {
	k := len(sel)
	if debugChecks {
		if len(offs) != k || k == 0 || lanes < 1 || lanes > maxLanes {
			panic("kernel: avx2Row called with bad sizes")
		}
		for _, o := range offs {
			if o < 0 || int(o)+maxLanes > len(src) {
				panic("kernel: avx2Row would read past src")
			}
		}
	}
	vecs := (lanes + 31) / 32
	pairs := vecs / 2
	if pairs > 0 {
		lutRowAVX2x2(&lay.windows, &sel[0], &offs[0], &src[0], k, int(bias), &out[0], pairs)
	}
	if vecs%2 == 1 {
		// The lone vector's lanes start 64*pairs bytes after each offset;
		// src holds maxLanes > 64*pairs bytes from offset 0 onwards.
		lutRowAVX2x1(&lay.windows, &sel[0], &offs[0], &src[64*pairs], k, int(bias), &out[64*pairs], 1)
	}
}

// The pre-gathered kernels (pregather.go) add one or two
// 16-lane units of P per step; they need only AVX2, so the AVX-512 kernel
// uses them too. They read single codes, so src needs no slack.

//go:noescape
func pgRowsAVX2x1(p *byte, offs *int32, steps int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)

//go:noescape
func pgRowsAVX2x2(p *byte, offs *int32, steps int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)

func pgAVX2(p []byte, width int, offs []int32, src []byte, bases []int32, acc []uint32, flags int, bias int32) {
	steps, n := len(offs), len(bases)
	if steps == 0 || n == 0 {
		pgGo(p, width, offs, src, bases, acc, flags, bias)
		return
	}
	// Slicing checks that P and acc hold what the kernel touches.
	p = p[:steps*pgStepBytes(width)]
	acc = acc[:n*width]
	if debugChecks {
		lo, hi := slices.Min(bases)+slices.Min(offs), slices.Max(bases)+slices.Max(offs)
		if width%pgUnit != 0 || width > pgMaxWidth || lo < 0 || int(hi) >= len(src) {
			panic("kernel: pgAVX2 would read outside src or P")
		}
	}
	if width == pgUnit {
		pgRowsAVX2x1(&p[0], &offs[0], steps, &src[0], &bases[0], n, &acc[0], flags, int(bias))
	} else {
		pgRowsAVX2x2(&p[0], &offs[0], steps, &src[0], &bases[0], n, &acc[0], flags, int(bias))
	}
}

//go:noescape
func pg3RowsAVX2x1(p *byte, chans, plane, wp int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)

//go:noescape
func pg3RowsAVX2x2(p *byte, chans, plane, wp int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)

func pg3AVX2(p []byte, width, chans, plane, wp int, src []byte, bases []int32, acc []uint32, flags int, bias int32) {
	n := len(bases)
	if chans == 0 || n == 0 {
		pg3Go(p, width, chans, plane, wp, src, bases, acc, flags, bias)
		return
	}
	// Slicing checks that P and acc hold what the kernel touches.
	p = p[:9*chans*pgStepBytes(width)]
	acc = acc[:n*width]
	if debugChecks {
		lo, hi := int(slices.Min(bases)), int(slices.Max(bases))+(chans-1)*plane+2*wp+2
		if width%pgUnit != 0 || width > pgMaxWidth || lo < 0 || hi >= len(src) {
			panic("kernel: pg3AVX2 would read outside src or P")
		}
	}
	if width == pgUnit {
		pg3RowsAVX2x1(&p[0], chans, plane, wp, &src[0], &bases[0], n, &acc[0], flags, int(bias))
	} else {
		pg3RowsAVX2x2(&p[0], chans, plane, wp, &src[0], &bases[0], n, &acc[0], flags, int(bias))
	}
}

//go:noescape
func pgBuildAVX2(dst *byte, rowBytes int, tab *[257][256]uint16, rowOffs *int64, units, from, to int)

func pgBuildAVX2Go(dst []byte, width int, tab *[257][256]uint16, rows *[pgMaxWidth]int64, lo, hi int) {
	dst = dst[:256*2*width]
	from, to := pgBuildSpan(lo, hi)
	if debugChecks {
		for _, r := range rows[:width] {
			if r < 0 || r > 256*512 || r%512 != 0 || width%pgUnit != 0 || width > pgMaxWidth {
				panic("kernel: pgBuildAVX2 would read outside the table")
			}
		}
		if from < 0 || to > 256 || from >= to {
			panic("kernel: pgBuildAVX2 given codes outside 0..255")
		}
	}
	pgBuildAVX2(&dst[from*2*width], 2*width, tab, &rows[0], width/pgUnit, 2*from, 2*to)
}

//go:noescape
func codeRangeAVX2(src *byte, n int) (lo, hi uint8)

// codeRangeAVX2Go is codeRangeGo on whole blocks of 128 bytes, the rest in
// Go.
func codeRangeAVX2Go(src []byte) (lo, hi byte) {
	n := len(src) &^ 127
	if n == 0 {
		return codeRangeGo(src)
	}
	lo, hi = codeRangeAVX2(&src[0], n)
	if n < len(src) {
		tl, th := codeRangeGo(src[n:])
		lo, hi = min(lo, tl), max(hi, th)
	}
	return lo, hi
}

//go:noescape
func pgStoreAVX2(out *int32, opos int, acc *uint32, width int, nl int, groups int)

func pgStoreAVX2Go(out []int32, opos int, acc []uint32, width, nl, groups int) {
	if groups <= 0 || nl <= 0 {
		return
	}
	// Slicing checks the bounds of everything the kernel touches.
	out = out[:(nl-1)*opos+8*groups]
	acc = acc[:8*groups*width]
	if debugChecks && (width%pgUnit != 0 || nl > width) {
		panic("kernel: pgStoreAVX2 would read past a row's lanes")
	}
	pgStoreAVX2(&out[0], opos, &acc[0], width, nl, groups)
}

//go:noescape
func pgStoreScaledAVX2(out *float32, opos int, acc *uint32, width int, nl int, groups int, corr, scale *float64)

func pgStoreScaledAVX2Go(out []float32, opos int, acc []uint32, width, nl, groups int, corr, scale []float64) {
	if groups <= 0 || nl <= 0 {
		return
	}
	// Slicing checks the bounds of everything the kernel touches.
	out = out[:(nl-1)*opos+8*groups]
	acc = acc[:8*groups*width]
	corr, scale = corr[:nl], scale[:nl]
	if debugChecks && (width%pgUnit != 0 || nl > width) {
		panic("kernel: pgStoreScaledAVX2 would read past a row's lanes")
	}
	pgStoreScaledAVX2(&out[0], opos, &acc[0], width, nl, groups, &corr[0], &scale[0])
}
