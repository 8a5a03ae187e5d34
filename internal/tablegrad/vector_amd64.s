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

// func denseSegsBlocks(a, b *float32, segs *seg, nseg, blocks int, acc *[8]float32)
//
// For each segment (two int32 offsets, in floats), its blocks of eight
// products a·b are added to the eight lanes held in Y0, multiplied and
// added in two roundings, as denseSegs's Go loop does.
TEXT ·denseSegsBlocks(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ segs+16(FP), BX
	MOVQ nseg+24(FP), CX
	MOVQ blocks+32(FP), R8
	MOVQ acc+40(FP), R9
	VMOVUPS (R9), Y0

segment:
	MOVLQSX 0(BX), AX
	MOVLQSX 4(BX), DX
	LEAQ (SI)(AX*4), R10
	LEAQ (DI)(DX*4), R11
	MOVQ R8, R12

segblock:
	VMOVUPS (R10), Y1
	VMULPS (R11), Y1, Y1
	VADDPS Y1, Y0, Y0
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ R12
	JNZ segblock

	ADDQ $8, BX
	DECQ CX
	JNZ segment

	VMOVUPS Y0, (R9)
	VZEROUPPER
	RET

// func spanDotsBlocks(m *float32, rowWidth int, codes *byte, d *float32, step int, segs *seg, nseg, blocks, n int, out *float32)
//
// For each of n positions: the slopes row m + code*rowWidth, the segments'
// blocks of eight products added to eight lanes (two roundings per
// product, as in Go), the lanes folded as ((0+4)+(2+6))+((1+5)+(3+7)) and
// stored; the output gradient pointer moves on by step floats per
// position. Positions go in pairs, each with its own accumulator (Y0, Y2),
// so that the two chains of dependent adds overlap; each position's sums
// are those it would get alone.
TEXT ·spanDotsBlocks(SB), NOSPLIT, $0-80
	MOVQ m+0(FP), SI
	MOVQ rowWidth+8(FP), R13
	SHLQ $2, R13
	MOVQ codes+16(FP), R14
	MOVQ d+24(FP), DI
	MOVQ step+32(FP), R15
	SHLQ $2, R15
	MOVQ out+72(FP), R12

pairs:
	MOVQ n+64(FP), AX
	CMPQ AX, $2
	JLT last
	MOVBQZX (R14), AX
	IMULQ R13, AX
	LEAQ (SI)(AX*1), DX
	MOVBQZX 1(R14), AX
	IMULQ R13, AX
	LEAQ (SI)(AX*1), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	MOVQ segs+40(FP), BX
	MOVQ nseg+48(FP), CX

pairseg:
	MOVLQSX 0(BX), AX
	LEAQ (DX)(AX*4), R10
	LEAQ (R9)(AX*4), AX
	MOVLQSX 4(BX), R11
	LEAQ (DI)(R11*4), R11
	MOVQ blocks+56(FP), R8

pairblock:
	VMOVUPS (R10), Y1
	VMULPS (R11), Y1, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS (AX), Y3
	VMULPS (R11)(R15*1), Y3, Y3
	VADDPS Y3, Y2, Y2
	ADDQ $32, R10
	ADDQ $32, AX
	ADDQ $32, R11
	DECQ R8
	JNZ pairblock

	ADDQ $8, BX
	DECQ CX
	JNZ pairseg

	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (R12)
	VEXTRACTF128 $1, Y2, X3
	VADDPS X3, X2, X2
	VMOVHLPS X2, X2, X3
	VADDPS X3, X2, X2
	VMOVSHDUP X2, X3
	VADDSS X3, X2, X2
	VMOVSS X2, 4(R12)

	ADDQ $8, R12
	ADDQ $2, R14
	LEAQ (DI)(R15*2), DI
	SUBQ $2, n+64(FP)
	JMP pairs

last:
	TESTQ AX, AX
	JZ done
	MOVBQZX (R14), AX
	IMULQ R13, AX
	LEAQ (SI)(AX*1), DX
	VXORPS Y0, Y0, Y0
	MOVQ segs+40(FP), BX
	MOVQ nseg+48(FP), CX

lastseg:
	MOVLQSX 0(BX), AX
	LEAQ (DX)(AX*4), R10
	MOVLQSX 4(BX), AX
	LEAQ (DI)(AX*4), R11
	MOVQ blocks+56(FP), R8

lastblock:
	VMOVUPS (R10), Y1
	VMULPS (R11), Y1, Y1
	VADDPS Y1, Y0, Y0
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ R8
	JNZ lastblock

	ADDQ $8, BX
	DECQ CX
	JNZ lastseg

	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (R12)

done:
	VZEROUPPER
	RET
