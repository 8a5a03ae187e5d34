//go:build amd64 && !purego

#include "textflag.h"
#include "go_asm.h"
#include "rows_amd64.h"
#include "depthwise_amd64.h"

// SUM adds the lanes of Y as dot9Unit does and then the float64 of that
// sum to the float64 at off(DX), as Go's s += float64(v) does: s is the
// first operand.
#define SUM(Y, X, off) \
	HSUM(Y, X)             \
	VCVTSS2SD X, X, X      \
	VMOVSD    off(DX), X10 \
	VADDSD    X, X10, X10  \
	VMOVSD    X10, off(DX)

// func weightDots(a *planeDots)
//
// The depthwise weight gradient of a run of planes (planeDots says what
// it computes) in one call: per plane, the input is split into the phase
// planes and the output gradient spread, both into buffers that stay in
// the first-level cache, and the nine dots follow at once. The split and
// the spread move rows as the row movers do (rows_amd64.s) and the dots
// are dot9Unit's loop, so the bits are those of the separate kernels. Rows
// of at least 8 elements (or pairs) go in blocks of 8, the last block
// ending at the row's end; rows of 4 to 7 in two blocks of 4.
//
// During the split and the spread: DI the arguments, SI col, R15 the row
// class, R8 the rows left, R9 the index of a row's last block, R10 and
// R11 the source and destination row strides in bytes; AX, BX, DX, CX, R12
// to R14 and Y0 to Y3, Y12 to Y14 as the row movers' macros use them.
TEXT ·weightDots(SB), NOSPLIT, $0-8

plane:
	MOVQ a+0(FP), DI
	CMPQ planeDots_planes(DI), $0
	JLE  done
	LEAQ planeDots_q(DI), R11
	LOADCODES(R11)
	MOVQ planeDots_col(DI), SI
	MOVQ planeDots_wq(DI), R11
	SHLQ $2, R11
	LEAQ planeDots_cls(DI), R15

class:
	MOVQ splitClass_rows(R15), R8
	TESTQ R8, R8
	JZ    spread
	CMPQ  planeDots_codes(DI), $0
	JEQ   floats
	MOVQ  planeDots_srcStride(DI), R10
	MOVQ  planeDots_w(DI), R9
	CMPQ  planeDots_sw(DI), $1
	JNE   codePairs
	MOVQ  planeDots_codes(DI), BX
	ADDQ  splitClass_src(R15), BX
	MOVQ  splitClass_even(R15), AX
	LEAQ  (SI)(AX*4), AX
	SUBQ  $8, R9
	JLT   codeUnit4

codeUnit8:
	XORQ CX, CX

codeUnit8block:
	CMPQ CX, R9
	JGE  codeUnit8last
	DQ8(CX)
	ADDQ $8, CX
	JMP  codeUnit8block

codeUnit8last:
	DQ8(R9)
	ADDQ R10, BX
	ADDQ R11, AX
	DECQ R8
	JNZ  codeUnit8
	JMP  nextClass

codeUnit4:
	ADDQ $4, R9

codeUnit4row:
	XORQ CX, CX
	DQ4(CX)
	DQ4(R9)
	ADDQ R10, BX
	ADDQ R11, AX
	DECQ R8
	JNZ  codeUnit4row
	JMP  nextClass

codePairs:
	MOVQ planeDots_codes(DI), DX
	ADDQ splitClass_src(R15), DX
	MOVQ splitClass_even(R15), AX
	LEAQ (SI)(AX*4), AX
	MOVQ splitClass_odd(R15), BX
	LEAQ (SI)(BX*4), BX
	SHRQ $1, R9
	SUBQ $8, R9
	JLT  codePairs4

codePairs8:
	XORQ CX, CX

codePairs8block:
	CMPQ CX, R9
	JGE  codePairs8last
	SC8(CX)
	ADDQ $8, CX
	JMP  codePairs8block

