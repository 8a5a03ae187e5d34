//go:build amd64 && !purego

#include "textflag.h"

// func rescale8(acc *int32, y *float32, n int, corr, scale float64)
//
// y[i] = float32((float64(acc[i]) + corr)·scale) for i < n (a multiple of
// 8), in float64 as the twin, rescaleGo: acc and corr are integers below 2^53,
// so the sum is exact, and the product and the final rounding to float32
// are IEEE operations.
TEXT ·rescale8(SB), NOSPLIT, $0-40
	MOVQ         acc+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSD corr+24(FP), Y14
	VBROADCASTSD scale+32(FP), Y15
	SHRQ         $3, CX
	JEQ          done

loop:
	VCVTDQ2PD  (SI), Y0
	VCVTDQ2PD  16(SI), Y1
	VADDPD     Y14, Y0, Y0
	VADDPD     Y14, Y1, Y1
	VMULPD     Y15, Y0, Y0
	VMULPD     Y15, Y1, Y1
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VMOVUPS    X0, (DI)
	VMOVUPS    X1, 16(DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	DECQ       CX
	JNZ        loop

done:
	VZEROUPPER
	RET
