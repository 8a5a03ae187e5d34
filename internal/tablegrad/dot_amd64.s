//go:build amd64 && !purego

#include "textflag.h"

// func dotBlocksVector(d *float32, idx *byte, row *[256]float32, blocks int, acc *[8]float32)
//
// Eight lanes, lane u summing d[8b+u]·row[idx[8b+u]] over the blocks b in
// order: per block, the eight codes are widened to dwords and the eight
// slopes gathered with one VGATHERDPS, then multiplied and added in two
// roundings (no FMA), as the Go loop does.
TEXT ·dotBlocksVector(SB), NOSPLIT, $0-40
	MOVQ d+0(FP), SI
	MOVQ idx+8(FP), DI
	MOVQ row+16(FP), DX
	MOVQ blocks+24(FP), CX
	MOVQ acc+32(FP), R8
	VXORPS Y0, Y0, Y0
	VPCMPEQD Y7, Y7, Y7

loop:
	VPMOVZXBD (DI), Y1
	VMOVDQU Y7, Y2
	VGATHERDPS Y2, (DX)(Y1*4), Y3
	VMULPS (SI), Y3, Y3
	VADDPS Y3, Y0, Y0
	ADDQ $32, SI
	ADDQ $8, DI
	DECQ CX
	JNZ loop

	VMOVUPS Y0, (R8)
	VZEROUPPER
	RET
