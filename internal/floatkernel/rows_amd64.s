//go:build amd64 && !purego

#include "textflag.h"
#include "rows_amd64.h"

// The row movers of rows.go with AVX2. A row of w elements (or w/2 pairs)
// is moved in blocks of 8, the last block ending at the row's end and
// overlapping the one before; rows of 4 to 7 in two overlapping blocks of
// 4; shorter rows one element at a time. Moving an element twice changes
// nothing: a block's destination never overlaps its sources (except the
// in-place mask, where ANDing twice is ANDing once). No row is read or
// written past its end: the padding of the phase planes around a row must
// stay zero, and the last row may end its buffer. CX is a block's index in
// the row; the row pointers advance by the strides, reloaded per row.
// Y15 is zero; a mask's bools (0 or 1) become 0 or all ones by 0 - m, and
// an AND with them keeps a float's bits or gives +0, as masked does.

// func copyRowsUnit(dst, src *float32, rows, w, ds, ss int)
TEXT ·copyRowsUnit(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), AX
	MOVQ src+8(FP), BX
	MOVQ rows+16(FP), R9
	MOVQ w+24(FP), R10

copyRowsUnitrow:
	TESTQ R9, R9
	JLE   copyRowsUnitdone
	XORQ  CX, CX
	CMPQ  R10, $8
	JLT   copyRowsUnitx

copyRowsUnity:
	COPY8(CX)
	ADDQ $8, CX
	LEAQ 8(CX), R11
	CMPQ R11, R10
	JLE  copyRowsUnity
	CMPQ CX, R10
	JEQ  copyRowsUnittail
	MOVQ R10, CX
	SUBQ $8, CX
	COPY8(CX)
	JMP  copyRowsUnittail

copyRowsUnitx:
	CMPQ R10, $4
	JLT  copyRowsUnits
	COPY4(CX)
	MOVQ R10, CX
	SUBQ $4, CX
	COPY4(CX)
	JMP  copyRowsUnittail

copyRowsUnits:
	CMPQ CX, R10
	JGE  copyRowsUnittail
	COPY1(CX)
	INCQ CX
	JMP  copyRowsUnits

copyRowsUnittail:
	MOVQ ds+32(FP), SI
	LEAQ (AX)(SI*4), AX
	MOVQ ss+40(FP), SI
	LEAQ (BX)(SI*4), BX
	DECQ R9
	JMP  copyRowsUnitrow

copyRowsUnitdone:
	VZEROUPPER
	RET

// func maskRowsUnit(dst, src *float32, mask *bool, rows, w, ds, ss int)
TEXT ·maskRowsUnit(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), AX
	MOVQ src+8(FP), BX
	MOVQ mask+16(FP), DX
	MOVQ rows+24(FP), R9
	MOVQ w+32(FP), R10
	VPXOR Y15, Y15, Y15

maskRowsUnitrow:
	TESTQ R9, R9
	JLE   maskRowsUnitdone
	XORQ  CX, CX
	CMPQ  R10, $8
	JLT   maskRowsUnitx

maskRowsUnity:
	MASK8(CX)
	ADDQ $8, CX
	LEAQ 8(CX), R11
	CMPQ R11, R10
	JLE  maskRowsUnity
	CMPQ CX, R10
	JEQ  maskRowsUnittail
	MOVQ R10, CX
	SUBQ $8, CX
	MASK8(CX)
	JMP  maskRowsUnittail

maskRowsUnitx:
	CMPQ R10, $4
	JLT  maskRowsUnits
	MASK4(CX)
	MOVQ R10, CX
	SUBQ $4, CX
	MASK4(CX)
	JMP  maskRowsUnittail

maskRowsUnits:
	CMPQ CX, R10
	JGE  maskRowsUnittail
	MASK1(CX)
	INCQ CX
	JMP  maskRowsUnits

maskRowsUnittail:
	MOVQ ds+40(FP), SI
	LEAQ (AX)(SI*4), AX
	ADDQ SI, DX
	MOVQ ss+48(FP), SI
	LEAQ (BX)(SI*4), BX
	DECQ R9
	JMP  maskRowsUnitrow

