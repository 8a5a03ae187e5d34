//go:build amd64 && !purego

#include "textflag.h"

// The row movers of rows.go with AVX2: eight elements per step, then one
// at a time, so no row is read or written past its w elements (the phase
// planes' padding around a row must stay zero). Y15 is zero; a mask's
// bools (0 or 1) become 0 or all ones by 0 - m, and an AND with them keeps
// a float's bits or gives +0, as masked does.

// DEQ1 sets X0 to the dequantized value of the byte at src and stores it
// at dst: float32(int32(b ^ flip) - off) · scale, with flip in R13, off in
// R14 and scale in X12; R15 is clobbered.
#define DEQ1(src, dst) \
	MOVBLZX    src, R15     \
	XORL       R13, R15     \
	SUBL       R14, R15     \
	VCVTSI2SSL R15, X0, X0  \
	VMULSS     X12, X0, X0  \
	VMOVSS     X0, dst

// DEQ8 turns the eight bytes at src into eight dequantized floats in Y, by
// the same steps in eight lanes (flip in Y13, off in Y14, scale in Y12).
#define DEQ8(src, Y) \
	VPMOVZXBD src, Y      \
	VPXOR     Y13, Y, Y   \
	VPSUBD    Y14, Y, Y   \
	VCVTDQ2PS Y, Y        \
	VMULPS    Y12, Y, Y

// DEINTERLEAVE8 sets E to the even and O to the odd elements of the
// sixteen in A, B (A's first): per 128-bit lane a shuffle picks elements
// 0, 2 (or 1, 3) of A and of B, and a permutation of 64-bit pairs puts the
// lanes' halves in order.
#define DEINTERLEAVE8(A, B, E, O) \
	VSHUFPS $0x88, B, A, E \
	VSHUFPS $0xDD, B, A, O \
	VPERMPD $0xD8, E, E    \
	VPERMPD $0xD8, O, O

// func copyRowsUnit(dst, src *float32, mask *bool, rows, w, ds, ss int)
TEXT ·copyRowsUnit(SB), NOSPLIT, $0-56
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  mask+16(FP), R8
	MOVQ  rows+24(FP), R9
	MOVQ  w+32(FP), R10
	MOVQ  ds+40(FP), R11
	MOVQ  ss+48(FP), R12
	VPXOR Y15, Y15, Y15

copyrow:
	TESTQ R9, R9
	JLE   copydone
	MOVQ  DI, AX
	MOVQ  SI, BX
	MOVQ  R8, DX
	MOVQ  R10, CX
	TESTQ R8, R8
	JZ    copy8

copymask8:
	CMPQ      CX, $8
	JLT       copymask1
	VPMOVZXBD (DX), Y1
	VPSUBD    Y1, Y15, Y1
	VANDPS    (BX), Y1, Y0
	VMOVUPS   Y0, (AX)
	ADDQ      $32, AX
	ADDQ      $32, BX
	ADDQ      $8, DX
	SUBQ      $8, CX
	JMP       copymask8

copymask1:
	TESTQ   CX, CX
	JZ      copynext
	MOVL    (BX), R13
	MOVBLZX (DX), R14
	NEGL    R14
	ANDL    R14, R13
	MOVL    R13, (AX)
	ADDQ    $4, AX
	ADDQ    $4, BX
	INCQ    DX
	DECQ    CX
	JMP     copymask1

copy8:
	CMPQ    CX, $8
	JLT     copy1
	VMOVUPS (BX), Y0
	VMOVUPS Y0, (AX)
	ADDQ    $32, AX
	ADDQ    $32, BX
	SUBQ    $8, CX
	JMP     copy8

copy1:
	TESTQ CX, CX
	JZ    copynext
	MOVL  (BX), R13
	MOVL  R13, (AX)
	ADDQ  $4, AX
	ADDQ  $4, BX
	DECQ  CX
	JMP   copy1

copynext:
	LEAQ  (DI)(R11*4), DI
	LEAQ  (SI)(R12*4), SI
	TESTQ R8, R8
	JZ    copyadvanced
	ADDQ  R11, R8

copyadvanced:
	DECQ R9
	JMP  copyrow

copydone:
	VZEROUPPER
	RET

