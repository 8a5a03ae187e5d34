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