maskRowsUnitdone:
	VZEROUPPER
	RET

// func splitPairsUnit(even, odd, src *float32, rows, w, ds, ss int)
TEXT ·splitPairsUnit(SB), NOSPLIT, $0-56
	MOVQ even+0(FP), AX
	MOVQ odd+8(FP), BX
	MOVQ src+16(FP), DX
	MOVQ rows+24(FP), R9
	MOVQ w+32(FP), R10
	SHRQ $1, R10

splitPairsUnitrow:
	TESTQ R9, R9
	JLE   splitPairsUnitdone
	XORQ  CX, CX
	CMPQ  R10, $8
	JLT   splitPairsUnitx

splitPairsUnity:
	SPLIT8(CX)
	ADDQ $8, CX
	LEAQ 8(CX), R11
	CMPQ R11, R10
	JLE  splitPairsUnity
	CMPQ CX, R10
	JEQ  splitPairsUnittail
	MOVQ R10, CX
	SUBQ $8, CX
	SPLIT8(CX)
	JMP  splitPairsUnittail

splitPairsUnitx:
	CMPQ R10, $4
	JLT  splitPairsUnits
	SPLIT4(CX)
	MOVQ R10, CX
	SUBQ $4, CX
	SPLIT4(CX)
	JMP  splitPairsUnittail

splitPairsUnits:
	CMPQ CX, R10
	JGE  splitPairsUnittail
	SPLIT1(CX)
	INCQ CX
	JMP  splitPairsUnits

splitPairsUnittail:
	MOVQ w+32(FP), R11
	TESTQ $1, R11
	JZ    splitPairsUnitnext
	SPLITLAST(R10)

splitPairsUnitnext:
	MOVQ ds+40(FP), SI
	LEAQ (AX)(SI*4), AX
	LEAQ (BX)(SI*4), BX
	MOVQ ss+48(FP), SI
	LEAQ (DX)(SI*4), DX
	DECQ R9
	JMP  splitPairsUnitrow

splitPairsUnitdone:
	VZEROUPPER
	RET

// func mergePairsUnit(dst, even, odd *float32, rows, w, ds, ss int)
TEXT ·mergePairsUnit(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), AX
	MOVQ even+8(FP), BX
	MOVQ odd+16(FP), DX
	MOVQ rows+24(FP), R9
	MOVQ w+32(FP), R10
	SHRQ $1, R10

mergePairsUnitrow:
	TESTQ R9, R9
	JLE   mergePairsUnitdone
	XORQ  CX, CX
	CMPQ  R10, $8
	JLT   mergePairsUnitx

mergePairsUnity:
	MERGE8(CX)
	ADDQ $8, CX
	LEAQ 8(CX), R11
	CMPQ R11, R10
	JLE  mergePairsUnity
	CMPQ CX, R10
	JEQ  mergePairsUnittail
	MOVQ R10, CX
	SUBQ $8, CX
	MERGE8(CX)
	JMP  mergePairsUnittail

mergePairsUnitx:
	CMPQ R10, $4
	JLT  mergePairsUnits
	MERGE4(CX)
	MOVQ R10, CX
	SUBQ $4, CX
	MERGE4(CX)
	JMP  mergePairsUnittail

mergePairsUnits:
	CMPQ CX, R10
	JGE  mergePairsUnittail
	MERGE1(CX)
	INCQ CX
	JMP  mergePairsUnits

mergePairsUnittail:
	MOVQ w+32(FP), R11
	TESTQ $1, R11
	JZ    mergePairsUnitnext
	MERGELAST(R10)

mergePairsUnitnext:
	MOVQ ds+40(FP), SI
	LEAQ (AX)(SI*4), AX
	MOVQ ss+48(FP), SI
	LEAQ (BX)(SI*4), BX
	LEAQ (DX)(SI*4), DX
	DECQ R9
	JMP  mergePairsUnitrow

mergePairsUnitdone:
	VZEROUPPER
	RET

