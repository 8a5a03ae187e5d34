//go:build amd64 && !purego

#include "textflag.h"
#include "depthwise_amd64.h"

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

// func dot9Unit(dy, in *float32, offs *int, n int, sums *float32)
//
// sums[t] = Σ_i dy[i]·in[i+offs[t]] for the nine taps t of a 3x3 kernel
// and i < n rounded up to a multiple of 8 (the caller provides zeros in dy
// and readable slack in in): each dy vector is loaded once for the nine
// taps, one accumulator per tap, summed across lanes at the end.
TEXT ·dot9Unit(SB), NOSPLIT, $0-40
	MOVQ dy+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ offs+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ 0(DX), R8
	LEAQ (SI)(R8*4), R8
	MOVQ 8(DX), R9
	LEAQ (SI)(R9*4), R9
	MOVQ 16(DX), R10
	LEAQ (SI)(R10*4), R10
	MOVQ 24(DX), R11
	LEAQ (SI)(R11*4), R11
	MOVQ 32(DX), R12
	LEAQ (SI)(R12*4), R12
	MOVQ 40(DX), R13
	LEAQ (SI)(R13*4), R13
	MOVQ 48(DX), R14
	LEAQ (SI)(R14*4), R14
	MOVQ 56(DX), R15
	LEAQ (SI)(R15*4), R15
	MOVQ 64(DX), BX
	LEAQ (SI)(BX*4), BX
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

dot9loop:
	CMPQ        CX, $0
	JLE         dot9sum
	VMOVUPS     (DI)(AX*1), Y9
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
	JMP         dot9loop

dot9sum:
	MOVQ sums+32(FP), DX
	HSUM(Y0, X0)
	VMOVSS X0, 0(DX)
	HSUM(Y1, X1)
	VMOVSS X1, 4(DX)
	HSUM(Y2, X2)
	VMOVSS X2, 8(DX)
	HSUM(Y3, X3)
	VMOVSS X3, 12(DX)
	HSUM(Y4, X4)
	VMOVSS X4, 16(DX)
	HSUM(Y5, X5)
	VMOVSS X5, 20(DX)
	HSUM(Y6, X6)
	VMOVSS X6, 24(DX)
	HSUM(Y7, X7)
	VMOVSS X7, 28(DX)
	HSUM(Y8, X8)
	VMOVSS X8, 32(DX)
	VZEROUPPER
	RET