codePairs8last:
	SC8(R9)
	LEAQ    8(R9), CX
	TESTQ   $1, planeDots_w(DI)
	JZ      codePairs8next
	SCLAST(CX)

codePairs8next:
	ADDQ R10, DX
	ADDQ R11, AX
	ADDQ R11, BX
	DECQ R8
	JNZ  codePairs8
	JMP  nextClass

codePairs4:
	ADDQ $4, R9

codePairs4row:
	XORQ  CX, CX
	SC4(CX)
	SC4(R9)
	LEAQ  4(R9), CX
	TESTQ $1, planeDots_w(DI)
	JZ    codePairs4next
	SCLAST(CX)

codePairs4next:
	ADDQ R10, DX
	ADDQ R11, AX
	ADDQ R11, BX
	DECQ R8
	JNZ  codePairs4row
	JMP  nextClass

floats:
	MOVQ planeDots_srcStride(DI), R10
	SHLQ $2, R10
	MOVQ planeDots_w(DI), R9
	MOVQ splitClass_src(R15), CX
	CMPQ planeDots_sw(DI), $1
	JNE  floatPairs
	MOVQ planeDots_floats(DI), BX
	LEAQ (BX)(CX*4), BX
	MOVQ splitClass_even(R15), AX
	LEAQ (SI)(AX*4), AX
	SUBQ $8, R9
	JLT  floatUnit4

floatUnit8:
	XORQ CX, CX

floatUnit8block:
	CMPQ CX, R9
	JGE  floatUnit8last
	COPY8(CX)
	ADDQ $8, CX
	JMP  floatUnit8block

floatUnit8last:
	COPY8(R9)
	ADDQ R10, BX
	ADDQ R11, AX
	DECQ R8
	JNZ  floatUnit8
	JMP  nextClass

floatUnit4:
	ADDQ $4, R9

floatUnit4row:
	XORQ CX, CX
	COPY4(CX)
	COPY4(R9)
	ADDQ R10, BX
	ADDQ R11, AX
	DECQ R8
	JNZ  floatUnit4row
	JMP  nextClass

floatPairs:
	MOVQ planeDots_floats(DI), DX
	LEAQ (DX)(CX*4), DX
	MOVQ splitClass_even(R15), AX
	LEAQ (SI)(AX*4), AX
	MOVQ splitClass_odd(R15), BX
	LEAQ (SI)(BX*4), BX
	SHRQ $1, R9
	SUBQ $8, R9
	JLT  floatPairs4

floatPairs8:
	XORQ CX, CX

floatPairs8block:
	CMPQ CX, R9
	JGE  floatPairs8last
	SPLIT8(CX)
	ADDQ $8, CX
	JMP  floatPairs8block

floatPairs8last:
	SPLIT8(R9)
	LEAQ  8(R9), CX
	TESTQ $1, planeDots_w(DI)
	JZ    floatPairs8next
	SPLITLAST(CX)

floatPairs8next:
	ADDQ R10, DX
	ADDQ R11, AX
	ADDQ R11, BX
	DECQ R8
	JNZ  floatPairs8
	JMP  nextClass

floatPairs4:
	ADDQ $4, R9

floatPairs4row:
	XORQ  CX, CX
	SPLIT4(CX)
	SPLIT4(R9)
	LEAQ  4(R9), CX
	TESTQ $1, planeDots_w(DI)
	JZ    floatPairs4next
	SPLITLAST(CX)

floatPairs4next:
	ADDQ R10, DX
	ADDQ R11, AX
	ADDQ R11, BX
	DECQ R8
	JNZ  floatPairs4row

nextClass:
	ADDQ $splitClass__size, R15
	JMP  class

	// The output gradient: oh rows of ow floats into rows wq apart.
