//go:build amd64 && !purego

#include "textflag.h"

// Per 128-bit lane: the low bytes of the four int32 lanes, then zeros.
DATA lowbytes<>+0(SB)/8, $0x808080800c080400
DATA lowbytes<>+8(SB)/8, $0x8080808080808080
DATA lowbytes<>+16(SB)/8, $0x808080800c080400
DATA lowbytes<>+24(SB)/8, $0x8080808080808080
GLOBL lowbytes<>(SB), RODATA|NOPTR, $32

// func quantize8(src *float32, n int, inv, scale, lo, hi float32, zp int32, bytes *byte, fq *float32, mask *bool) (finite bool)
//
// Quantizes n/8 blocks of eight values: f = roundHalfEven(v·inv), in = lo
// <= f <= hi (false for NaN), c = clamp(f, lo, hi) with NaN as 0; then
// bytes = byte(c + zp), fq = float32(int32(c))·scale (+0 for a zero
// code, as the twin), mask = in. A nil output is skipped. This is
// quantizeGo eight lanes at a time. finite reports whether every v was:
// v - v is +0 for a finite v and NaN otherwise, and their bits are ORed
// into Y9.
TEXT ·quantize8(SB), NOSPLIT, $0-65
	MOVQ         src+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS inv+16(FP), Y15
	VBROADCASTSS scale+20(FP), Y12
	VBROADCASTSS lo+24(FP), Y13
	VBROADCASTSS hi+28(FP), Y14
	MOVL         zp+32(FP), AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	MOVQ         bytes+40(FP), DI
	MOVQ         fq+48(FP), R8
	MOVQ         mask+56(FP), R9
	VMOVDQU      lowbytes<>(SB), Y10
	VXORPS       Y9, Y9, Y9
	SHRQ         $3, CX
	JEQ          done

loop:
	VMOVUPS   (SI), Y0
	VSUBPS    Y0, Y0, Y2
	VORPS     Y2, Y9, Y9
	VMULPS    Y15, Y0, Y0
	VROUNDPS  $0, Y0, Y0
	VCMPPS    $13, Y13, Y0, Y1 // f >= lo (ordered)
	VCMPPS    $2, Y14, Y0, Y2  // f <= hi (ordered)
	VANDPS    Y2, Y1, Y1
	VCMPPS    $3, Y0, Y0, Y4   // NaN
	VMAXPS    Y13, Y0, Y3
	VMINPS    Y14, Y3, Y3
	VANDNPS   Y3, Y4, Y3       // NaN -> 0
	VCVTPS2DQ Y3, Y6

	TESTQ     R8, R8
	JEQ       nofq
	VCVTDQ2PS Y6, Y5
	VMULPS    Y12, Y5, Y5
	VMOVUPS   Y5, (R8)
	ADDQ      $32, R8

nofq:
	TESTQ        DI, DI
	JEQ          nobytes
	VPADDD       Y11, Y6, Y7
	VPSHUFB      Y10, Y7, Y7
	VEXTRACTI128 $1, Y7, X8
	VPUNPCKLDQ   X8, X7, X7
	MOVQ         X7, (DI)
	ADDQ         $8, DI

nobytes:
	TESTQ        R9, R9
	JEQ          nomask
	VPSRLD       $31, Y1, Y1
	VPSHUFB      Y10, Y1, Y1
	VEXTRACTI128 $1, Y1, X8
	VPUNPCKLDQ   X8, X1, X1
	MOVQ         X1, (R9)
	ADDQ         $8, R9

nomask:
	ADDQ $32, SI
	DECQ CX
	JNZ  loop

done:
	VPTEST Y9, Y9
	SETEQ  finite+64(FP)
	VZEROUPPER
	RET
