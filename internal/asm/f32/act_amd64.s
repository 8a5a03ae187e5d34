//go:build amd64 && !purego

#include "textflag.h"

// AVX2 versions of the pure-Go twins in twins.go, with the same operations
// in the same order (no FMA). Element-wise kernels take 8 floats a step,
// the sums 16 (four accumulators of four doubles, lane i mod 16).
//
// Comparison predicates: 0x16 NLE_UQ (true for x > 0 and NaN, the ReLU
// mask), 0x1E GT_OQ, 0x11 LT_OQ (false for NaN).

// func reluAVX2(y, x *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

relu_loop:
	CMPQ AX, CX
	JGE  relu_done
	VMOVUPS (SI)(AX*4), Y1
	VCMPPS  $0x16, Y0, Y1, Y2 // !(x <= 0): x > 0 or NaN
	VANDPS  Y1, Y2, Y1        // others (including -0) become +0
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     relu_loop

relu_done:
	VZEROUPPER
	RET

// func reluGradAVX2(dx, x, dy *float32, n int)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

relugrad_loop:
	CMPQ AX, CX
	JGE  relugrad_done
	VMOVUPS (SI)(AX*4), Y1
	VCMPPS  $0x16, Y0, Y1, Y2
	VANDPS  (DX)(AX*4), Y2, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     relugrad_loop

relugrad_done:
	VZEROUPPER
	RET

// func relu6AVX2(y, x *float32, n int)
TEXT ·relu6AVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	MOVL $0x40c00000, AX // 6.0
	MOVQ AX, X6
	VBROADCASTSS X6, Y6
	XORQ AX, AX

relu6_loop:
	CMPQ AX, CX
	JGE  relu6_done
	VMOVUPS (SI)(AX*4), Y1
	VCMPPS  $0x16, Y0, Y1, Y2
	VANDPS  Y1, Y2, Y1        // max(x, 0) as in reluAVX2
	VMINPS  Y1, Y6, Y1        // 6 < t ? 6 : t, so NaN stays NaN
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     relu6_loop

relu6_done:
	VZEROUPPER
	RET

// func relu6GradAVX2(dx, x, dy *float32, n int)
TEXT ·relu6GradAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y0, Y0, Y0
	MOVL $0x40c00000, AX
	MOVQ AX, X6
	VBROADCASTSS X6, Y6
	XORQ AX, AX

relu6grad_loop:
	CMPQ AX, CX
	JGE  relu6grad_done
	VMOVUPS (SI)(AX*4), Y1
	VCMPPS  $0x1E, Y0, Y1, Y2 // x > 0
	VCMPPS  $0x11, Y6, Y1, Y3 // x < 6
	VANDPS  Y2, Y3, Y2
	VANDPS  (DX)(AX*4), Y2, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     relu6grad_loop

relu6grad_done:
	VZEROUPPER
	RET

// func scaleShiftAVX2(y, x *float32, n int, k, b float32)
TEXT ·scaleShiftAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS k+24(FP), Y4
	VBROADCASTSS b+28(FP), Y5
	XORQ AX, AX

scale_loop:
	CMPQ AX, CX
	JGE  scale_done
	VMULPS  (SI)(AX*4), Y4, Y1
	VADDPS  Y5, Y1, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     scale_loop

scale_done:
	VZEROUPPER
	RET

// func bnGradXAVX2(dx, x, dy *float32, n int, mean, inv, k, meanDy, meanDyX float32)
TEXT ·bnGradXAVX2(SB), NOSPLIT, $0-52
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS mean+32(FP), Y8
	VBROADCASTSS inv+36(FP), Y9
	VBROADCASTSS k+40(FP), Y10
	VBROADCASTSS meanDy+44(FP), Y11
	VBROADCASTSS meanDyX+48(FP), Y12
	XORQ AX, AX

gradx_loop:
	CMPQ AX, CX
	JGE  gradx_done
	VMOVUPS (SI)(AX*4), Y1
	VSUBPS  Y8, Y1, Y1        // x - mean
	VMULPS  Y9, Y1, Y1        // x̂
	VMULPS  Y12, Y1, Y1       // x̂·meanDyX
	VMOVUPS (DX)(AX*4), Y2
	VSUBPS  Y11, Y2, Y2       // dy - meanDy
	VSUBPS  Y1, Y2, Y2
	VMULPS  Y10, Y2, Y2
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     gradx_loop

gradx_done:
	VZEROUPPER
	RET

// func sumLanesAVX2(v *float32, n int, p *[lanes]float64)
TEXT ·sumLanesAVX2(SB), NOSPLIT, $0-24
	MOVQ v+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ p+16(FP), DX
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD 96(DX), Y3
	XORQ AX, AX

sum_loop:
	CMPQ AX, CX
	JGE  sum_done
	VCVTPS2PD (SI)(AX*4), Y4
	VCVTPS2PD 16(SI)(AX*4), Y5
	VCVTPS2PD 32(SI)(AX*4), Y6
	VCVTPS2PD 48(SI)(AX*4), Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $16, AX
	JMP       sum_loop