// func splitPairsUnit(even, odd, src *float32, rows, w, ds, ss int)
TEXT ·splitPairsUnit(SB), NOSPLIT, $0-56
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ rows+24(FP), R9
	MOVQ w+32(FP), R10
	MOVQ ds+40(FP), R11
	MOVQ ss+48(FP), R12

splitrow:
	TESTQ R9, R9
	JLE   splitdone
	MOVQ  DI, AX
	MOVQ  R8, BX
	MOVQ  SI, DX
	MOVQ  R10, CX
	SHRQ  $1, CX

split8:
	CMPQ    CX, $8
	JLT     split1
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	DEINTERLEAVE8(Y0, Y1, Y2, Y3)
	VMOVUPS Y2, (AX)
	VMOVUPS Y3, (BX)
	ADDQ    $32, AX
	ADDQ    $32, BX
	ADDQ    $64, DX
	SUBQ    $8, CX
	JMP     split8

split1:
	TESTQ CX, CX
	JZ    splitlast
	MOVL  (DX), R13
	MOVL  R13, (AX)
	MOVL  4(DX), R13
	MOVL  R13, (BX)
	ADDQ  $4, AX
	ADDQ  $4, BX
	ADDQ  $8, DX
	DECQ  CX
	JMP   split1

splitlast:
	TESTQ $1, R10
	JZ    splitnext
	MOVL  (DX), R13
	MOVL  R13, (AX)

splitnext:
	LEAQ (DI)(R11*4), DI
	LEAQ (R8)(R11*4), R8
	LEAQ (SI)(R12*4), SI
	DECQ R9
	JMP  splitrow

splitdone:
	VZEROUPPER
	RET

// func mergePairsUnit(dst, even, odd *float32, mask *bool, rows, w, ds, ss int)
//
// The strides are reloaded per row: every register is in use inside it.
TEXT ·mergePairsUnit(SB), NOSPLIT, $0-64
	MOVQ  dst+0(FP), DI
	MOVQ  even+8(FP), SI
	MOVQ  odd+16(FP), R8
	MOVQ  mask+24(FP), R9
	MOVQ  rows+32(FP), R10
	MOVQ  w+40(FP), R11
	VPXOR Y15, Y15, Y15

mergerow:
	TESTQ R10, R10
	JLE   mergedone
	MOVQ  DI, AX
	MOVQ  SI, BX
	MOVQ  R8, DX
	MOVQ  R9, R13
	MOVQ  R11, CX
	SHRQ  $1, CX

merge8:
	CMPQ       CX, $8
	JLT        merge1
	VMOVUPS    (BX), Y0
	VMOVUPS    (DX), Y1
	VUNPCKLPS  Y1, Y0, Y2
	VUNPCKHPS  Y1, Y0, Y3
	VPERM2F128 $0x20, Y3, Y2, Y4
	VPERM2F128 $0x31, Y3, Y2, Y5
	TESTQ      R13, R13
	JZ         merge8store
	VPMOVZXBD  (R13), Y6
	VPSUBD     Y6, Y15, Y6
	VANDPS     Y6, Y4, Y4
	VPMOVZXBD  8(R13), Y7
	VPSUBD     Y7, Y15, Y7
	VANDPS     Y7, Y5, Y5
	ADDQ       $16, R13

merge8store:
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, 32(AX)
	ADDQ    $64, AX
	ADDQ    $32, BX
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     merge8

merge1:
	TESTQ   CX, CX
	JZ      mergelast
	MOVL    (BX), R14
	MOVL    (DX), R15
	TESTQ   R13, R13
	JZ      merge1store
	MOVBLZX (R13), R12
	NEGL    R12
	ANDL    R12, R14
	MOVBLZX 1(R13), R12
	NEGL    R12
	ANDL    R12, R15
	ADDQ    $2, R13

merge1store:
	MOVL R14, (AX)
	MOVL R15, 4(AX)
	ADDQ $8, AX
	ADDQ $4, BX
	ADDQ $4, DX
	DECQ CX
	JMP  merge1

mergelast:
	TESTQ   $1, R11
	JZ      mergenext
	MOVL    (BX), R14
	TESTQ   R13, R13
	JZ      mergelaststore
	MOVBLZX (R13), R12
	NEGL    R12
	ANDL    R12, R14

