//go:build amd64 && !purego

#include "textflag.h"

// func histAddAVX2(h *float32, codes *byte, d *float32, rows, cols, rowStride, step, width int)
//
// For each position of the grid (rows of cols codes, step bytes apart
// within a row, rows rowStride bytes apart), the position's width floats
// of d are added to the histogram row of its code, eight at a time: every
// sum gets the same adds in the same order as in histAddGo. Rows of one,
// two, four or eight blocks (the layers' usual channel counts) keep the
// last position's sums in registers: when a position has the code of the
// one before (common: the activations' zero point, which padding reads
// too, and blank image areas), its adds start from those registers instead
// of reloading the row just stored, which would make each such position
// wait for the store to be forwarded. The row is then loaded from d
// instead, a read that does not wait, and the blend takes the registers.
TEXT ·histAddAVX2(SB), NOSPLIT, $0-64
	MOVQ h+0(FP), DI
	MOVQ codes+8(FP), SI
	MOVQ SI, R14
	MOVQ d+16(FP), DX
	MOVQ rows+24(FP), R15
	MOVQ cols+32(FP), CX
	MOVQ step+48(FP), R13
	MOVQ width+56(FP), R8
	MOVQ R8, R9
	SHLQ $2, R9
	MOVQ $256, BX
	CMPQ R8, $8
	JEQ one
	CMPQ R8, $16
	JEQ two
	CMPQ R8, $32
	JEQ four
	CMPQ R8, $64
	JEQ eight
	PCALIGN $32

position:
	MOVBQZX (SI), AX
	IMULQ R9, AX
	LEAQ (DI)(AX*1), R10
	MOVQ R8, R11

block:
	VMOVUPS (R10), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (R10)
	ADDQ $32, DX
	ADDQ $32, R10
	SUBQ $8, R11
	JNZ block

	ADDQ R13, SI
	DECQ CX
	JNZ position
	ADDQ rowStride+40(FP), R14
	MOVQ R14, SI
	MOVQ cols+32(FP), CX
	DECQ R15
	JNZ position

	VZEROUPPER
	RET

// HIST_ROW sets R12 to the histogram row of the position's code (rows of
// 1<<shift bytes), R10 to the row to load (d when the code is the last
// position's) and Y7 to all ones when it is, zeros otherwise.
#define HIST_ROW(shift) \
	MOVBQZX (SI), AX       \
	MOVQ    AX, R12        \
	SHLQ    $shift, R12    \
	ADDQ    DI, R12        \
	MOVQ    R12, R10       \
	XORQ    R11, R11       \
	CMPQ    AX, BX         \
	CMOVQEQ DX, R10        \
	SETEQ   R11            \
	NEGQ    R11            \
	MOVQ    AX, BX         \
	VMOVQ   R11, X7        \
	VPBROADCASTQ X7, Y7

// HIST_BLOCK adds the position's block at byte offset off to the row's,
// taking the row's block from register last when Y7 says so, and keeps the
// sum in last.
#define HIST_BLOCK(off, last) \
	VMOVUPS   off(R10), Y0       \
	VBLENDVPS Y7, last, Y0, Y0   \
	VADDPS    off(DX), Y0, last  \
	VMOVUPS   last, off(R12)

// HIST_NEXT moves on to the next position (rows of bytes bytes) and jumps
// to label while there is one.
#define HIST_NEXT(bytes, label) \
	ADDQ $bytes, DX             \
	ADDQ R13, SI                \
	DECQ CX                     \
	JNZ  label                  \
	ADDQ rowStride+40(FP), R14  \
	MOVQ R14, SI                \
	MOVQ cols+32(FP), CX        \
	DECQ R15                    \
	JNZ  label

one:
	HIST_ROW(5)
	HIST_BLOCK(0, Y8)
	HIST_NEXT(32, one)
	VZEROUPPER
	RET

two:
	HIST_ROW(6)
	HIST_BLOCK(0, Y8)
	HIST_BLOCK(32, Y9)
	HIST_NEXT(64, two)
	VZEROUPPER
	RET

