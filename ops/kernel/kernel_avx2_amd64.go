//go:build amd64 && !purego

package kernel

import (
	"slices"

	"golang.org/x/sys/cpu"
)

// The AVX2 kernel serves CPUs without AVX-512 VBMI. AVX2 has no 128-entry
// byte permute, so a 256-entry row is looked up 16 entries at a time: for
// each of the row's 16 blocks, VPSHUFB on that block's bytes of the two
// byte planes (low and high bytes of entry-base), with the lane codes
// shifted so that only the lanes whose code lies in the block have bit 7
// clear (VPSHUFB zeroes the others). The 16 partial results are ORed, then
// summed as words and widened as in the AVX-512 kernel. That is six vector
// operations per block and 32 lanes, which the byte planes make cheap:
// each block of a plane is one 16-byte broadcast load.
//
// Alternatives that were measured and lost:
//   - VPGATHERDD of the int32 row (eight lanes per gather, indices from
//     VPMOVZXBD): gathers are microcoded on the AMD cores this kernel is
//     for and ran no faster than the portable Go kernel, alone or
//     interleaved with the shuffles;
//   - scalar lookups in assembly (a byte load and a table load per lookup,
//     four selector steps per pass over the lanes): bound by the load
//     ports, about as fast as one 32-lane shuffle tile and slower than two;
//     mixing a few scalar lanes into the shuffle loop (the integer units
//     are idle there) gained little for the registers it takes.
//
// Two vectors (64 lanes) share each block's broadcast loads; a row of
// lanes is done tile by tile, every tile walking all selector steps with
// its word sums in registers (one vector's last two in the frame). A
// trailing vector of at most 32 lanes runs alone. The kernel reads whole
// 32-byte vectors from every offset (the drivers guarantee maxLanes
// bytes), handles any k >= 1, and writes bias plus the sums of every lane
// of the vectors it touches, within out.

//go:noescape
func lutRowAVX2x2(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)

//go:noescape
func lutRowAVX2x1(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)

// avx2's costs, in its own lookups: building lanes (gather, copyRows),
// packing and the drivers' share of a call are the same Go code as for
// the portable kernel, so their costs are the portable ones scaled by how
// much cheaper a lookup is here; the call cost adds widening the sums of
// every tile, fitted from GEMMs of small k. The step cost is small: a step
// loads its row's blocks as part of the lookups, and GEMMs of 64 selector
// rows, k = 400 and 64 to 128 lanes, cost what their whole vectors of
// lanes cost along either operand.
var avx2 = impl{name: "avx2", row: avx2Row, biased: true, gatherCost: 10, copyCost: 5, callCost: 550, stepCost: 8, packCost: 2}

// The AVX-512 kernel, where present, stays last in impls, so current()
// picks it; the AVX2 kernel is still registered and tested there.
func init() {
	if cpu.X86.HasAVX2 {
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
		lutRowAVX2x2(&lay.planes, &sel[0], &offs[0], &src[0], k, int(bias), &out[0], pairs)
	}
	if vecs%2 == 1 {
		// The lone vector's lanes start 64*pairs bytes after each offset;
		// src holds maxLanes > 64*pairs bytes from offset 0 onwards.
		lutRowAVX2x1(&lay.planes, &sel[0], &offs[0], &src[64*pairs], k, int(bias), &out[64*pairs], 1)
	}
}