spread:
	MOVQ planeDots_acc(DI), AX
	MOVQ planeDots_dy(DI), BX
	MOVQ planeDots_oh(DI), R8
	MOVQ planeDots_ow(DI), R9
	MOVQ R9, R10
	SHLQ $2, R10
	SUBQ $8, R9
	JLT  spread4

spread8:
	XORQ CX, CX

spread8block:
	CMPQ CX, R9
	JGE  spread8last
	COPY8(CX)
	ADDQ $8, CX
	JMP  spread8block

spread8last:
	COPY8(R9)
	ADDQ R10, BX
	ADDQ R11, AX
	DECQ R8
	JNZ  spread8
	JMP  dots

spread4:
	ADDQ $4, R9

spread4row:
	XORQ CX, CX
	COPY4(CX)
	COPY4(R9)
	ADDQ R10, BX
	ADDQ R11, AX
	DECQ R8
	JNZ  spread4row

	// dot9Unit's loop: one accumulator per tap, each output-gradient
	// vector loaded once for the nine taps.
dots:
	MOVQ   planeDots_offs+0(DI), R8
	LEAQ   (SI)(R8*4), R8
	MOVQ   planeDots_offs+8(DI), R9
	LEAQ   (SI)(R9*4), R9
	MOVQ   planeDots_offs+16(DI), R10
	LEAQ   (SI)(R10*4), R10
	MOVQ   planeDots_offs+24(DI), R11
	LEAQ   (SI)(R11*4), R11
	MOVQ   planeDots_offs+32(DI), R12
	LEAQ   (SI)(R12*4), R12
	MOVQ   planeDots_offs+40(DI), R13
	LEAQ   (SI)(R13*4), R13
	MOVQ   planeDots_offs+48(DI), R14
	LEAQ   (SI)(R14*4), R14
	MOVQ   planeDots_offs+56(DI), R15
	LEAQ   (SI)(R15*4), R15
	MOVQ   planeDots_offs+64(DI), BX
	LEAQ   (SI)(BX*4), BX
	MOVQ   planeDots_n(DI), CX
	MOVQ   planeDots_acc(DI), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	XORQ   AX, AX

dotsLoop:
	VMOVUPS     (DX)(AX*1), Y9
	VFMADD231PS (R8)(AX*1), Y9, Y0
	VFMADD231PS (R9)(AX*1), Y9, Y1
	VFMADD231PS (R10)(AX*1), Y9, Y2
	VFMADD231PS (R11)(AX*1), Y9, Y3
	VFMADD231PS (R12)(AX*1), Y9, Y4
	VFMADD231PS (R13)(AX*1), Y9, Y5
	VFMADD231PS (R14)(AX*1), Y9, Y6
	VFMADD231PS (R15)(AX*1), Y9, Y7
	VFMADD231PS (BX)(AX*1), Y9, Y8
	ADDQ        $32, AX
	SUBQ        $8, CX
	JGT         dotsLoop

	MOVQ planeDots_sums(DI), DX
	SUM(Y0, X0, 0)
	SUM(Y1, X1, 8)
	SUM(Y2, X2, 16)
	SUM(Y3, X3, 24)
	SUM(Y4, X4, 32)
	SUM(Y5, X5, 40)
	SUM(Y6, X6, 48)
	SUM(Y7, X7, 56)
	SUM(Y8, X8, 64)
	ADDQ $72, DX
	MOVQ DX, planeDots_sums(DI)
	MOVQ planeDots_outPlane(DI), AX
	SHLQ $2, AX
	ADDQ AX, planeDots_dy(DI)
	MOVQ planeDots_inPlane(DI), AX
	CMPQ planeDots_codes(DI), $0
	JEQ  nextFloats
	ADDQ AX, planeDots_codes(DI)
	DECQ planeDots_planes(DI)
	JMP  plane

nextFloats:
	SHLQ $2, AX
	ADDQ AX, planeDots_floats(DI)
	DECQ planeDots_planes(DI)
	JMP  plane

done:
	VZEROUPPER
	RET