// func mergePairsMaskUnit(dst, even, odd *float32, mask *bool, rows, w, ds, ss int)
TEXT ·mergePairsMaskUnit(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), AX
	MOVQ even+8(FP), BX
	MOVQ odd+16(FP), DX
	MOVQ mask+24(FP), R8
	MOVQ rows+32(FP), R9
	MOVQ w+40(FP), R10
	VPXOR Y15, Y15, Y15
	SHRQ $1, R10

mergePairsMaskUnitrow:
	TESTQ R9, R9
	JLE   mergePairsMaskUnitdone
	XORQ  CX, CX
	CMPQ  R10, $8
	JLT   mergePairsMaskUnitx

mergePairsMaskUnity:
	MERGEM8(CX)
	ADDQ $8, CX
	LEAQ 8(CX), R11
	CMPQ R11, R10
	JLE  mergePairsMaskUnity
	CMPQ CX, R10
	JEQ  mergePairsMaskUnittail
	MOVQ R10, CX
	SUBQ $8, CX
	MERGEM8(CX)
	JMP  mergePairsMaskUnittail

mergePairsMaskUnitx:
	CMPQ R10, $4
	JLT  mergePairsMaskUnits
	MERGEM4(CX)
	MOVQ R10, CX
	SUBQ $4, CX
	MERGEM4(CX)
	JMP  mergePairsMaskUnittail

mergePairsMaskUnits:
	CMPQ CX, R10
	JGE  mergePairsMaskUnittail
	MERGEM1(CX)
	INCQ CX
	JMP  mergePairsMaskUnits

mergePairsMaskUnittail:
	MOVQ w+40(FP), R11
	TESTQ $1, R11
	JZ    mergePairsMaskUnitnext
	MERGEMLAST(R10)

mergePairsMaskUnitnext:
	MOVQ ds+48(FP), SI
	LEAQ (AX)(SI*4), AX
	ADDQ SI, R8
	MOVQ ss+56(FP), SI
	LEAQ (BX)(SI*4), BX
	LEAQ (DX)(SI*4), DX
	DECQ R9
	JMP  mergePairsMaskUnitrow

mergePairsMaskUnitdone:
	VZEROUPPER
	RET

// func dequantRowsUnit(dst *float32, src *byte, q *codeScale, rows, w, ds, ss int)
TEXT ·dequantRowsUnit(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), AX
	MOVQ src+8(FP), BX
	LOADCODES(q+16(FP))
	MOVQ rows+24(FP), R9
	MOVQ w+32(FP), R10

dequantRowsUnitrow:
	TESTQ R9, R9
	JLE   dequantRowsUnitdone
	XORQ  CX, CX
	CMPQ  R10, $8
	JLT   dequantRowsUnitx

dequantRowsUnity:
	DQ8(CX)
	ADDQ $8, CX
	LEAQ 8(CX), R11
	CMPQ R11, R10
	JLE  dequantRowsUnity
	CMPQ CX, R10
	JEQ  dequantRowsUnittail
	MOVQ R10, CX
	SUBQ $8, CX
	DQ8(CX)
	JMP  dequantRowsUnittail

dequantRowsUnitx:
	CMPQ R10, $4
	JLT  dequantRowsUnits
	DQ4(CX)
	MOVQ R10, CX
	SUBQ $4, CX
	DQ4(CX)
	JMP  dequantRowsUnittail

dequantRowsUnits:
	CMPQ CX, R10
	JGE  dequantRowsUnittail
	DQ1(CX)
	INCQ CX
	JMP  dequantRowsUnits

dequantRowsUnittail:
	MOVQ ds+40(FP), SI
	LEAQ (AX)(SI*4), AX
	ADDQ ss+48(FP), BX
	DECQ R9
	JMP  dequantRowsUnitrow

dequantRowsUnitdone:
	VZEROUPPER
	RET

// func splitCodePairsUnit(even, odd *float32, src *byte, q *codeScale, rows, w, ds, ss int)
TEXT ·splitCodePairsUnit(SB), NOSPLIT, $0-64
	MOVQ even+0(FP), AX
	MOVQ odd+8(FP), BX
	MOVQ src+16(FP), DX
	LOADCODES(q+24(FP))
	MOVQ rows+32(FP), R9
	MOVQ w+40(FP), R10
	SHRQ $1, R10

