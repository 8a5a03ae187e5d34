//go:build amd64 && !purego

#include "textflag.h"
#include "tile6x16_amd64.h"
#include "dot3x4_amd64.h"

// func sdot3x4Ptrs(k int, rows *[7]*float32, c *float32)
//
// As sdot3x4, with the three a rows and the four b rows given by pointers
// (rows[0..2] and rows[3..6]), so that a tile can gather any rows: kernel
// taps of different channels or kernel rows, whose distances differ.
TEXT ·sdot3x4Ptrs(SB), NOSPLIT, $0-24
	MOVQ k+0(FP), CX
	MOVQ rows+8(FP), AX
	MOVQ c+16(FP), DX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R10
	MOVQ 16(AX), R11
	MOVQ 24(AX), DI
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ 48(AX), R14

	DOT3X4_ZERO

	XORQ AX, AX
	SHRQ $3, CX
	JEQ  preduce

pdotloop:
	DOT3X4_STEP
	ADDQ $32, AX
	DECQ CX
	JNZ  pdotloop

preduce:
	DOT3X4_STORE
	VZEROUPPER
	RET

// func sgemm6x16Taps(a *[6]*float32, b, c *float32, ldc, images, rows, cols, rowSkip, imgSkip int)
//
// C[i][j] += Σ_l A_i(l)·b[l*16+j] for i < 6, j < 16, image by image: the
// steps l of an image are its rows×cols output positions, A_i(l) is read
// from a[i] at an index that advances by one per column, by rowSkip more
// after each row and by imgSkip more after each image, and b is read
// contiguously. Twelve YMM accumulators hold the tile; each image's sums
// start from zero and are added to C after its last step, so every element
// sums its images in order. images, rows and cols must be at least 1.
TEXT ·sgemm6x16Taps(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R8
	MOVQ 16(AX), R9
	MOVQ 24(AX), R10
	MOVQ 32(AX), R11
	MOVQ 40(AX), R12
	MOVQ b+8(FP), DI
	MOVQ images+32(FP), DX
	MOVQ rowSkip+56(FP), R13
	SHLQ $2, R13
	MOVQ imgSkip+64(FP), R14
	SHLQ $2, R14
	XORQ AX, AX

timage:
	TILE6X16_ZERO
	MOVQ   rows+40(FP), BX

trow:
	MOVQ cols+48(FP), CX

tcol:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	VBROADCASTSS (SI)(AX*1), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS (R8)(AX*1), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (R9)(AX*1), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS (R10)(AX*1), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R11)(AX*1), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS (R12)(AX*1), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $4, AX
	ADDQ         $64, DI
	DECQ         CX
	JNZ          tcol
	ADDQ         R13, AX
	DECQ         BX
	JNZ          trow

	// Add the image's sums to C.
	MOVQ    c+16(FP), CX
	MOVQ    ldc+24(FP), BX
	SHLQ    $2, BX
	VADDPS  (CX), Y0, Y0
	VMOVUPS Y0, (CX)
	VADDPS  32(CX), Y1, Y1
	VMOVUPS Y1, 32(CX)
	ADDQ    BX, CX
	VADDPS  (CX), Y2, Y2
	VMOVUPS Y2, (CX)
	VADDPS  32(CX), Y3, Y3
	VMOVUPS Y3, 32(CX)
	ADDQ    BX, CX
	VADDPS  (CX), Y4, Y4
	VMOVUPS Y4, (CX)
	VADDPS  32(CX), Y5, Y5
	VMOVUPS Y5, 32(CX)
	ADDQ    BX, CX
	VADDPS  (CX), Y6, Y6
	VMOVUPS Y6, (CX)
	VADDPS  32(CX), Y7, Y7
	VMOVUPS Y7, 32(CX)
	ADDQ    BX, CX
	VADDPS  (CX), Y8, Y8
	VMOVUPS Y8, (CX)
	VADDPS  32(CX), Y9, Y9
	VMOVUPS Y9, 32(CX)
	ADDQ    BX, CX
	VADDPS  (CX), Y10, Y10
	VMOVUPS Y10, (CX)
	VADDPS  32(CX), Y11, Y11
	VMOVUPS Y11, 32(CX)
	ADDQ    R14, AX
	DECQ    DX
	JNZ     timage
	VZEROUPPER
	RET

// func sgemm6x16Offs(k int, a, b *float32, offs *int, c *float32, ldc int)
//
// C[i][j] = Σ_l a[l*6+i]·b[offs[l]+j] for i < 6, j < 16, l < k (k >= 1),
// C rows ldc floats apart: sgemm6x16Set with each step's 16 B values read
// in place, offs[l] floats from b, instead of from a packed panel.
TEXT ·sgemm6x16Offs(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ offs+24(FP), BX
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8

	TILE6X16_ZERO

oloop:
	MOVQ         (BX), AX
	VMOVUPS      (DI)(AX*4), Y12
	VMOVUPS      32(DI)(AX*4), Y13
	TILE6X16_FMA
	ADDQ         $24, SI
	ADDQ         $8, BX
	DECQ         CX
	JNZ          oloop

	TILE6X16_STORE
	VZEROUPPER
	RET

// func widenRowsUnit(dst, src *float32, rows, cols, pad int)
//
// Copies rows rows of cols floats, contiguous in src, to dst, each followed
// by pad zeros: eight at a time, then one at a time.
TEXT ·widenRowsUnit(SB), NOSPLIT, $0-40
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   rows+16(FP), BX
	MOVQ   cols+24(FP), CX
	MOVQ   pad+32(FP), R8
	VXORPS Y1, Y1, Y1

wrow:
	TESTQ BX, BX
	JEQ   wdone
	MOVQ  CX, DX

wcopy8:
	CMPQ    DX, $8
	JLT     wcopytail
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, DX
	JMP     wcopy8

wcopytail:
	TESTQ DX, DX
	JEQ   wpad
	MOVL  (SI), AX
	MOVL  AX, (DI)
	ADDQ  $4, SI
	ADDQ  $4, DI
	DECQ  DX
	JMP   wcopytail

wpad:
	MOVQ R8, DX

wzero8:
	CMPQ    DX, $8
	JLT     wzerotail
	VMOVUPS Y1, (DI)
	ADDQ    $32, DI
	SUBQ    $8, DX
	JMP     wzero8

wzerotail:
	TESTQ DX, DX
	JEQ   wnext
	MOVL  $0, (DI)
	ADDQ  $4, DI
	DECQ  DX
	JMP   wzerotail

wnext:
	DECQ BX
	JMP  wrow

wdone:
	VZEROUPPER
	RET
