//go:build amd64 && !purego

#include "textflag.h"

// func nonFiniteUnit(x *float32, n int) bool
//
// Reports whether any of x[0..n) is ±Inf or NaN: an exponent of all ones,
// (bits & 0x7f800000) == 0x7f800000, tested eight at a time.
TEXT ·nonFiniteUnit(SB), NOSPLIT, $0-17
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVL         $0x7f800000, AX
	MOVL         AX, X0
	VPBROADCASTD X0, Y0
	VPXOR        Y1, Y1, Y1
	XORQ         DX, DX

nf8:
	CMPQ     CX, $8
	JLT      nftail
	VPAND    (SI), Y0, Y2
	VPCMPEQD Y0, Y2, Y2
	VPOR     Y2, Y1, Y1
	ADDQ     $32, SI
	SUBQ     $8, CX
	JMP      nf8

nftail:
	TESTQ CX, CX
	JEQ   nfdone
	MOVL  (SI), BX
	ANDL  AX, BX
	CMPL  BX, AX
	JNE   nfnext
	MOVQ  $1, DX

nfnext:
	ADDQ $4, SI
	DECQ CX
	JMP  nftail

nfdone:
	VPTEST Y1, Y1
	SETNE  AL
	ORB    DL, AL
	MOVB   AL, ret+16(FP)
	VZEROUPPER
	RET

// func finiteRangeAVX2(x *float32, n int, r *rangeAcc)
//
// Folds x[0..n), n a positive multiple of 8, into r: the minimum and
// maximum finite values (non-finite ones replaced by +Inf for the minimum
// and -Inf for the maximum before VMINPS/VMAXPS), the count of non-finite
// values, and whether -0 and +0 occur (VMINPS and VMAXPS order the zeros
// by operand position, so the caller signs a zero bound from these).
// Registers: Y0 exponent mask, Y1 abs mask, Y2 +Inf, Y3 -Inf, Y4 -0 bits,
// Y5 zero, Y6 min, Y7 max, Y8 saw -0, Y9 saw +0; AX the count.
TEXT ·finiteRangeAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVQ         r+16(FP), DI
	MOVL         $0x7f800000, AX
	MOVL         AX, X0
	VPBROADCASTD X0, Y0
	MOVL         $0x7fffffff, AX
	MOVL         AX, X1
	VPBROADCASTD X1, Y1
	VMOVDQA      Y0, Y2
	MOVL         $0xff800000, AX
	MOVL         AX, X3
	VPBROADCASTD X3, Y3
	MOVL         $0x80000000, AX
	MOVL         AX, X4
	VPBROADCASTD X4, Y4
	VPXOR        Y5, Y5, Y5
	VMOVDQA      Y2, Y6
	VMOVDQA      Y3, Y7
	VPXOR        Y8, Y8, Y8
	VPXOR        Y9, Y9, Y9
	XORQ         AX, AX

fr8:
	VMOVUPS    (SI), Y10
	VPAND      Y1, Y10, Y11
	VPCMPGTD   Y0, Y11, Y12   // abs bits > 0x7f800000: NaN
	VPCMPEQD   Y0, Y11, Y13   // abs bits == 0x7f800000: ±Inf
	VPOR       Y13, Y12, Y12  // non-finite
	VMOVMSKPS  Y12, DX
	POPCNTL    DX, DX
	ADDQ       DX, AX
	VBLENDVPS  Y12, Y2, Y10, Y13
	VMINPS     Y6, Y13, Y6
	VBLENDVPS  Y12, Y3, Y10, Y13
	VMAXPS     Y7, Y13, Y7
	VPCMPEQD   Y4, Y10, Y13
	VPOR       Y13, Y8, Y8
	VPCMPEQD   Y5, Y10, Y13
	VPOR       Y13, Y9, Y9
	ADDQ       $32, SI
	SUBQ       $8, CX
	JNZ        fr8

	// Lanes folded: min and max of the 8 lanes, then the flags.
	VEXTRACTF128 $1, Y6, X10
	VMINPS       X10, X6, X6
	VPERMILPS    $0x4E, X6, X10
	VMINPS       X10, X6, X6
	VPERMILPS    $0xB1, X6, X10
	VMINPS       X10, X6, X6
	VEXTRACTF128 $1, Y7, X10
	VMAXPS       X10, X7, X7
	VPERMILPS    $0x4E, X7, X10
	VMAXPS       X10, X7, X7
	VPERMILPS    $0xB1, X7, X10
	VMAXPS       X10, X7, X7
	MOVSS        X6, 0(DI)
	MOVSS        X7, 4(DI)
	ADDQ         AX, 8(DI)
	VPTEST       Y8, Y8
	JZ           frpos
	MOVB         $1, 16(DI)

frpos:
	VPTEST Y9, Y9
	JZ     frdone
	MOVB   $1, 17(DI)

frdone:
	VZEROUPPER
	RET
