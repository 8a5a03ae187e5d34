package kernel

import "sync/atomic"

// How the kernels are fast: both are one row kernel. A "selector" code (an
// activation code in a GEMM whose lanes are weights, a weight code
// otherwise) picks a 256-entry table row that is looked up with up to 256
// "lane" codes at once: weights of many output features, or activations of
// many output positions. On amd64 CPUs with AVX-512 VBMI the row is held as
// two byte planes in eight vector registers and 64 lanes are looked up with
// four byte permutes (VPERMI2B); on other amd64 CPUs with AVX2 the
// row is looked up 16 entries at a time with byte shuffles (VPSHUFB), 64
// lanes per tile (kernel_avx2_amd64.go). Tables whose entries span more
// than 65535 are served by the portable Go kernel, which is also used on other CPUs,
// with the build tag purego, or after SetAssembly(false). A convolution
// builds, per task, the input bytes its lanes read in one of several
// layouts (column panel, stride-phase planes, column-shifted planes, each
// optionally stacked across images), chosen by a cost estimate from
// per-byte and per-step costs measured for each kernel (see Conv2d and
// impl). When the lanes are weights and thousands of selector rows share
// them, a GEMM or convolution can instead take the pre-gathered path,
// which lays out each step's table rows for the call's lanes once and then
// adds whole rows without lookups (pregather.go); the same estimates
// choose it.

// maxLanes is the widest block of lanes one row-kernel call computes. The
// drivers guarantee that src holds maxLanes bytes from every offset they
// pass, so a SIMD kernel may read whole vectors past the last real lane.
const maxLanes = 256

// impl is one implementation of the row kernel that GEMM and Conv2d are
// built on. For lanes q < lanes it computes
//
//	out[q] = bias + Σ_l lay.rows[sel[l]][src[offs[l]+q]]   (minus base per product if biased)
//
// Everything else (packing, im2col, threading, writing results) is shared,
// so a new implementation only needs a row function and an entry in impls;
// the conformance suite then tests it automatically.
type impl struct {
	name string
	// row computes one selector row over a block of at most maxLanes lanes.
	// len(sel) == len(offs) >= 1.
	row func(lay *layout, sel []byte, offs []int32, src []byte, lanes int, bias int32, out *[maxLanes]int32)
	// biased kernels read the byte planes, which hold entry-base: the
	// drivers pass bias = k*base. Such kernels need narrow tables;
	// wide tables are routed to the portable kernel instead.
	biased bool
	// gatherCost and copyCost are what Conv2d's choice of input layout
	// counts for building one byte of lanes, in table lookups of this
	// kernel: a byte of a column panel (gathered a few bytes per row of
	// output) and a byte of direct-mode planes (whole rows copied).
	// Measured on LeNet-5's and MobileNetV2's layers; a SIMD lookup is so
	// cheap that building the lanes costs more than looking them up.
	gatherCost, copyCost int
	// callCost is the fixed cost, in lookups, of one row-kernel call on a
	// block of lanes (with its offsets and the copy of its sums to the
	// output) and of one task; stepCost that of one selector step of a
	// call (loading its table row), whatever the block's width. Rough
	// figures from the zoo's depthwise layers and LeNet-5's convs; the
	// SIMD step cost from GEMMs of 64 selector rows, k = 400 and 72 to
	// 110 lanes, where lanes along either operand cost the same at about
	// 85 lanes: the 512-byte row comes from L2 (the planes of one layout
	// are 128 KiB), which takes about as long as looking up two vectors of
	// 64 lanes.
	callCost, stepCost int
	// enabled says whether the CPU runs this kernel and assembly is on
	// (internal/asm); nil for the portable kernel, which always runs.
	enabled func() bool
	// packCost is what GEMM's choice of orientation counts for packing
	// one byte of the lane operand into its panel (an 8x8 transpose in
	// 64-bit words), in lookups of this kernel.
	packCost int
	// pg, pgBuild, pgStore, pgStoreScaled and pgRange are the
	// pre-gathered kernel, the builder of its rows, the stores of a
	// convolution's sums (as integers and rescaled to floats) and the scan
	// for the codes that select (pregather.go), nil for the portable ones;
	// pg3 is the pre-gathered kernel for 3×3 taps, nil where pg runs
	// those too. pgStep, pgEntry and pgOut are the path's
	// costs in 1/64 lookups of this implementation: adding one lane of
	// one step, building one entry of P, and writing one sum. pgStep 0
	// keeps the path from being chosen (it can still be forced).
	pg                     pgFunc
	pg3                    pg3Func
	pgBuild                pgBuildFunc
	pgStore                pgStoreFunc
	pgStoreScaled          pgStoreScaledFunc
	pgRange                func(src []byte) (lo, hi byte) // the smallest and largest code in src (codeRangeGo's contract)
	pgStep, pgEntry, pgOut int
}

// impls lists every implementation this build carries, portable first.
// Architecture files append theirs in init when the CPU supports them.
var impls = []*impl{&portable}

// useAssembly selects the SIMD kernels of this package where internal/asm
// allows them.
var useAssembly atomic.Bool

func init() { useAssembly.Store(true) }

// SetAssembly turns this package's SIMD kernels on or off for every later
// call and returns the previous setting. Off forces the portable Go
// kernel, which computes the same integers, so results do not change; it
// exists for tests and benchmarks. The float kernels are not affected
// (their results differ in the last bits without assembly); the switch of
// internal/asm turns all of the module's assembly off, and the build tag
// purego removes it altogether.
func SetAssembly(on bool) (previous bool) { return useAssembly.Swap(on) }

// Implementation names the kernel that GEMM and Conv2d use for p at present
// ("go", "avx2" or "avx512vbmi").
func Implementation(p *Prepared) string { return current().forTable(p).name }

// current is the implementation exported functions use.
func current() *impl {
	if useAssembly.Load() {
		for i := len(impls) - 1; i > 0; i-- {
			if impls[i].enabled() {
				return impls[i]
			}
		}
	}
	return &portable
}

// forTable falls back to the portable kernel for tables the implementation
// cannot hold.
func (im *impl) forTable(p *Prepared) *impl {
	if im.biased && !p.narrow {
		return &portable
	}
	return im
}

// portable is the pure-Go kernel: the table row for one selector code is
// reused across the whole block of lanes, two selector steps per pass to
// halve the traffic on the accumulators.
var portable = impl{name: "go", row: portableRow, gatherCost: 6, copyCost: 3, callCost: 300, stepCost: 4, packCost: 1}

func portableRow(lay *layout, sel []byte, offs []int32, src []byte, lanes int, bias int32, out *[maxLanes]int32) {
	acc := out[:lanes]
	l := 0
	if len(sel)%2 == 1 {
		row := &lay.rows[sel[0]]
		xs := src[offs[0]:][:len(acc)]
		for q, v := range xs {
			acc[q] = bias + row[v]
		}
		l = 1
	} else {
		for q := range acc {
			acc[q] = bias
		}
	}
	for ; l+1 < len(sel); l += 2 {
		r0, r1 := &lay.rows[sel[l]], &lay.rows[sel[l+1]]
		x0 := src[offs[l]:][:len(acc)]
		x1 := src[offs[l+1]:][:len(acc)]
		for q := range acc {
			acc[q] += r0[x0[q]] + r1[x1[q]]
		}
	}
}
