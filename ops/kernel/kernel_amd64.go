//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

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

// hasSplitSIMD says whether splitBytesAVX can run (AVX512BW).
var hasSplitSIMD = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW

// splitBytesSIMD does the first multiple of 32 bytes of splitBytes with
// AVX-512 and returns how many it did.
func splitBytesSIMD(even, odd, in []byte) int {
	n := len(even) &^ 31
	if n == 0 || !hasSplitSIMD || !useAssembly.Load() {
		return 0
	}
	splitBytesAVX(&even[0], &odd[:n][0], &in[:2*n][0], n)
	return n
}

var avx512 = impl{name: "avx512vbmi", row: avxRow, biased: true, gatherCost: 24, copyCost: 10}

func init() {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI {
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
