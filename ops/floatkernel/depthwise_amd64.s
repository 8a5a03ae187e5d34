//go:build amd64 && !purego

#include "textflag.h"

// func tapsAxpyUnit(out, in *float32, offs *int, w *float32, ntaps, n int, add bool)
//
// out[i] = (add ? out[i] : 0) + Σ_t w[t]·in[i+offs[t]] for i < n rounded
// up to a multiple of 8 (the caller provides the slack): 64 outputs per
// step in eight accumulators (the FMA latency times eight chains covers
// the two FMA pipes), then 32, then 8. Every output is written once per
// call instead of once per tap; the sum order is the tap order.
TEXT ·tapsAxpyUnit(SB), NOSPLIT, $0-49
	MOVQ    out+0(FP), DI
	MOVQ    in+8(FP), SI
	MOVQ    offs+16(FP), R8
	MOVQ    w+24(FP), R9
	MOVQ    ntaps+32(FP), R10
	MOVQ    n+40(FP), CX
	MOVBQZX add+48(FP), R11

block64:
	CMPQ   CX, $64
	JLT    block32
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	TESTQ  R11, R11
	JZ     taps64
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y5
	VMOVUPS 160(DI), Y6
	VMOVUPS 192(DI), Y7
	VMOVUPS 224(DI), Y8

taps64:
	XORQ BX, BX

tap64:
	MOVQ         (R8)(BX*8), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R9)(BX*4), Y4
	VFMADD231PS  (DX), Y4, Y0
	VFMADD231PS  32(DX), Y4, Y1
	VFMADD231PS  64(DX), Y4, Y2
	VFMADD231PS  96(DX), Y4, Y3
	VFMADD231PS  128(DX), Y4, Y5
	VFMADD231PS  160(DX), Y4, Y6
	VFMADD231PS  192(DX), Y4, Y7
	VFMADD231PS  224(DX), Y4, Y8
	INCQ         BX
	CMPQ         BX, R10
	JLT          tap64
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	VMOVUPS      Y5, 128(DI)
	VMOVUPS      Y6, 160(DI)
	VMOVUPS      Y7, 192(DI)
	VMOVUPS      Y8, 224(DI)
	ADDQ         $256, DI
	ADDQ         $256, SI
	SUBQ         $64, CX
	JMP          block64

block32:
	CMPQ   CX, $32
	JLT    block8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  R11, R11
	JZ     taps32
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3

taps32:
	XORQ BX, BX

tap32:
	MOVQ         (R8)(BX*8), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R9)(BX*4), Y4
	VFMADD231PS  (DX), Y4, Y0
	VFMADD231PS  32(DX), Y4, Y1
	VFMADD231PS  64(DX), Y4, Y2
	VFMADD231PS  96(DX), Y4, Y3
	INCQ         BX
	CMPQ         BX, R10
	JLT          tap32
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	ADDQ         $128, DI
	ADDQ         $128, SI
	SUBQ         $32, CX
	JMP          block32

block8:
	CMPQ   CX, $0
	JLE    done
	VXORPS Y0, Y0, Y0
	TESTQ  R11, R11
	JZ     taps8
	VMOVUPS (DI), Y0

taps8:
	XORQ BX, BX

tap8:
	MOVQ         (R8)(BX*8), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R9)(BX*4), Y4
	VFMADD231PS  (DX), Y4, Y0
	INCQ         BX
	CMPQ         BX, R10
	JLT          tap8
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	SUBQ         $8, CX
	JMP          block8

done:
	VZEROUPPER
	RET