splitCodePairsUnitrow:
	TESTQ R9, R9
	JLE   splitCodePairsUnitdone
	XORQ  CX, CX
	CMPQ  R10, $8
	JLT   splitCodePairsUnitx

splitCodePairsUnity:
	SC8(CX)
	ADDQ $8, CX
	LEAQ 8(CX), R11
	CMPQ R11, R10
	JLE  splitCodePairsUnity
	CMPQ CX, R10
	JEQ  splitCodePairsUnittail
	MOVQ R10, CX
	SUBQ $8, CX
	SC8(CX)
	JMP  splitCodePairsUnittail

splitCodePairsUnitx:
	CMPQ R10, $4
	JLT  splitCodePairsUnits
	SC4(CX)
	MOVQ R10, CX
	SUBQ $4, CX
	SC4(CX)
	JMP  splitCodePairsUnittail

splitCodePairsUnits:
	CMPQ CX, R10
	JGE  splitCodePairsUnittail
	SC1(CX)
	INCQ CX
	JMP  splitCodePairsUnits

splitCodePairsUnittail:
	MOVQ w+40(FP), R11
	TESTQ $1, R11
	JZ    splitCodePairsUnitnext
	SCLAST(R10)

splitCodePairsUnitnext:
	MOVQ ds+48(FP), SI
	LEAQ (AX)(SI*4), AX
	LEAQ (BX)(SI*4), BX
	ADDQ ss+56(FP), DX
	DECQ R9
	JMP  splitCodePairsUnitrow

splitCodePairsUnitdone:
	VZEROUPPER
	RET

// func transposePanelUnit(dst, src *float32, outs, spatial int)
//
// dst[p*16+j] = src[j*spatial+p] for j < outs, p < spatial, both multiples
// of 8 and at least 8: 8×8 blocks, each loaded as eight rows of 8 outputs'
// positions, transposed in registers and stored as 8 positions' rows.
TEXT ·transposePanelUnit(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ outs+16(FP), R8
	SHRQ $3, R8
	MOVQ spatial+24(FP), R9
	LEAQ (R9*4), R10 // bytes between two outputs' planes
	SHRQ $3, R9

transposePanelUnitpos:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R8, CX

transposePanelUnitout:
	MOVQ    AX, DX
	VMOVUPS (DX), Y0
	ADDQ    R10, DX
	VMOVUPS (DX), Y1
	ADDQ    R10, DX
	VMOVUPS (DX), Y2
	ADDQ    R10, DX
	VMOVUPS (DX), Y3
	ADDQ    R10, DX
	VMOVUPS (DX), Y4
	ADDQ    R10, DX
	VMOVUPS (DX), Y5
	ADDQ    R10, DX
	VMOVUPS (DX), Y6
	ADDQ    R10, DX
	VMOVUPS (DX), Y7
	ADDQ    R10, DX
	MOVQ    DX, AX

	// Pairs of rows interleaved, then quadruples, then the halves swapped.
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS   $0x44, Y10, Y8, Y0
	VSHUFPS   $0xEE, Y10, Y8, Y1
	VSHUFPS   $0x44, Y11, Y9, Y2
	VSHUFPS   $0xEE, Y11, Y9, Y3
	VSHUFPS   $0x44, Y14, Y12, Y4
	VSHUFPS   $0xEE, Y14, Y12, Y5
	VSHUFPS   $0x44, Y15, Y13, Y6
	VSHUFPS   $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15

	VMOVUPS Y8, (BX)
	VMOVUPS Y9, 64(BX)
	VMOVUPS Y10, 128(BX)
	VMOVUPS Y11, 192(BX)
	VMOVUPS Y12, 256(BX)
	VMOVUPS Y13, 320(BX)
	VMOVUPS Y14, 384(BX)
	VMOVUPS Y15, 448(BX)
	ADDQ    $32, BX
	DECQ    CX
	JNZ     transposePanelUnitout

	ADDQ $32, SI
	ADDQ $512, DI
	DECQ R9
	JNZ  transposePanelUnitpos
	VZEROUPPER
	RET
