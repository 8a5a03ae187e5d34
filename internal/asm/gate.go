package asm

import "sync/atomic"

// off is the switch, inverted so that its zero value means on.
var off atomic.Bool

// Set turns all assembly on or off for every later call and returns the
// previous setting. Off makes every kernel use its pure-Go twin; it exists
// for tests and benchmarks.
func Set(on bool) (previous bool) { return !off.Swap(!on) }

// Enabled reports whether the switch lets assembly run.
func Enabled() bool { return !off.Load() }

// AVX reports whether kernels needing AVX may run.
func AVX() bool { return features.avx && !off.Load() }

// AVX2 reports whether kernels needing AVX2 (and AVX) may run.
func AVX2() bool { return features.avx2 && !off.Load() }

// AVX2FMA reports whether kernels needing AVX2 and FMA may run.
func AVX2FMA() bool { return features.avx2 && features.fma && !off.Load() }

// AVX512BW reports whether kernels needing AVX-512 F and BW may run.
func AVX512BW() bool { return features.avx512bw && !off.Load() }

// AVX512BWBMI2 reports whether kernels needing AVX-512 F and BW and BMI2
// (masked moves with masks made by BZHI) may run.
func AVX512BWBMI2() bool { return features.avx512bw && features.bmi2 && !off.Load() }

// AVX512VBMI reports whether kernels needing AVX-512 F, BW and VBMI may
// run.
func AVX512VBMI() bool { return features.avx512bw && features.vbmi && !off.Load() }

// cpuFeatures is what the CPU offers and the build can use.
type cpuFeatures struct {
	avx, avx2, fma, bmi2, avx512bw, vbmi bool
}