sum_done:
	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, 96(DX)
	VZEROUPPER
	RET

// func sqDevLanesAVX2(v *float32, n int, mean float64, p *[lanes]float64)
TEXT ·sqDevLanesAVX2(SB), NOSPLIT, $0-32
	MOVQ v+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y8
	MOVQ p+24(FP), DX
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD 96(DX), Y3
	XORQ AX, AX

sq_loop:
	CMPQ AX, CX
	JGE  sq_done
	VCVTPS2PD (SI)(AX*4), Y4
	VCVTPS2PD 16(SI)(AX*4), Y5
	VCVTPS2PD 32(SI)(AX*4), Y6
	VCVTPS2PD 48(SI)(AX*4), Y7
	VSUBPD    Y8, Y4, Y4
	VSUBPD    Y8, Y5, Y5
	VSUBPD    Y8, Y6, Y6
	VSUBPD    Y8, Y7, Y7
	VMULPD    Y4, Y4, Y4
	VMULPD    Y5, Y5, Y5
	VMULPD    Y6, Y6, Y6
	VMULPD    Y7, Y7, Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $16, AX
	JMP       sq_loop

sq_done:
	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, 96(DX)
	VZEROUPPER
	RET

// func dyXhatLanesAVX2(x, dy *float32, n int, mean, inv float32, pa, pb *[lanes]float64)
TEXT ·dyXhatLanesAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ dy+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Y8
	VBROADCASTSS inv+28(FP), Y9
	MOVQ pa+32(FP), DX
	MOVQ pb+40(FP), BX
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD 96(DX), Y3
	VMOVUPD (BX), Y4
	VMOVUPD 32(BX), Y5
	VMOVUPD 64(BX), Y6
	VMOVUPD 96(BX), Y7
	XORQ AX, AX

dyx_loop:
	CMPQ AX, CX
	JGE  dyx_done
	// x̂ of elements 0-7 in float32, widened to lanes 0-3 (Y12), 4-7 (Y13)
	VMOVUPS       (SI)(AX*4), Y10
	VSUBPS        Y8, Y10, Y10
	VMULPS        Y9, Y10, Y10
	VCVTPS2PD     X10, Y12
	VEXTRACTF128  $1, Y10, X10
	VCVTPS2PD     X10, Y13
	VCVTPS2PD     (DI)(AX*4), Y14
	VCVTPS2PD     16(DI)(AX*4), Y15
	VADDPD        Y14, Y0, Y0
	VADDPD        Y15, Y1, Y1
	VMULPD        Y14, Y12, Y12
	VMULPD        Y15, Y13, Y13
	VADDPD        Y12, Y4, Y4
	VADDPD        Y13, Y5, Y5
	// elements 8-15, lanes 8-15
	VMOVUPS       32(SI)(AX*4), Y10
	VSUBPS        Y8, Y10, Y10
	VMULPS        Y9, Y10, Y10
	VCVTPS2PD     X10, Y12
	VEXTRACTF128  $1, Y10, X10
	VCVTPS2PD     X10, Y13
	VCVTPS2PD     32(DI)(AX*4), Y14
	VCVTPS2PD     48(DI)(AX*4), Y15
	VADDPD        Y14, Y2, Y2
	VADDPD        Y15, Y3, Y3
	VMULPD        Y14, Y12, Y12
	VMULPD        Y15, Y13, Y13
	VADDPD        Y12, Y6, Y6
	VADDPD        Y13, Y7, Y7
	ADDQ          $16, AX
	JMP           dyx_loop

dyx_done:
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

// func addActAVX2(y, a, b *float32, n int, hi float32)
//
// y = act(a + b), the sum rounded first: hi 0 no activation, +Inf ReLU,
// 6 ReLU6 (the clamps as in reluAVX2 and relu6AVX2).
TEXT ·addActAVX2(SB), NOSPLIT, $0-36
	MOVQ         y+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS hi+32(FP), Y6
	VXORPS       Y0, Y0, Y0
	XORQ         AX, AX
	VUCOMISS     X0, X6
	JEQ          add_loop // hi == 0: no activation

addact_loop:
	CMPQ    AX, CX
	JGE     addact_done
	VMOVUPS (SI)(AX*4), Y1
	VADDPS  (DX)(AX*4), Y1, Y1
	VCMPPS  $0x16, Y0, Y1, Y2 // !(t <= 0): t > 0 or NaN
	VANDPS  Y1, Y2, Y1        // others (including -0) become +0
	VMINPS  Y1, Y6, Y1        // 6 < t ? 6 : t (hi +Inf: t), so NaN stays NaN
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     addact_loop

add_loop:
	CMPQ    AX, CX
	JGE     addact_done
	VMOVUPS (SI)(AX*4), Y1
	VADDPS  (DX)(AX*4), Y1, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     add_loop

addact_done:
	VZEROUPPER
	RET