four:
	HIST_ROW(7)
	HIST_BLOCK(0, Y8)
	HIST_BLOCK(32, Y9)
	HIST_BLOCK(64, Y10)
	HIST_BLOCK(96, Y11)
	HIST_NEXT(128, four)
	VZEROUPPER
	RET

eight:
	HIST_ROW(8)
	HIST_BLOCK(0, Y8)
	HIST_BLOCK(32, Y9)
	HIST_BLOCK(64, Y10)
	HIST_BLOCK(96, Y11)
	HIST_BLOCK(128, Y12)
	HIST_BLOCK(160, Y13)
	HIST_BLOCK(192, Y14)
	HIST_BLOCK(224, Y15)
	HIST_NEXT(256, eight)
	VZEROUPPER
	RET

// func denseSegsBlocks(a, b *float32, segs *seg, nseg, blocks int, acc *[8]float32)
//
// For each segment (two int32 offsets, in floats), its blocks of eight
// products a·b are added to the eight lanes held in Y0, multiplied and
// added in two roundings, as denseSegs's Go loop does.
TEXT ·denseSegsBlocks(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ segs+16(FP), BX
	MOVQ nseg+24(FP), CX
	MOVQ blocks+32(FP), R8
	MOVQ acc+40(FP), R9
	VMOVUPS (R9), Y0

segment:
	MOVLQSX 0(BX), AX
	MOVLQSX 4(BX), DX
	LEAQ (SI)(AX*4), R10
	LEAQ (DI)(DX*4), R11
	MOVQ R8, R12

segblock:
	VMOVUPS (R10), Y1
	VMULPS (R11), Y1, Y1
	VADDPS Y1, Y0, Y0
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ R12
	JNZ segblock

	ADDQ $8, BX
	DECQ CX
	JNZ segment

	VMOVUPS Y0, (R9)
	VZEROUPPER
	RET

// func spanDotsBlocks(m *float32, rowWidth int, codes *byte, d *float32, step int, segs *seg, nseg, blocks, n int, out *float32)
//
// For each of n positions: the slopes row m + code*rowWidth, the segments'
// blocks of eight products added to eight lanes (two roundings per
// product, as in Go), the lanes folded as ((0+4)+(2+6))+((1+5)+(3+7)) and
// stored; the output gradient pointer moves on by step floats per
// position. Positions go in pairs, each with its own accumulator (Y0, Y2),
// so that the two chains of dependent adds overlap; each position's sums
// are those it would get alone.
TEXT ·spanDotsBlocks(SB), NOSPLIT, $0-80
	MOVQ m+0(FP), SI
	MOVQ rowWidth+8(FP), R13
	SHLQ $2, R13
	MOVQ codes+16(FP), R14
	MOVQ d+24(FP), DI
	MOVQ step+32(FP), R15
	SHLQ $2, R15
	MOVQ out+72(FP), R12

pairs:
	MOVQ n+64(FP), AX
	CMPQ AX, $2
	JLT last
	MOVBQZX (R14), AX
	IMULQ R13, AX
	LEAQ (SI)(AX*1), DX
	MOVBQZX 1(R14), AX
	IMULQ R13, AX
	LEAQ (SI)(AX*1), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	MOVQ segs+40(FP), BX
	MOVQ nseg+48(FP), CX

pairseg:
	MOVLQSX 0(BX), AX
	LEAQ (DX)(AX*4), R10
	LEAQ (R9)(AX*4), AX
	MOVLQSX 4(BX), R11
	LEAQ (DI)(R11*4), R11
	MOVQ blocks+56(FP), R8

pairblock:
	VMOVUPS (R10), Y1
	VMULPS (R11), Y1, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS (AX), Y3
	VMULPS (R11)(R15*1), Y3, Y3
	VADDPS Y3, Y2, Y2
	ADDQ $32, R10
	ADDQ $32, AX
	ADDQ $32, R11
	DECQ R8
	JNZ pairblock

	ADDQ $8, BX
	DECQ CX
	JNZ pairseg

	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (R12)
	VEXTRACTF128 $1, Y2, X3
	VADDPS X3, X2, X2
	VMOVHLPS X2, X2, X3
	VADDPS X3, X2, X2
	VMOVSHDUP X2, X3
	VADDSS X3, X2, X2
	VMOVSS X2, 4(R12)

	ADDQ $8, R12
	ADDQ $2, R14
	LEAQ (DI)(R15*2), DI
	SUBQ $2, n+64(FP)
	JMP pairs

last:
	TESTQ AX, AX
	JZ done
	MOVBQZX (R14), AX
	IMULQ R13, AX
	LEAQ (SI)(AX*1), DX
	VXORPS Y0, Y0, Y0
	MOVQ segs+40(FP), BX
	MOVQ nseg+48(FP), CX

lastseg:
	MOVLQSX 0(BX), AX
	LEAQ (DX)(AX*4), R10
	MOVLQSX 4(BX), AX
	LEAQ (DI)(AX*4), R11
	MOVQ blocks+56(FP), R8

lastblock:
	VMOVUPS (R10), Y1
	VMULPS (R11), Y1, Y1
	VADDPS Y1, Y0, Y0
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ R8
	JNZ lastblock

	ADDQ $8, BX
	DECQ CX
	JNZ lastseg

	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (R12)

done:
	VZEROUPPER
	RET

// func slopesAVX2(p *float32, wl *byte, gwT *float32, stride, blocks int)
//
// For each block of eight weight codes, the eight rows of gwT they select
// are read eight activation codes at a time and transposed in registers,
// so that each store writes one activation code's eight slopes to its row
// of p (stride floats per row): p[a*stride+j] = gwT[wl[j]][a], as slopesGo
// writes them.
TEXT ·slopesAVX2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), DI
	MOVQ wl+8(FP), SI
	MOVQ stride+24(FP), R14
	SHLQ $2, R14
	MOVQ blocks+32(FP), R13

