//go:build amd64 && !purego

#include "textflag.h"

// PG3_ARGS loads pg3RowsAVX2xU's arguments into their registers. It is
// defined before the first function: vet checks a macro's argument
// references against the function its definition sits in.
#define PG3_ARGS \
	MOVQ p+0(FP), DI       \
	MOVQ chans+8(FP), CX   \
	MOVQ plane+16(FP), R14 \
	MOVQ wp+24(FP), R9     \
	MOVQ bases+40(FP), R10 \
	MOVQ n+48(FP), R11     \
	MOVQ acc+56(FP), R12   \
	MOVQ flags+64(FP), R13 \
	VPBROADCASTD bias+72(FP), Y12

// AVX2 pre-gathered kernels. See pregather.go for the design and
// kernel_avx2_amd64.go for the contract.
//
// pgRowsAVX2xU adds U units of sixteen uint16 entries per selector step.
// Registers:
//   Y(2u), Y(2u+1)  unit u's sums: S += the entry words as uint32 (even
//                   lane + 65536*odd lane), H += the words >> 16 (odd lane)
//   Y8, Y9          the loaded entries of units 0 and 1
//   Y12             bias in every dword (last call only)
//   DI p, SI offs, CX steps, R9 steps-1 (two steps per pass), R10 bases, R11 rows left, R12 acc,
//   R13 flags, BX the current row's codes (src + base), DX the current
//   step's 256 rows of P, AX the step, R8 the code, then its row's offset.
// With pgLast the sums are turned into the lanes' int32 sums plus bias
// before they are stored: the even lanes' are S - H<<16, and two dword
// unpacks and two 128-bit permutes put the lanes back in order.

// PGUNIT adds the sixteen entries at addr to the sums S and H.
#define PGUNIT(addr, S, H, T) \
	VMOVDQU addr, T; \
	VPADDD  T, S, S; \
	VPSRLD  $16, T, T; \
	VPADDD  T, H, H

// PGLAST turns the sums S and H of a unit into its sixteen lanes' sums
// plus bias (Y12), lanes 0-7 in S and 8-15 in H.
#define PGLAST(S, H, T) \
	VPSLLD     $16, H, T; \
	VPSUBD     T, S, S; \
	VPADDD     Y12, S, S; \
	VPADDD     Y12, H, H; \
	VPUNPCKLDQ H, S, T; \
	VPUNPCKHDQ H, S, H; \
	VPERM2I128 $0x20, H, T, S; \
	VPERM2I128 $0x31, H, T, H


// func pgRowsAVX2x1(p *byte, offs *int32, steps int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)
TEXT ·pgRowsAVX2x1(SB), NOSPLIT, $0-72
	MOVQ p+0(FP), DI
	MOVQ offs+8(FP), SI
	MOVQ steps+16(FP), CX
	LEAQ -1(CX), R9
	MOVQ bases+32(FP), R10
	MOVQ n+40(FP), R11
	MOVQ acc+48(FP), R12
	MOVQ flags+56(FP), R13
	VPBROADCASTD bias+64(FP), Y12

row:
	MOVLQSX (R10), BX
	ADDQ    src+24(FP), BX
	TESTQ   $1, R13
	JZ      load
	VPXOR   Y0, Y0, Y0
	VPXOR   Y1, Y1, Y1
	JMP     steps

load:
	VMOVDQU 0(R12), Y0
	VMOVDQU 32(R12), Y1

steps:
	MOVQ DI, DX
	XORQ AX, AX
	CMPQ R9, $0
	JLE  tail

pair:
	MOVLQSX (SI)(AX*4), R8
	MOVBQZX (BX)(R8*1), R8
	SHLQ    $5, R8
	PGUNIT(0(DX)(R8*1), Y0, Y1, Y8)
	MOVLQSX 4(SI)(AX*4), R8
	MOVBQZX (BX)(R8*1), R8
	SHLQ    $5, R8
	PGUNIT(8256(DX)(R8*1), Y0, Y1, Y8)
	ADDQ    $16512, DX
	ADDQ    $2, AX
	CMPQ    AX, R9
	JLT     pair

tail:
	CMPQ    AX, CX
	JGE     done
	MOVLQSX (SI)(AX*4), R8
	MOVBQZX (BX)(R8*1), R8
	SHLQ    $5, R8
	PGUNIT(0(DX)(R8*1), Y0, Y1, Y8)

