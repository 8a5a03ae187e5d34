//go:build amd64 && !purego

#include "textflag.h"

// AVX2 versions of the fused kernels in bnact.go, built from the
// instructions of the separate kernels (act_amd64.s of internal/asm/f32)
// in the same order, so the bits are those of batch norm followed by ReLU
// or ReLU6.
//
// The gradient mask of pre-activation z = x*kf + bf is
// keep = NLE_UQ(z, 0) & (LT_OQ(z, hi) | passAll): !(z <= 0) (z > 0 or NaN,
// ReLU's mask) and, for ReLU6 (passAll 0, hi 6), z < 6, which NaN fails.

// dyXhatActLanesAVX2 needs all sixteen registers for the sums and
// temporaries, so the mask's constants live in its frame, 32 bytes each:
// kf, bf, hi, passAll, zero.
#define KF 0(SP)
#define BF 32(SP)
#define HI 64(SP)
#define PASS 96(SP)
#define ZERO 128(SP)

// DYXACT_HALF adds elements off..off+7 (byte offset off*4 = OFF) to lanes
// SA, SB of pa and pb: the mask, then dyXhatLanesAVX2's steps.
#define DYXACT_HALF(OFF, SA1, SA2, SB1, SB2) \
	VMOVUPS      OFF(SI)(AX*4), Y10 ; \
	VMULPS       KF, Y10, Y11 ; \
	VADDPS       BF, Y11, Y11 ; \
	VCMPPS       $0x16, ZERO, Y11, Y12 ; \
	VCMPPS       $0x11, HI, Y11, Y11 ; \
	VORPS        PASS, Y11, Y11 ; \
	VANDPS       Y12, Y11, Y11 ; \
	VANDPS       OFF(DI)(AX*4), Y11, Y11 ; \
	VSUBPS       Y8, Y10, Y10 ; \
	VMULPS       Y9, Y10, Y10 ; \
	VCVTPS2PD    X10, Y12 ; \
	VEXTRACTF128 $1, Y10, X10 ; \
	VCVTPS2PD    X10, Y13 ; \
	VCVTPS2PD    X11, Y14 ; \
	VEXTRACTF128 $1, Y11, X11 ; \
	VCVTPS2PD    X11, Y15 ; \
	VADDPD       Y14, SA1, SA1 ; \
	VADDPD       Y15, SA2, SA2 ; \
	VMULPD       Y14, Y12, Y12 ; \
	VMULPD       Y15, Y13, Y13 ; \
	VADDPD       Y12, SB1, SB1 ; \
	VADDPD       Y13, SB2, SB2

// func scaleShiftActAVX2(y, x *float32, n int, k, b, hi float32)
TEXT ·scaleShiftActAVX2(SB), NOSPLIT, $0-36
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS k+24(FP), Y4
	VBROADCASTSS b+28(FP), Y5
	VBROADCASTSS hi+32(FP), Y6
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

ssact_loop:
	CMPQ AX, CX
	JGE  ssact_done
	VMULPS  (SI)(AX*4), Y4, Y1 // scaleShiftAVX2
	VADDPS  Y5, Y1, Y1
	VCMPPS  $0x16, Y0, Y1, Y2  // reluAVX2
	VANDPS  Y1, Y2, Y1
	VMINPS  Y1, Y6, Y1         // relu6AVX2's hi < t ? hi : t; no-op for hi = +Inf
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     ssact_loop

ssact_done:
	VZEROUPPER
	RET

// func bnGradXActAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX, kf, bf, hi float32, passAll uint32)
TEXT ·bnGradXActAVX2(SB), NOSPLIT, $0-68
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS mean+32(FP), Y8
	VBROADCASTSS inv+36(FP), Y9
	VBROADCASTSS k+40(FP), Y10
	VBROADCASTSS meanDy+44(FP), Y11
	VBROADCASTSS meanDyX+48(FP), Y12
	VBROADCASTSS kf+52(FP), Y13
	VBROADCASTSS bf+56(FP), Y14
	VBROADCASTSS hi+60(FP), Y15
	VBROADCASTSS passAll+64(FP), Y5
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

gradxact_loop:
	CMPQ AX, CX
	JGE  gradxact_done
	VMOVUPS (SI)(AX*4), Y1
	VMULPS  Y13, Y1, Y3       // z = x*kf + bf
	VADDPS  Y14, Y3, Y3
	VCMPPS  $0x16, Y0, Y3, Y4 // !(z <= 0)
	VCMPPS  $0x11, Y15, Y3, Y3 // z < hi
	VORPS   Y5, Y3, Y3
	VANDPS  Y4, Y3, Y3
	VANDPS  (DX)(AX*4), Y3, Y2 // masked dy, then bnGradXAVX2
	VSUBPS  Y8, Y1, Y1
	VMULPS  Y9, Y1, Y1
	VMULPS  Y12, Y1, Y1
	VSUBPS  Y11, Y2, Y2
	VSUBPS  Y1, Y2, Y2
	VMULPS  Y10, Y2, Y2
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     gradxact_loop

gradxact_done:
	VZEROUPPER
	RET

// func dyXhatActLanesAVX2(x, dy *float32, n int, mean, inv, kf, bf, hi float32, passAll uint32, pa, pb *[lanes]float64)
TEXT ·dyXhatActLanesAVX2(SB), NOSPLIT, $160-64
	MOVQ x+0(FP), SI
	MOVQ dy+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Y8
	VBROADCASTSS inv+28(FP), Y9
	VBROADCASTSS kf+32(FP), Y10
	VMOVUPS      Y10, KF
	VBROADCASTSS bf+36(FP), Y10
	VMOVUPS      Y10, BF
	VBROADCASTSS hi+40(FP), Y10
	VMOVUPS      Y10, HI
	VBROADCASTSS passAll+44(FP), Y10
	VMOVUPS      Y10, PASS
	VXORPS       Y10, Y10, Y10
	VMOVUPS      Y10, ZERO
	MOVQ pa+48(FP), DX
	MOVQ pb+56(FP), BX
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD 96(DX), Y3
	VMOVUPD (BX), Y4
	VMOVUPD 32(BX), Y5
	VMOVUPD 64(BX), Y6
	VMOVUPD 96(BX), Y7
	XORQ AX, AX

dyxact_loop:
	CMPQ AX, CX
	JGE  dyxact_done
	DYXACT_HALF(0, Y0, Y1, Y4, Y5)
	DYXACT_HALF(32, Y2, Y3, Y6, Y7)
	ADDQ $16, AX
	JMP  dyxact_loop

dyxact_done:
	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, 96(DX)
	VMOVUPD Y4, (BX)
	VMOVUPD Y5, 32(BX)
	VMOVUPD Y6, 64(BX)
	VMOVUPD Y7, 96(BX)
	VZEROUPPER
	RET
