//go:build amd64 && !purego

#include "textflag.h"
#include "tile6x16_amd64.h"
#include "dot3x4_amd64.h"

// func sgemm6x16(k int, a, b, c *float32, ldc int)
//
// C[i][j] += Σ_l a[l*6+i]·b[l*16+j] for i < 6, j < 16, l < k (k >= 0), C
// rows ldc floats apart. Twelve YMM accumulators hold the 6×16 tile; each
// step loads one packed B row (two YMM), broadcasts six packed A values and
// issues twelve FMAs. Every element is summed over l in order from zero and
// then added to C once, so results do not depend on how C was tiled.
TEXT ·sgemm6x16(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	TILE6X16_ZERO

	TESTQ CX, CX
	JEQ   store

loop:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	TILE6X16_FMA
	ADDQ         $24, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loop

store:
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DX)
	VADDPS  32(DX), Y1, Y1
	VMOVUPS Y1, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y2, Y2
	VMOVUPS Y2, (DX)
	VADDPS  32(DX), Y3, Y3
	VMOVUPS Y3, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y4, Y4
	VMOVUPS Y4, (DX)
	VADDPS  32(DX), Y5, Y5
	VMOVUPS Y5, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y6, Y6
	VMOVUPS Y6, (DX)
	VADDPS  32(DX), Y7, Y7
	VMOVUPS Y7, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y8, Y8
	VMOVUPS Y8, (DX)
	VADDPS  32(DX), Y9, Y9
	VMOVUPS Y9, 32(DX)
	ADDQ    R8, DX
	VADDPS  (DX), Y10, Y10
	VMOVUPS Y10, (DX)
	VADDPS  32(DX), Y11, Y11
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

// func sgemm6x16Set(k int, a, b, c *float32, ldc int)
//
// As sgemm6x16 but C[i][j] = Σ_l a[l*6+i]·b[l*16+j]: C is written, not read.
TEXT ·sgemm6x16Set(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	TILE6X16_ZERO

	TESTQ CX, CX
	JEQ   setstore

setloop:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	TILE6X16_FMA
	ADDQ         $24, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          setloop

setstore:
	TILE6X16_STORE
	VZEROUPPER
	RET

// func sdot3x4(k int, a *float32, lda int, b *float32, ldb int, c *float32)
//
// c[i*4+j] = Σ_l a[i*lda+l]·b[j*ldb+l] for i < 3, j < 4, l < k, k a
// multiple of 8: twelve dot products of rows stored along the inner
// dimension, which is how a weight gradient's operands (output gradient
// and unfolded input, both spatial-major) come. Each YMM accumulator holds
// eight lane sums, reduced at the end by a fixed tree of horizontal adds.
TEXT ·sdot3x4(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	MOVQ c+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (DI)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), R14

	DOT3X4_ZERO

	XORQ AX, AX
	SHRQ $3, CX
	JEQ  reduce

dotloop:
	DOT3X4_STEP
	ADDQ $32, AX
	DECQ CX
	JNZ  dotloop

reduce:
	DOT3X4_STORE
	VZEROUPPER
	RET
