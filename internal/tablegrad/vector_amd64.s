//go:build amd64 && !purego

#include "textflag.h"

// func histAddAVX2(h *float32, codes *byte, d *float32, n, width int)
//
// For each of the n positions, the position's width floats of d are added
// to the histogram row of its code, eight at a time: every sum gets the
// same adds in the same order as in histAddGo.
TEXT ·histAddAVX2(SB), NOSPLIT, $0-40
	MOVQ h+0(FP), DI
	MOVQ codes+8(FP), SI
	MOVQ d+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ width+32(FP), R8
	MOVQ R8, R9
	SHLQ $2, R9

position:
	MOVBQZX (SI), AX
	IMULQ R9, AX
	LEAQ (DI)(AX*1), R10
	MOVQ R8, R11

block:
	VMOVUPS (R10), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (R10)
	ADDQ $32, DX
	ADDQ $32, R10
	SUBQ $8, R11
	JNZ block

	INCQ SI
	DECQ CX
	JNZ position

	VZEROUPPER
	RET

// func dotDenseBlocks(d, m *float32, blocks int, acc *[8]float32)
//
// Lane u of acc gets d[8b+u]·m[8b+u] over the blocks b in order, multiplied
// and added in two roundings (no FMA), as the Go loop does.
TEXT ·dotDenseBlocks(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), SI
	MOVQ m+8(FP), DI
	MOVQ blocks+16(FP), CX
	MOVQ acc+24(FP), R8
	VXORPS Y0, Y0, Y0

block8:
	VMOVUPS (SI), Y1
	VMULPS (DI), Y1, Y1
	VADDPS Y1, Y0, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ block8

	VMOVUPS Y0, (R8)
	VZEROUPPER
	RET
