//go:build amd64 && !purego

#include "textflag.h"

// func addRowsUnit(dst, src *float32, rows, cols, dstStride, srcStride int)
//
// dst[y*dstStride+x] += src[y*srcStride+x] for y < rows, x < cols: eight
// at a time, then one at a time. Each element gets one float add, so the
// result is that of the twin, addRowsGo.
TEXT ·addRowsUnit(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), BX
	MOVQ cols+24(FP), CX
	MOVQ dstStride+32(FP), R8
	MOVQ srcStride+40(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9

rowloop:
	TESTQ BX, BX
	JEQ   done
	MOVQ  DI, R10
	MOVQ  SI, R11
	MOVQ  CX, DX

col8:
	CMPQ    DX, $8
	JLT     coltail
	VMOVUPS (R11), Y0
	VADDPS  (R10), Y0, Y0
	VMOVUPS Y0, (R10)
	ADDQ    $32, R10
	ADDQ    $32, R11
	SUBQ    $8, DX
	JMP     col8

coltail:
	TESTQ  DX, DX
	JEQ    nextrow
	VMOVSS (R11), X0
	VADDSS (R10), X0, X0
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	ADDQ   $4, R11
	DECQ   DX
	JMP    coltail

nextrow:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ BX
	JMP  rowloop

done:
	VZEROUPPER
	RET