done:
	TESTQ   $2, R13
	JZ      store
	PGLAST(Y0, Y1, Y8)

store:
	VMOVDQU Y0, 0(R12)
	VMOVDQU Y1, 32(R12)
	ADDQ    $4, R10
	ADDQ    $64, R12
	DECQ    R11
	JNZ     row
	VZEROUPPER
	RET

// func pgRowsAVX2x2(p *byte, offs *int32, steps int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)
TEXT ·pgRowsAVX2x2(SB), NOSPLIT, $0-72
	MOVQ p+0(FP), DI
	MOVQ offs+8(FP), SI
	MOVQ steps+16(FP), CX
	LEAQ -1(CX), R9
	MOVQ bases+32(FP), R10
	MOVQ n+40(FP), R11
	MOVQ acc+48(FP), R12
	MOVQ flags+56(FP), R13
	VPBROADCASTD bias+64(FP), Y12

row:
	MOVLQSX (R10), BX
	ADDQ    src+24(FP), BX
	TESTQ   $1, R13
	JZ      load
	VPXOR   Y0, Y0, Y0
	VPXOR   Y1, Y1, Y1
	VPXOR   Y2, Y2, Y2
	VPXOR   Y3, Y3, Y3
	JMP     steps

load:
	VMOVDQU 0(R12), Y0
	VMOVDQU 32(R12), Y1
	VMOVDQU 64(R12), Y2
	VMOVDQU 96(R12), Y3

steps:
	MOVQ DI, DX
	XORQ AX, AX
	CMPQ R9, $0
	JLE  tail

pair:
	MOVLQSX (SI)(AX*4), R8
	MOVBQZX (BX)(R8*1), R8
	SHLQ    $6, R8
	PGUNIT(0(DX)(R8*1), Y0, Y1, Y8)
	PGUNIT(32(DX)(R8*1), Y2, Y3, Y9)
	MOVLQSX 4(SI)(AX*4), R8
	MOVBQZX (BX)(R8*1), R8
	SHLQ    $6, R8
	PGUNIT(16448(DX)(R8*1), Y0, Y1, Y8)
	PGUNIT(16480(DX)(R8*1), Y2, Y3, Y9)
	ADDQ    $32896, DX
	ADDQ    $2, AX
	CMPQ    AX, R9
	JLT     pair

tail:
	CMPQ    AX, CX
	JGE     done
	MOVLQSX (SI)(AX*4), R8
	MOVBQZX (BX)(R8*1), R8
	SHLQ    $6, R8
	PGUNIT(0(DX)(R8*1), Y0, Y1, Y8)
	PGUNIT(32(DX)(R8*1), Y2, Y3, Y9)

done:
	TESTQ   $2, R13
	JZ      store
	PGLAST(Y0, Y1, Y8)
	PGLAST(Y2, Y3, Y9)

store:
	VMOVDQU Y0, 0(R12)
	VMOVDQU Y1, 32(R12)
	VMOVDQU Y2, 64(R12)
	VMOVDQU Y3, 96(R12)
	ADDQ    $4, R10
	ADDQ    $128, R12
	DECQ    R11
	JNZ     row
	VZEROUPPER
	RET

// PG3TAP1 and PG3TAP2 add the P row (one or two units) of the code at
// addr, for the step at P offset off (the second unit at off2).
#define PG3TAP1(addr, off) \
	MOVBQZX addr, R8; \
	SHLQ    $5, R8; \
	PGUNIT(off(DX)(R8*1), Y0, Y1, Y8)

#define PG3TAP2(addr, off, off2) \
	MOVBQZX addr, R8; \
	SHLQ    $6, R8; \
	PGUNIT(off(DX)(R8*1), Y0, Y1, Y8); \
	PGUNIT(off2(DX)(R8*1), Y2, Y3, Y9)

// PGWORDS adds the sixteen word sums in T to the sums S and H.
#define PGWORDS(T, S, H) \
	VPADDD  T, S, S; \
	VPSRLD  $16, T, T; \
	VPADDD  T, H, H

