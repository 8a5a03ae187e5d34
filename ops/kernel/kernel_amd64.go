//go:build amd64 && !purego

package kernel

import "github.com/goapprox/goapprox/internal/asm"

// The AVX-512 VBMI kernel keeps the two byte planes of one table row in eight
// vector registers and looks up 64 lane codes with two masked 128-entry byte
// permutes (VPERMI2B) per plane, for 64, 128 or 256 lanes per selector step.
// It reads whole 64-byte vectors, so src must hold tiles*64 bytes from every
// offset (the drivers guarantee maxLanes), handles any k >= 1, and writes
// bias plus the sums of 64, 128 or 256 lanes to out.

//go:noescape
func lutRow1(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32)

//go:noescape
func lutRow2(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32)

//go:noescape
func lutRow4(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32)

//go:noescape
func splitBytesAVX(even, odd, in *byte, n int)

//go:noescape
func copyRowsAVX(dst, src *byte, shape *copyShape)

// copyRowsAVX2 is copyRowsAVX for CPUs without AVX-512, rows of 8 to 64
// bytes (kernel_avx2_amd64.s); it needs asm.AVX2.
//
//go:noescape
func copyRowsAVX2(dst, src *byte, shape *copyShape)

//go:noescape
func storeRowsAVX(acc *int32, out *int32, rows, y int, rg *rowGeom)

//go:noescape
func copyRunsAVX(acc *int32, out *int32, runs *run, n int)

// splitBytesAVX needs asm.AVX512BW; copyRowsAVX, copyRunsAVX and
// storeRowsAVX need asm.AVX512BWBMI2 (masked moves, masks made by BZHI).
// All of them also follow SetAssembly.

// copyRows copies images blocks of rows rows of width bytes from src,
// rows srcPitch and blocks srcImage apart, to dst, rows dstPitch and
// blocks dstImage apart: the rows of one channel in several images. Rows
// of small maps are a few bytes long: one masked load and store each (a
// row of up to 64 bytes), or without AVX-512 two overlapping ones, is
// much cheaper than a call or a loop per row.
// It also asks the CPU to fetch each row of the next image while copying
// a row (the images of one channel are far apart in memory).
func copyRows(dst []byte, dstPitch, dstImage int, src []byte, srcPitch, srcImage, rows, width, images int) {
	if rows <= 0 || width <= 0 || images <= 0 {
		return
	}
	// Slicing checks the bounds of the whole copy once.
	dst = dst[:(images-1)*dstImage+(rows-1)*dstPitch+width]
	src = src[:(images-1)*srcImage+(rows-1)*srcPitch+width]
	switch {
	case width > 64 || !useAssembly.Load():
	case asm.AVX512BWBMI2():
		copyRowsAVX(&dst[0], &src[0], &copyShape{dstPitch, dstImage, srcPitch, srcImage, rows, width, images})
		return
	case asm.AVX2() && width >= 8:
		copyRowsAVX2(&dst[0], &src[0], &copyShape{dstPitch, dstImage, srcPitch, srcImage, rows, width, images})
		return
	}
	copyRowsGo(dst, dstPitch, dstImage, src, srcPitch, srcImage, rows, width, images)
}

// copyShape is copyRowsAVX's description of a copy (see copyRows).
type copyShape struct{ dstPitch, dstImage, srcPitch, srcImage, rows, width, images int }

// copyRuns copies each run of sums from out to acc, with masked stores:
// runs of small maps are rows of a few sums, too short for a memmove call
// to pay off.
func copyRuns(acc []int32, out *[maxLanes]int32, runs []run) {
	if len(runs) == 0 {
		return
	}
	if !asm.AVX512BWBMI2() || !useAssembly.Load() {
		copyRunsGo(acc, out, runs)
		return
	}
	if debugChecks {
		for _, r := range runs {
			if r.n < 1 || r.lane < 0 || r.lane+r.n > maxLanes || r.dst < 0 || r.dst+r.n > len(acc) {
				panic("kernel: copyRuns would write outside acc")
			}
		}
	}
	copyRunsAVX(&acc[0], &out[0], &runs[0], len(runs))
}

// splitBytesSIMD does the first multiple of 32 bytes of splitBytes with
// AVX-512 and returns how many it did.
func splitBytesSIMD(even, odd, in []byte) int {
	n := len(even) &^ 31
	if n == 0 || !asm.AVX512BW() || !useAssembly.Load() {
		return 0
	}
	splitBytesAVX(&even[0], &odd[:n][0], &in[:2*n][0], n)
	return n
}

var avx512 = impl{name: "avx512vbmi", row: avxRow, biased: true, enabled: asm.AVX512VBMI, gatherCost: 24, copyCost: 10, callCost: 1000, stepCost: 128, packCost: 4, pg: pgAVX2, pg3: pg3AVX2, pgBuild: pgBuildAVX2Go, pgStore: pgStoreAVX2Go, pgStoreScaled: pgStoreScaledAVX2Go, pgRange: codeRangeAVX2Go}

func init() {
	if asm.AVX512VBMI() {
		impls = append(impls, &avx512)
	}
}

// debugChecks makes avxRow verify the driver's promise about src; tests
// turn it on.
var debugChecks = false

func avxRow(lay *layout, sel []byte, offs []int32, src []byte, lanes int, bias int32, out *[maxLanes]int32) {
	k := len(sel)
	if debugChecks {
		if len(offs) != k || k == 0 || lanes < 1 || lanes > maxLanes {
			panic("kernel: avxRow called with bad sizes")
		}
		for _, o := range offs {
			if o < 0 || int(o)+maxLanes > len(src) {
				panic("kernel: avxRow would read past src")
			}
		}
	}
	switch {
	case lanes <= 64:
		lutRow1(&lay.planes, &sel[0], &offs[0], &src[0], k, int(bias), &out[0])
	case lanes <= 128:
		lutRow2(&lay.planes, &sel[0], &offs[0], &src[0], k, int(bias), &out[0])
	default:
		lutRow4(&lay.planes, &sel[0], &offs[0], &src[0], k, int(bias), &out[0])
	}
}

// storeRows stores the sums of rows whole rows of a block whose first row
// is output row y of the image at acc[0] (see rowGeom), a masked store per
// 16 sums: on small maps a block holds up to 32 rows of a few sums each.
func storeRows(acc []int32, out *[maxLanes]int32, rows, y int, rg *rowGeom) {
	if !asm.AVX512BWBMI2() || !useAssembly.Load() {
		storeRowsGo(acc, out, rows, y, rg)
		return
	}
	if debugChecks {
		// The rows reach into image (y+rows-1)/rowsPer after the first,
		// and write at most oh*ow sums of it.
		last := (y+rows-1)/rg.rowsPer*rg.image + rg.oh*rg.ow
		if y < 0 || y >= rg.rowsPer || last > len(acc) || rows*rg.wq > maxLanes || rg.ow > rg.wq {
			panic("kernel: storeRows would write outside acc or read outside out")
		}
	}
	if rows > 0 {
		storeRowsAVX(&acc[0], &out[0], rows, y, rg)
	}
}