mergelaststore:
	MOVL R14, (AX)

mergenext:
	MOVQ  ds+48(FP), R12
	LEAQ  (DI)(R12*4), DI
	TESTQ R9, R9
	JZ    mergemasked
	ADDQ  R12, R9

mergemasked:
	MOVQ ss+56(FP), R12
	LEAQ (SI)(R12*4), SI
	LEAQ (R8)(R12*4), R8
	DECQ R10
	JMP  mergerow

mergedone:
	VZEROUPPER
	RET

// func dequantRowsUnit(dst *float32, src *byte, q *codeScale, rows, w, ds, ss int)
TEXT ·dequantRowsUnit(SB), NOSPLIT, $0-56
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         q+16(FP), AX
	MOVQ         rows+24(FP), R9
	MOVQ         w+32(FP), R10
	MOVQ         ds+40(FP), R11
	MOVQ         ss+48(FP), R12
	VPBROADCASTD 0(AX), Y13
	VPBROADCASTD 4(AX), Y14
	VBROADCASTSS 8(AX), Y12
	MOVL         0(AX), R13
	MOVL         4(AX), R14

dqrow:
	TESTQ R9, R9
	JLE   dqdone
	MOVQ  DI, AX
	MOVQ  SI, BX
	MOVQ  R10, CX

dq8:
	CMPQ    CX, $8
	JLT     dq1
	DEQ8((BX), Y0)
	VMOVUPS Y0, (AX)
	ADDQ    $32, AX
	ADDQ    $8, BX
	SUBQ    $8, CX
	JMP     dq8

dq1:
	TESTQ CX, CX
	JZ    dqnext
	DEQ1((BX), (AX))
	ADDQ  $4, AX
	INCQ  BX
	DECQ  CX
	JMP   dq1

dqnext:
	LEAQ (DI)(R11*4), DI
	ADDQ R12, SI
	DECQ R9
	JMP  dqrow

dqdone:
	VZEROUPPER
	RET

// func splitCodePairsUnit(even, odd *float32, src *byte, q *codeScale, rows, w, ds, ss int)
TEXT ·splitCodePairsUnit(SB), NOSPLIT, $0-64
	MOVQ         even+0(FP), DI
	MOVQ         odd+8(FP), R8
	MOVQ         src+16(FP), SI
	MOVQ         q+24(FP), AX
	MOVQ         rows+32(FP), R9
	MOVQ         w+40(FP), R10
	MOVQ         ds+48(FP), R11
	MOVQ         ss+56(FP), R12
	VPBROADCASTD 0(AX), Y13
	VPBROADCASTD 4(AX), Y14
	VBROADCASTSS 8(AX), Y12
	MOVL         0(AX), R13
	MOVL         4(AX), R14

cprow:
	TESTQ R9, R9
	JLE   cpdone
	MOVQ  DI, AX
	MOVQ  R8, BX
	MOVQ  SI, DX
	MOVQ  R10, CX
	SHRQ  $1, CX

cp8:
	CMPQ    CX, $8
	JLT     cp1
	DEQ8((DX), Y0)
	DEQ8(8(DX), Y1)
	DEINTERLEAVE8(Y0, Y1, Y2, Y3)
	VMOVUPS Y2, (AX)
	VMOVUPS Y3, (BX)
	ADDQ    $32, AX
	ADDQ    $32, BX
	ADDQ    $16, DX
	SUBQ    $8, CX
	JMP     cp8

cp1:
	TESTQ CX, CX
	JZ    cplast
	DEQ1((DX), (AX))
	DEQ1(1(DX), (BX))
	ADDQ  $4, AX
	ADDQ  $4, BX
	ADDQ  $2, DX
	DECQ  CX
	JMP   cp1

cplast:
	TESTQ $1, R10
	JZ    cpnext
	DEQ1((DX), (AX))

cpnext:
	LEAQ (DI)(R11*4), DI
	LEAQ (R8)(R11*4), R8
	ADDQ R12, SI
	DECQ R9
	JMP  cprow

cpdone:
	VZEROUPPER
	RET