// PG3PAIR1 and PG3PAIR2 add the P rows of two taps, codes at addrA and
// addrB for the steps at offA and offB (second units at offA2, offB2),
// as 16-bit words first (pgPairs).
#define PG3PAIR1(addrA, addrB, offA, offB) \
	MOVBQZX addrA, R8; \
	MOVBQZX addrB, AX; \
	SHLQ    $5, R8; \
	SHLQ    $5, AX; \
	VMOVDQU offA(DX)(R8*1), Y8; \
	VPADDW  offB(DX)(AX*1), Y8, Y8; \
	PGWORDS(Y8, Y0, Y1)

#define PG3PAIR2(addrA, addrB, offA, offB, offA2, offB2) \
	MOVBQZX addrA, R8; \
	MOVBQZX addrB, AX; \
	SHLQ    $6, R8; \
	SHLQ    $6, AX; \
	VMOVDQU offA(DX)(R8*1), Y8; \
	VPADDW  offB(DX)(AX*1), Y8, Y8; \
	VMOVDQU offA2(DX)(R8*1), Y9; \
	VPADDW  offB2(DX)(AX*1), Y9, Y9; \
	PGWORDS(Y8, Y0, Y1); \
	PGWORDS(Y9, Y2, Y3)

// pg3RowsAVX2xU are pgRowsAVX2xU for the steps of 3×3 taps: chans input
// channels of nine steps each, tap (ky, kx) of channel c reading the code
// at the row's base + c*plane + ky*wp + kx. The taps' addresses are
// displacements off the row's base and wp, so no step offset is loaded.
// With pgPairs the taps of a channel are added two at a time as 16-bit
// words (the ninth alone). Registers as in pgRowsAVX2xU, and CX chans,
// SI channels left, R9 wp, R14 plane, AX the second code of a pair.

// func pg3RowsAVX2x1(p *byte, chans, plane, wp int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)
TEXT ·pg3RowsAVX2x1(SB), NOSPLIT, $0-80
	PG3_ARGS

row:
	MOVLQSX (R10), BX
	ADDQ    src+32(FP), BX
	TESTQ   $1, R13
	JZ      load
	VPXOR   Y0, Y0, Y0
	VPXOR   Y1, Y1, Y1
	JMP     taps

load:
	VMOVDQU 0(R12), Y0
	VMOVDQU 32(R12), Y1

taps:
	MOVQ  DI, DX
	MOVQ  CX, SI
	TESTQ $4, R13
	JNZ   paired

channel:
	PG3TAP1(0(BX), 0)
	PG3TAP1(1(BX), 8256)
	PG3TAP1(2(BX), 16512)
	PG3TAP1(0(BX)(R9*1), 24768)
	PG3TAP1(1(BX)(R9*1), 33024)
	PG3TAP1(2(BX)(R9*1), 41280)
	PG3TAP1(0(BX)(R9*2), 49536)
	PG3TAP1(1(BX)(R9*2), 57792)
	PG3TAP1(2(BX)(R9*2), 66048)
	ADDQ    R14, BX
	ADDQ    $74304, DX
	DECQ    SI
	JNZ     channel
	JMP     done

paired:
	PG3PAIR1(0(BX), 1(BX), 0, 8256)
	PG3PAIR1(2(BX), 0(BX)(R9*1), 16512, 24768)
	PG3PAIR1(1(BX)(R9*1), 2(BX)(R9*1), 33024, 41280)
	PG3PAIR1(0(BX)(R9*2), 1(BX)(R9*2), 49536, 57792)
	PG3TAP1(2(BX)(R9*2), 66048)
	ADDQ    R14, BX
	ADDQ    $74304, DX
	DECQ    SI
	JNZ     paired

done:
	TESTQ   $2, R13
	JZ      store
	PGLAST(Y0, Y1, Y8)

store:
	VMOVDQU Y0, 0(R12)
	VMOVDQU Y1, 32(R12)
	ADDQ    $4, R10
	ADDQ    $64, R12
	DECQ    R11
	JNZ     row
	VZEROUPPER
	RET

// func pg3RowsAVX2x2(p *byte, chans, plane, wp int, src *byte, bases *int32, n int, acc *uint32, flags int, bias int)
TEXT ·pg3RowsAVX2x2(SB), NOSPLIT, $0-80
	PG3_ARGS