sblock:
	MOVBQZX 0(SI), AX
	SHLQ $10, AX
	ADDQ gwT+16(FP), AX
	MOVBQZX 1(SI), BX
	SHLQ $10, BX
	ADDQ gwT+16(FP), BX
	MOVBQZX 2(SI), CX
	SHLQ $10, CX
	ADDQ gwT+16(FP), CX
	MOVBQZX 3(SI), DX
	SHLQ $10, DX
	ADDQ gwT+16(FP), DX
	MOVBQZX 4(SI), R8
	SHLQ $10, R8
	ADDQ gwT+16(FP), R8
	MOVBQZX 5(SI), R9
	SHLQ $10, R9
	ADDQ gwT+16(FP), R9
	MOVBQZX 6(SI), R10
	SHLQ $10, R10
	ADDQ gwT+16(FP), R10
	MOVBQZX 7(SI), R11
	SHLQ $10, R11
	ADDQ gwT+16(FP), R11
	MOVQ DI, R12
	MOVQ $32, R15

sgroup:
	VMOVUPS (AX), Y0
	VMOVUPS (BX), Y1
	VMOVUPS (CX), Y2
	VMOVUPS (DX), Y3
	VMOVUPS (R8), Y4
	VMOVUPS (R9), Y5
	VMOVUPS (R10), Y6
	VMOVUPS (R11), Y7
	// Pairs of codes interleaved, then quadruples, then the halves
	// exchanged: Y8+t holds activation code t (and t+4 in Y12+t).
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (R12)
	ADDQ R14, R12
	VMOVUPS Y9, (R12)
	ADDQ R14, R12
	VMOVUPS Y10, (R12)
	ADDQ R14, R12
	VMOVUPS Y11, (R12)
	ADDQ R14, R12
	VMOVUPS Y12, (R12)
	ADDQ R14, R12
	VMOVUPS Y13, (R12)
	ADDQ R14, R12
	VMOVUPS Y14, (R12)
	ADDQ R14, R12
	VMOVUPS Y15, (R12)
	ADDQ R14, R12
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, CX
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ R15
	JNZ sgroup

	ADDQ $8, SI
	ADDQ $32, DI
	DECQ R13
	JNZ sblock

	VZEROUPPER
	RET

