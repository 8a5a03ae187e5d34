//go:build amd64 && !purego

#include "textflag.h"

// func adamAVX(w, grad, m, v *float32, n int, a *adamArgs)
//
// Four elements a step, each with the operations of the Go loop in
// adamGo in the same order, so the same bits: the moments in
// float32 (multiplications and additions, no FMA), the step in float64
// (VDIVPD and VSQRTPD round as DIVSD and SQRTSD), converted back to
// float32 with the rounding of a Go conversion.
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ a+40(FP), R9
	VBROADCASTSD 0(R9), Y8   // lr
	VBROADCASTSD 8(R9), Y9   // bc1
	VBROADCASTSD 16(R9), Y10 // bc2
	VBROADCASTSD 24(R9), Y11 // eps
	VBROADCASTSS 32(R9), X12 // beta1
	VBROADCASTSS 36(R9), X13 // 1-beta1
	VBROADCASTSS 40(R9), X14 // beta2
	VBROADCASTSS 44(R9), X15 // 1-beta2
	VXORPS X7, X7, X7        // Σ(w-w)
	XORQ AX, AX

adam_loop:
	CMPQ AX, CX
	JGE  adam_done
	VMOVUPS (SI)(AX*4), X0      // g
	VMULPS  (DX)(AX*4), X12, X1 // beta1*m
	VMULPS  X0, X13, X2         // (1-beta1)*g
	VADDPS  X2, X1, X1          // m
	VMOVUPS X1, (DX)(AX*4)
	VMULPS  (R8)(AX*4), X14, X3 // beta2*v
	VMULPS  X0, X15, X4         // (1-beta2)*g
	VMULPS  X0, X4, X4          // (1-beta2)*g*g
	VADDPS  X4, X3, X3          // v
	VMOVUPS X3, (R8)(AX*4)
	VCVTPS2PD X1, Y1
	VDIVPD    Y9, Y1, Y1        // mHat = m/bc1
	VCVTPS2PD X3, Y3
	VDIVPD    Y10, Y3, Y3       // vHat = v/bc2
	VSQRTPD   Y3, Y3
	VADDPD    Y11, Y3, Y3       // sqrt(vHat) + eps
	VMULPD    Y8, Y1, Y1        // lr*mHat
	VDIVPD    Y3, Y1, Y1        // lr*mHat / (sqrt(vHat) + eps)
	VCVTPD2PSY Y1, X1
	VMOVUPS (DI)(AX*4), X2
	VSUBPS  X1, X2, X2          // w -= step
	VMOVUPS X2, (DI)(AX*4)
	VSUBPS  X2, X2, X2
	VADDPS  X2, X7, X7
	ADDQ    $4, AX
	JMP     adam_loop

adam_done:
	VMOVUPS X7, 48(R9)
	VZEROUPPER
	RET