row:
	MOVLQSX (R10), BX
	ADDQ    src+32(FP), BX
	TESTQ   $1, R13
	JZ      load
	VPXOR   Y0, Y0, Y0
	VPXOR   Y1, Y1, Y1
	VPXOR   Y2, Y2, Y2
	VPXOR   Y3, Y3, Y3
	JMP     taps

load:
	VMOVDQU 0(R12), Y0
	VMOVDQU 32(R12), Y1
	VMOVDQU 64(R12), Y2
	VMOVDQU 96(R12), Y3

taps:
	MOVQ  DI, DX
	MOVQ  CX, SI
	TESTQ $4, R13
	JNZ   paired

channel:
	PG3TAP2(0(BX), 0, 32)
	PG3TAP2(1(BX), 16448, 16480)
	PG3TAP2(2(BX), 32896, 32928)
	PG3TAP2(0(BX)(R9*1), 49344, 49376)
	PG3TAP2(1(BX)(R9*1), 65792, 65824)
	PG3TAP2(2(BX)(R9*1), 82240, 82272)
	PG3TAP2(0(BX)(R9*2), 98688, 98720)
	PG3TAP2(1(BX)(R9*2), 115136, 115168)
	PG3TAP2(2(BX)(R9*2), 131584, 131616)
	ADDQ    R14, BX
	ADDQ    $148032, DX
	DECQ    SI
	JNZ     channel
	JMP     done

paired:
	PG3PAIR2(0(BX), 1(BX), 0, 16448, 32, 16480)
	PG3PAIR2(2(BX), 0(BX)(R9*1), 32896, 49344, 32928, 49376)
	PG3PAIR2(1(BX)(R9*1), 2(BX)(R9*1), 65792, 82240, 65824, 82272)
	PG3PAIR2(0(BX)(R9*2), 1(BX)(R9*2), 98688, 115136, 98720, 115168)
	PG3TAP2(2(BX)(R9*2), 131584, 131616)
	ADDQ    R14, BX
	ADDQ    $148032, DX
	DECQ    SI
	JNZ     paired

done:
	TESTQ   $2, R13
	JZ      store
	PGLAST(Y0, Y1, Y8)
	PGLAST(Y2, Y3, Y9)

store:
	VMOVDQU Y0, 0(R12)
	VMOVDQU Y1, 32(R12)
	VMOVDQU Y2, 64(R12)
	VMOVDQU Y3, 96(R12)
	ADDQ    $4, R10
	ADDQ    $128, R12
	DECQ    R11
	JNZ     row
	VZEROUPPER
	RET

// pgBuildAVX2 transposes, for each unit of sixteen lanes, the lanes'
// source rows (256 uint16 entries each, at tab + rowOffs[q]) into rows
// of P (rowBytes apart), eight entries of each source row at a time: Y_i
// holds lanes i and i+8 in its two 128-bit halves, and three rounds of
// word, dword and qword unpacks transpose both 8x8 blocks at once, so
// that Y8+j ends up holding the sixteen lanes of row s0+j.
//
// Only the source columns [from, to) (byte offsets, whole blocks of eight
// entries) are transposed: dst is the first of their rows.
//
// func pgBuildAVX2(dst *byte, rowBytes int, tab *[257][256]uint16, rowOffs *int64, units, from, to int)
TEXT ·pgBuildAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ rowBytes+8(FP), R8
	MOVQ tab+16(FP), SI
	MOVQ rowOffs+24(FP), R9
	MOVQ units+32(FP), R10
	MOVQ to+48(FP), R12

unit:
	MOVQ from+40(FP), CX
	MOVQ DI, DX