// func contractAVX2(out *float64, p, h *float32, stride, blocks int)
//
// Columns sixteen at a time (eight for a last odd block): the rows of p
// and h widened to float64, multiplied (exactly: float32 products fit a
// float64) and added to the columns' sums in registers, the 256 rows in
// order, as contractGo adds them.
TEXT ·contractAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ h+16(FP), DX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	MOVQ blocks+32(FP), R9

cpair:
	CMPQ R9, $2
	JLT csingle
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ $256, CX

cpairrow:
	VCVTPS2PD (R10), Y4
	VCVTPS2PD 16(R10), Y5
	VCVTPS2PD 32(R10), Y6
	VCVTPS2PD 48(R10), Y7
	VCVTPS2PD (R11), Y8
	VCVTPS2PD 16(R11), Y9
	VCVTPS2PD 32(R11), Y10
	VCVTPS2PD 48(R11), Y11
	VMULPD Y8, Y4, Y4
	VMULPD Y9, Y5, Y5
	VMULPD Y10, Y6, Y6
	VMULPD Y11, Y7, Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ R8, R10
	ADDQ R8, R11
	DECQ CX
	JNZ cpairrow

	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $2, R9
	JMP cpair

csingle:
	TESTQ R9, R9
	JZ cdone
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	MOVQ $256, CX

csinglerow:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD (DX), Y8
	VCVTPS2PD 16(DX), Y9
	VMULPD Y8, Y4, Y4
	VMULPD Y9, Y5, Y5
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	ADDQ R8, SI
	ADDQ R8, DX
	DECQ CX
	JNZ csinglerow

	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)

cdone:
	VZEROUPPER
	RET

// TAP_SUM multiplies the slopes of tap t (at byte offset 64*t of the row
// of the code at offs[t]) by the output gradients in Y8, Y9 and adds the
// products to the tap's sums, acc0 and acc1.
#define TAP_SUM(offreg, t, acc0, acc1) \
	MOVBQZX (SI)(offreg*1), AX           \
	SHLQ    $8, AX                       \
	VMULPS  (64*t)(DI)(AX*1), Y8, Y10    \
	VADDPS  Y10, acc0, acc0              \
	VMULPS  (64*t+32)(DI)(AX*1), Y9, Y11 \
	VADDPS  Y11, acc1, acc1

// func tapSumsAVX2(acc, q *float32, codes *byte, offs *[4]int, d *float32, imgs, imgStride, rows, cols, rowStride, step, dStride int)
//
// The four taps' sums of sixteen channels in Y0-Y7, the position's output
// gradients in Y8, Y9: per position, each tap's code picks its row of q
// (256 bytes per code, 64 per tap), and the products are rounded and then
// added, as tapSumsGo adds them. The grids of the images follow each
// other (BX their first codes), the output gradients run on.
TEXT ·tapSumsAVX2(SB), NOSPLIT, $0-96
	MOVQ q+8(FP), DI
	MOVQ offs+24(FP), BX
	MOVQ 0(BX), R8
	MOVQ 8(BX), R9
	MOVQ 16(BX), R10
	MOVQ 24(BX), R11
	MOVQ codes+16(FP), BX
	MOVQ d+32(FP), DX
	MOVQ step+80(FP), R13
	MOVQ dStride+88(FP), R12
	SHLQ $2, R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

tsimage:
	MOVQ BX, SI
	MOVQ BX, R14
	MOVQ rows+56(FP), R15
	MOVQ cols+64(FP), CX
	PCALIGN $32

tsposition:
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	TAP_SUM(R8, 0, Y0, Y1)
	TAP_SUM(R9, 1, Y2, Y3)
	TAP_SUM(R10, 2, Y4, Y5)
	TAP_SUM(R11, 3, Y6, Y7)
	ADDQ R12, DX
	ADDQ R13, SI
	DECQ CX
	JNZ tsposition
	ADDQ rowStride+72(FP), R14
	MOVQ R14, SI
	MOVQ cols+64(FP), CX
	DECQ R15
	JNZ tsposition
	ADDQ imgStride+48(FP), BX
	DECQ imgs+40(FP)
	JNZ tsimage

	MOVQ acc+0(FP), DI
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VZEROUPPER
	RET
