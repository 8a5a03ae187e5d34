//go:build amd64 && !purego

package asm

import "golang.org/x/sys/cpu"

var features = cpuFeatures{
	avx:      cpu.X86.HasAVX,
	avx2:     cpu.X86.HasAVX && cpu.X86.HasAVX2,
	fma:      cpu.X86.HasFMA,
	bmi2:     cpu.X86.HasBMI2,
	avx512bw: cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW,
	vbmi:     cpu.X86.HasAVX512VBMI,
}