block:
	LEAQ (SI)(CX*1), BX
	MOVQ        0(R9), AX
	VMOVDQU     (BX)(AX*1), X0
	MOVQ        64(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y0, Y0
	MOVQ        8(R9), AX
	VMOVDQU     (BX)(AX*1), X1
	MOVQ        72(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y1, Y1
	MOVQ        16(R9), AX
	VMOVDQU     (BX)(AX*1), X2
	MOVQ        80(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y2, Y2
	MOVQ        24(R9), AX
	VMOVDQU     (BX)(AX*1), X3
	MOVQ        88(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y3, Y3
	MOVQ        32(R9), AX
	VMOVDQU     (BX)(AX*1), X4
	MOVQ        96(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y4, Y4
	MOVQ        40(R9), AX
	VMOVDQU     (BX)(AX*1), X5
	MOVQ        104(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y5, Y5
	MOVQ        48(R9), AX
	VMOVDQU     (BX)(AX*1), X6
	MOVQ        112(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y6, Y6
	MOVQ        56(R9), AX
	VMOVDQU     (BX)(AX*1), X7
	MOVQ        120(R9), AX
	VINSERTI128 $1, (BX)(AX*1), Y7, Y7
	VPUNPCKLWD  Y1, Y0, Y8
	VPUNPCKHWD  Y1, Y0, Y9
	VPUNPCKLWD  Y3, Y2, Y10
	VPUNPCKHWD  Y3, Y2, Y11
	VPUNPCKLWD  Y5, Y4, Y12
	VPUNPCKHWD  Y5, Y4, Y13
	VPUNPCKLWD  Y7, Y6, Y14
	VPUNPCKHWD  Y7, Y6, Y15
	VPUNPCKLDQ  Y10, Y8, Y0
	VPUNPCKHDQ  Y10, Y8, Y1
	VPUNPCKLDQ  Y11, Y9, Y2
	VPUNPCKHDQ  Y11, Y9, Y3
	VPUNPCKLDQ  Y14, Y12, Y4
	VPUNPCKHDQ  Y14, Y12, Y5
	VPUNPCKLDQ  Y15, Y13, Y6
	VPUNPCKHDQ  Y15, Y13, Y7
	VPUNPCKLQDQ Y4, Y0, Y8
	VPUNPCKHQDQ Y4, Y0, Y9
	VPUNPCKLQDQ Y5, Y1, Y10
	VPUNPCKHQDQ Y5, Y1, Y11
	VPUNPCKLQDQ Y6, Y2, Y12
	VPUNPCKHQDQ Y6, Y2, Y13
	VPUNPCKLQDQ Y7, Y3, Y14
	VPUNPCKHQDQ Y7, Y3, Y15
	MOVQ        DX, R11
	VMOVDQU     Y8, (R11)
	ADDQ        R8, R11
	VMOVDQU     Y9, (R11)
	ADDQ        R8, R11
	VMOVDQU     Y10, (R11)
	ADDQ        R8, R11
	VMOVDQU     Y11, (R11)
	ADDQ        R8, R11
	VMOVDQU     Y12, (R11)
	ADDQ        R8, R11
	VMOVDQU     Y13, (R11)
	ADDQ        R8, R11
	VMOVDQU     Y14, (R11)
	ADDQ        R8, R11
	VMOVDQU     Y15, (R11)
	LEAQ        (DX)(R8*8), DX
	ADDQ        $16, CX
	CMPQ        CX, R12
	JLT         block
	ADDQ        $32, DI
	ADDQ        $128, R9
	DECQ        R10
	JNZ         unit
	VZEROUPPER
	RET

// PGTRANSPOSE8 loads eight selector rows' sums of eight lanes (row t at
// SI + CX + t*R9) and transposes them: Y8+q holds lane q's eight sums.
#define PGTRANSPOSE8 \
	LEAQ (SI)(CX*1), AX \
	VMOVDQU     (AX), Y0 \
	ADDQ        R9, AX \
	VMOVDQU     (AX), Y1 \
	ADDQ        R9, AX \
	VMOVDQU     (AX), Y2 \
	ADDQ        R9, AX \
	VMOVDQU     (AX), Y3 \
	ADDQ        R9, AX \
	VMOVDQU     (AX), Y4 \
	ADDQ        R9, AX \
	VMOVDQU     (AX), Y5 \
	ADDQ        R9, AX \
	VMOVDQU     (AX), Y6 \
	ADDQ        R9, AX \
	VMOVDQU     (AX), Y7 \
	VPUNPCKLDQ  Y1, Y0, Y8 \
	VPUNPCKHDQ  Y1, Y0, Y9 \
	VPUNPCKLDQ  Y3, Y2, Y10 \
	VPUNPCKHDQ  Y3, Y2, Y11 \
	VPUNPCKLDQ  Y5, Y4, Y12 \
	VPUNPCKHDQ  Y5, Y4, Y13 \
	VPUNPCKLDQ  Y7, Y6, Y14 \
	VPUNPCKHDQ  Y7, Y6, Y15 \
	VPUNPCKLQDQ Y10, Y8, Y0 \
	VPUNPCKHQDQ Y10, Y8, Y1 \
	VPUNPCKLQDQ Y11, Y9, Y2 \
	VPUNPCKHQDQ Y11, Y9, Y3 \
	VPUNPCKLQDQ Y14, Y12, Y4 \
	VPUNPCKHQDQ Y14, Y12, Y5 \
	VPUNPCKLQDQ Y15, Y13, Y6 \
	VPUNPCKHQDQ Y15, Y13, Y7 \
	VPERM2I128  $0x20, Y4, Y0, Y8 \
	VPERM2I128  $0x20, Y5, Y1, Y9 \
	VPERM2I128  $0x20, Y6, Y2, Y10 \
	VPERM2I128  $0x20, Y7, Y3, Y11 \
	VPERM2I128  $0x31, Y4, Y0, Y12 \
	VPERM2I128  $0x31, Y5, Y1, Y13 \
	VPERM2I128  $0x31, Y6, Y2, Y14 \
	VPERM2I128  $0x31, Y7, Y3, Y15

// PGLANES8 writes the transposed lanes Y8..Y15 below nl (R12 lanes left),
// one lane's eight sums opos (R8) bytes after the previous one's from DX,
// each with ST(X, Y, lane), and jumps to next.
#define PGLANES8(ST) \
	MOVQ        DX, R13 \
	ST(X8, Y8, 0) \
	CMPQ        R12, $1 \
	JLE         next \
	ADDQ        R8, R13 \
	ST(X9, Y9, 1) \
	CMPQ        R12, $2 \
	JLE         next \
	ADDQ        R8, R13 \
	ST(X10, Y10, 2) \
	CMPQ        R12, $3 \
	JLE         next \
	ADDQ        R8, R13 \
	ST(X11, Y11, 3) \
	CMPQ        R12, $4 \
	JLE         next \
	ADDQ        R8, R13 \
	ST(X12, Y12, 4) \
	CMPQ        R12, $5 \
	JLE         next \
	ADDQ        R8, R13 \
	ST(X13, Y13, 5) \
	CMPQ        R12, $6 \
	JLE         next \
	ADDQ        R8, R13 \
	ST(X14, Y14, 6) \
	CMPQ        R12, $7 \
	JLE         next \
	ADDQ        R8, R13 \
	ST(X15, Y15, 7)

// PGPUT stores lane sums S as they are.
#define PGPUT(X, S, L) VMOVDQU S, (R13)

// PGSCALE writes lane L's eight sums, in S (X its low half), to (R13) as floats: converted
// to float64, plus the lane's correction, times its scale, rounded to
// float32 (pgStoreScaledGo's formula). BX and R14 point at the corrections
// and scales of the block's first lane, CX*2 past them.
#define PGSCALE(X, S, L) \
	VCVTDQ2PD    X, Y0; \
	VEXTRACTI128 $1, S, X1; \
	VCVTDQ2PD    X1, Y1; \
	VBROADCASTSD (L*8)(BX)(CX*2), Y2; \
	VBROADCASTSD (L*8)(R14)(CX*2), Y3; \
	VADDPD       Y2, Y0, Y0; \
	VADDPD       Y2, Y1, Y1; \
	VMULPD       Y3, Y0, Y0; \
	VMULPD       Y3, Y1, Y1; \
	VCVTPD2PSY   Y0, X0; \
	VCVTPD2PSY   Y1, X1; \
	VINSERTF128  $1, X1, Y0, Y0; \
	VMOVUPS      Y0, (R13)

// pgStoreAVX2 writes groups blocks of eight selector rows' lane sums
// (acc, width dwords per row) to out, lane q of row t at out[q*opos+t]:
// eight rows of eight lanes are loaded, transposed (dword and qword
// unpacks, then 128-bit permutes), and each lane's eight sums stored as
// one vector, for the lanes below nl.
//
// func pgStoreAVX2(out *int32, opos int, acc *uint32, width int, nl int, groups int)
TEXT ·pgStoreAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ opos+8(FP), R8
	SHLQ $2, R8
	MOVQ acc+16(FP), SI
	MOVQ width+24(FP), R9
	SHLQ $2, R9
	MOVQ nl+32(FP), R10
	MOVQ groups+40(FP), R11

group:
	XORQ CX, CX
	MOVQ DI, DX
	MOVQ R10, R12

lanes:
	PGTRANSPOSE8
	PGLANES8(PGPUT)

next:
	ADDQ        $32, CX
	LEAQ        (DX)(R8*8), DX
	SUBQ        $8, R12
	JG          lanes
	ADDQ        $32, DI
	LEAQ        (SI)(R9*8), SI
	DECQ        R11
	JNZ         group
	VZEROUPPER
	RET

// codeRangeAVX2 returns the smallest and largest of the n bytes at src (n
// a positive multiple of 128), four vectors of running minima and maxima
// folded at the end.
//
// func codeRangeAVX2(src *byte, n int) (lo, hi uint8)
TEXT ·codeRangeAVX2(SB), NOSPLIT, $0-18
	MOVQ    src+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y2, Y6
	VMOVDQA Y3, Y7
	ADDQ    $128, SI
	SUBQ    $128, CX
	JZ      fold

loop:
	VMOVDQU 0(SI), Y8
	VMOVDQU 32(SI), Y9
	VMOVDQU 64(SI), Y10
	VMOVDQU 96(SI), Y11
	VPMINUB Y8, Y0, Y0
	VPMINUB Y9, Y1, Y1
	VPMINUB Y10, Y2, Y2
	VPMINUB Y11, Y3, Y3
	VPMAXUB Y8, Y4, Y4
	VPMAXUB Y9, Y5, Y5
	VPMAXUB Y10, Y6, Y6
	VPMAXUB Y11, Y7, Y7
	ADDQ    $128, SI
	SUBQ    $128, CX
	JNZ     loop

fold:
	// Fold the four vectors, then halves, down to one byte each.
	VPMINUB      Y1, Y0, Y0
	VPMINUB      Y3, Y2, Y2
	VPMINUB      Y2, Y0, Y0
	VPMAXUB      Y5, Y4, Y4
	VPMAXUB      Y7, Y6, Y6
	VPMAXUB      Y6, Y4, Y4
	VEXTRACTI128 $1, Y0, X1
	VPMINUB      X1, X0, X0
	VEXTRACTI128 $1, Y4, X5
	VPMAXUB      X5, X4, X4
	VPSRLDQ      $8, X0, X1
	VPMINUB      X1, X0, X0
	VPSRLDQ      $8, X4, X5
	VPMAXUB      X5, X4, X4
	VPSRLDQ      $4, X0, X1
	VPMINUB      X1, X0, X0
	VPSRLDQ      $4, X4, X5
	VPMAXUB      X5, X4, X4
	VPSRLDQ      $2, X0, X1
	VPMINUB      X1, X0, X0
	VPSRLDQ      $2, X4, X5
	VPMAXUB      X5, X4, X4
	VPSRLDQ      $1, X0, X1
	VPMINUB      X1, X0, X0
	VPSRLDQ      $1, X4, X5
	VPMAXUB      X5, X4, X4
	VPEXTRB      $0, X0, AX
	VPEXTRB      $0, X4, BX
	MOVB         AX, lo+16(FP)
	MOVB         BX, hi+17(FP)
	VZEROUPPER
	RET

// pgStoreScaledAVX2 is pgStoreAVX2 writing each lane's sums as floats
// (PGSCALE), lane q's correction and scale at corr[q] and scale[q].
//
// func pgStoreScaledAVX2(out *float32, opos int, acc *uint32, width int, nl int, groups int, corr, scale *float64)
TEXT ·pgStoreScaledAVX2(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), DI
	MOVQ opos+8(FP), R8
	SHLQ $2, R8
	MOVQ acc+16(FP), SI
	MOVQ width+24(FP), R9
	SHLQ $2, R9
	MOVQ nl+32(FP), R10
	MOVQ groups+40(FP), R11
	MOVQ corr+48(FP), BX
	MOVQ scale+56(FP), R14

group:
	XORQ CX, CX
	MOVQ DI, DX
	MOVQ R10, R12

lanes:
	PGTRANSPOSE8
	PGLANES8(PGSCALE)

next:
	ADDQ        $32, CX
	LEAQ        (DX)(R8*8), DX
	SUBQ        $8, R12
	JG          lanes
	ADDQ        $32, DI
	LEAQ        (SI)(R9*8), SI
	DECQ        R11
	JNZ         group
	VZEROUPPER
	RET
