//go:build amd64 && !purego

#include "textflag.h"

// The AVX2 transforms of Winograd's F(4x4,3x3) (winograd.go): as those of
// F(2x2,3x3) in winograd_amd64.s, eight tiles to a vector, with the padded
// rows split into four phases by column modulo 4, so that each of a tile's
// six input columns is one vector load. Both transforms go through a 6×6
// grid of vectors on the stack (the rows' transforms, then the columns'),
// which keeps the sixteen registers for the arithmetic.

// BROADCAST loads the float32 of the given bits into every lane of y (x
// its low half), through AX.
#define BROADCAST(bits, x, y) \
	MOVL         bits, AX \
	MOVQ         AX, x    \
	VBROADCASTSS x, y

// The arguments of winoInput4x8 and winoGrad4x8, which share their
// layout: AX the tile rows left, CX the tile row's first row, R15 a phase
// (quarter floats) in bytes and R14 three, R8 the pitch in bytes, DX the
// tile row's transforms, R9 one position (vs floats) in bytes, R10 six
// and R12 eighteen.
#define PHASE_ARGS \
	MOVQ rows+8(FP), AX    \
	MOVQ in+16(FP), CX     \
	MOVQ quarter+24(FP), R15 \
	SHLQ $2, R15           \
	LEAQ (R15)(R15*2), R14 \
	MOVQ pitch+32(FP), R8  \
	SHLQ $2, R8            \
	MOVQ v+40(FP), DX      \
	MOVQ vs+56(FP), R9     \
	SHLQ $2, R9            \
	LEAQ (R9)(R9*2), R10   \
	SHLQ $1, R10           \
	LEAQ (R10)(R10*2), R12

// The loops of winoInput4x8 and winoGrad4x8 around a group's body: R13
// counts the groups, SI is the group's first row and R11 its transforms.
#define GROUPS_START \
	MOVQ  groups+0(FP), R13 \
	MOVQ  CX, SI            \
	MOVQ  DX, R11

#define GROUP_NEXT \
	SUBQ R10, R11 \
	ADDQ $32, SI  \
	ADDQ $32, R11 \
	DECQ R13

#define ROW_NEXT \
	LEAQ (CX)(R8*4), CX   \
	MOVQ vRow+48(FP), BX  \
	LEAQ (DX)(BX*4), DX   \
	DECQ AX

// STORE_COL stores the six transforms of column k, element i of the
// column at position 6i+k (R11; R10 is six positions, R12 eighteen), and
// moves R11 on to column k+1.
#define STORE_COL(a, b, c, d, e, f) \
	VMOVUPS a, (R11)         \
	VMOVUPS b, (R11)(R10*1)  \
	VMOVUPS c, (R11)(R10*2)  \
	VMOVUPS d, (R11)(R12*1)  \
	LEAQ    (R11)(R12*1), DI \
	VMOVUPS e, (DI)(R10*1)   \
	VMOVUPS f, (DI)(R10*2)   \
	ADDQ    R9, R11

// BT_ROW applies a row (or column) of Bᵀ d: t0 = 4d0-5d2+d4, t1 = (d4-4d2)
// + (d3-4d1), t2 = (d4-4d2) - (d3-4d1), t3 = (d4-d2) + 2(d3-d1), t4 =
// (d4-d2) - 2(d3-d1), t5 = 4d1-5d3+d5 to d0..d5 in Y0..Y5, leaving t0..t5
// in Y4, Y8, Y9, Y10, Y11, Y5. Y13 = 4, Y14 = 5, Y15 = 2.
#define BT_ROW \
	VMOVAPS      Y4, Y6          \
	VFNMADD231PS Y2, Y13, Y6     \
	VMOVAPS      Y3, Y7          \
	VFNMADD231PS Y1, Y13, Y7     \
	VADDPS       Y7, Y6, Y8      \
	VSUBPS       Y7, Y6, Y9      \
	VSUBPS       Y2, Y4, Y6      \
	VSUBPS       Y1, Y3, Y7      \
	VMOVAPS      Y6, Y10         \
	VFMADD231PS  Y7, Y15, Y10    \
	VMOVAPS      Y6, Y11         \
	VFNMADD231PS Y7, Y15, Y11    \
	VFMADD231PS  Y0, Y13, Y4     \
	VFNMADD231PS Y2, Y14, Y4     \
	VFMADD231PS  Y1, Y13, Y5     \
	VFNMADD231PS Y3, Y14, Y5

// STORE6 stores the six results of BT_ROW at off, off+32, ..., off+160
// from base.
#define STORE6(base, off) \
	VMOVUPS Y4, off(base)     \
	VMOVUPS Y8, off+32(base)  \
	VMOVUPS Y9, off+64(base)  \
	VMOVUPS Y10, off+96(base) \
	VMOVUPS Y11, off+128(base) \
	VMOVUPS Y5, off+160(base)

// IN_ROW loads padded row RX of the group's eight tiles, columns 4j..4j+5
// from phases 0..3 (SI-relative offsets 0, R15, 2·R15, R14 = 3·R15) and
// phases 0 and 1 one further, transforms it and stores it as row r of the
// grid.
#define IN_ROW(off) \
	VMOVUPS (BX), Y0            \
	VMOVUPS (BX)(R15*1), Y1     \
	VMOVUPS (BX)(R15*2), Y2     \
	VMOVUPS (BX)(R14*1), Y3     \
	VMOVUPS 4(BX), Y4           \
	VMOVUPS 4(BX)(R15*1), Y5    \
	BT_ROW                      \
	STORE6(SP, off)             \
	ADDQ    R8, BX

// IN_COL loads column k of the grid (rows 0..5, 192 bytes apart), applies
// Bᵀ and stores element (i, k) at position 6i+k: R11 points at position
// k, R10 is six positions (6·vs) in bytes, R12 three times that.
#define IN_COL(off) \
	VMOVUPS off(SP), Y0       \
	VMOVUPS off+192(SP), Y1   \
	VMOVUPS off+384(SP), Y2   \
	VMOVUPS off+576(SP), Y3   \
	VMOVUPS off+768(SP), Y4   \
	VMOVUPS off+960(SP), Y5   \
	BT_ROW                    \
	STORE_COL(Y4, Y8, Y9, Y10, Y11, Y5)

// func winoInput4x8(groups, rows int, in *float32, quarter, pitch int, v *float32, vRow, vs int)
//
// The input transform V = Bᵀ d B of F(4x4,3x3) for rows tile rows of
// groups×8 tiles. Padded row y holds its columns 4i+p at in + y·pitch +
// p·quarter + i, so tile j of a tile row reads element j of phases 0..3
// and element j+1 of phases 0 and 1 of six rows; the next tile row starts
// four padded rows down. Element (i, k) of tile j's V goes to
// v[(6i+k)·vs + j], the next tile row's vRow floats further.
TEXT ·winoInput4x8(SB), 0, $1152-64
	BROADCAST($0x40800000, X13, Y13) // 4
	BROADCAST($0x40a00000, X14, Y14) // 5
	BROADCAST($0x40000000, X15, Y15) // 2
	PHASE_ARGS
	TESTQ AX, AX
	JEQ   in4done

in4row:
	GROUPS_START
	TESTQ R13, R13
	JEQ   in4next

in4group:
	MOVQ SI, BX
	IN_ROW(0)
	IN_ROW(192)
	IN_ROW(384)
	IN_ROW(576)
	IN_ROW(768)
	IN_ROW(960)
	IN_COL(0)
	IN_COL(32)
	IN_COL(64)
	IN_COL(96)
	IN_COL(128)
	IN_COL(160)
	GROUP_NEXT // R11 back from six positions on, to the next group
	JNZ  in4group

in4next:
	ROW_NEXT
	JNZ in4row

in4done:
	VZEROUPPER
	RET

// AT_ROW applies a row (or column) of Aᵀ m: y0 = m0+(m1+m2)+(m3+m4), y1 =
// (m1-m2) + 2(m3-m4), y2 = (m1+m2) + 4(m3+m4), y3 = (m1-m2) + 8(m3-m4) +
// m5 to m0..m5 in Y0..Y5, leaving y0..y3 in Y0..Y3. Y13 = 4, Y14 = 8,
// Y15 = 2.
#define AT_ROW \
	VADDPS      Y2, Y1, Y6  \
	VSUBPS      Y2, Y1, Y7  \
	VADDPS      Y4, Y3, Y8  \
	VSUBPS      Y4, Y3, Y9  \
	VADDPS      Y6, Y0, Y0  \
	VADDPS      Y8, Y0, Y0  \
	VMOVAPS     Y7, Y1      \
	VFMADD231PS Y9, Y15, Y1 \
	VMOVAPS     Y6, Y2      \
	VFMADD231PS Y8, Y13, Y2 \
	VADDPS      Y7, Y5, Y3  \
	VFMADD231PS Y9, Y14, Y3

// OUT_COL loads column k of the group's M (positions 6i+k, i = 0..5; CX
// points at position k, R10 is six positions in bytes, R12 eighteen),
// applies Aᵀ and stores z_0k..z_3k as column k of the grid (rows 192
// bytes apart).
#define OUT_COL(off) \
	VMOVUPS (CX), Y0          \
	VMOVUPS (CX)(R10*1), Y1   \
	VMOVUPS (CX)(R10*2), Y2   \
	VMOVUPS (CX)(R12*1), Y3   \
	LEAQ    (CX)(R12*1), DI   \
	VMOVUPS (DI)(R10*1), Y4   \
	VMOVUPS (DI)(R10*2), Y5   \
	AT_ROW                    \
	VMOVUPS Y0, off(SP)       \
	VMOVUPS Y1, off+192(SP)   \
	VMOVUPS Y2, off+384(SP)   \
	VMOVUPS Y3, off+576(SP)   \
	ADDQ    R9, CX

// OUT_ROW applies Aᵀ to row r of the grid, giving outputs s = 0..3 of the
// eight tiles' row r in Y0..Y3, interleaves them tile by tile into 32
// floats and stores them at DI, then moves DI on a row.
#define OUT_ROW(off) \
	VMOVUPS    off(SP), Y0     \
	VMOVUPS    off+32(SP), Y1  \
	VMOVUPS    off+64(SP), Y2  \
	VMOVUPS    off+96(SP), Y3  \
	VMOVUPS    off+128(SP), Y4 \
	VMOVUPS    off+160(SP), Y5 \
	AT_ROW                     \
	VUNPCKLPS  Y1, Y0, Y4      \
	VUNPCKHPS  Y1, Y0, Y5      \
	VUNPCKLPS  Y3, Y2, Y6      \
	VUNPCKHPS  Y3, Y2, Y7      \
	VUNPCKLPD  Y6, Y4, Y0      \
	VUNPCKHPD  Y6, Y4, Y1      \
	VUNPCKLPD  Y7, Y5, Y2      \
	VUNPCKHPD  Y7, Y5, Y3      \
	VPERM2F128 $0x20, Y1, Y0, Y4 \
	VPERM2F128 $0x20, Y3, Y2, Y5 \
	VPERM2F128 $0x31, Y1, Y0, Y6 \
	VPERM2F128 $0x31, Y3, Y2, Y7 \
	VMOVUPS    Y4, (DI)        \
	VMOVUPS    Y5, 32(DI)      \
	VMOVUPS    Y6, 64(DI)      \
	VMOVUPS    Y7, 96(DI)      \
	ADDQ       R8, DI

// func winoOutput4x8(groups, rows int, m *float32, mRow, ms int, out *float32, pitch int)
//
// The output transform Y = Aᵀ M A of F(4x4,3x3) for rows tile rows of
// groups×8 tiles: element (i, k) of tile j's M is m[(6i+k)·ms + j], the
// next tile row's mRow floats further, and tile j's 4×4 outputs go to
// out[r·pitch + 4j + s], the next tile row's four rows down. Each group
// writes 32 floats of each of the four rows.
TEXT ·winoOutput4x8(SB), 0, $768-56
	BROADCAST($0x40800000, X13, Y13) // 4
	BROADCAST($0x41000000, X14, Y14) // 8
	BROADCAST($0x40000000, X15, Y15) // 2

	MOVQ rows+8(FP), AX
	MOVQ m+16(FP), DX
	MOVQ ms+32(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	SHLQ $1, R10           // six positions
	LEAQ (R10)(R10*2), R12 // eighteen
	MOVQ out+40(FP), BX
	MOVQ pitch+48(FP), R8
	SHLQ $2, R8
	TESTQ AX, AX
	JEQ   out4done

out4row:
	MOVQ  groups+0(FP), R13
	MOVQ  DX, R11
	MOVQ  BX, SI
	TESTQ R13, R13
	JEQ   out4next

out4group:
	MOVQ R11, CX
	OUT_COL(0)
	OUT_COL(32)
	OUT_COL(64)
	OUT_COL(96)
	OUT_COL(128)
	OUT_COL(160)
	MOVQ SI, DI
	OUT_ROW(0)
	OUT_ROW(192)
	OUT_ROW(384)
	OUT_ROW(576)
	ADDQ $32, R11
	ADDQ $128, SI
	DECQ R13
	JNZ  out4group

out4next:
	MOVQ mRow+24(FP), R11
	LEAQ (DX)(R11*4), DX
	LEAQ (BX)(R8*4), BX
	DECQ AX
	JNZ  out4row

out4done:
	VZEROUPPER
	RET

// func splitQuadsUnit(p0, p1, p2, p3, src *float32, rows, w, ds, ss int)
//
// Sends src[4i+k] of each of rows rows to pk[i], for the first w&^15
// elements of each row (the caller moves the rest): 32 elements as four
// vectors a, b, c, d are brought into phase order by two rounds of
// unpacks and a swap of 128-bit halves, 16 as two vectors with one round.
// Rows of src are ss floats apart, of the phases ds.
TEXT ·splitQuadsUnit(SB), NOSPLIT, $0-72
	MOVQ p0+0(FP), AX
	MOVQ p1+8(FP), BX
	MOVQ p2+16(FP), CX
	MOVQ p3+24(FP), DX
	MOVQ src+32(FP), SI
	MOVQ rows+40(FP), R9
	MOVQ w+48(FP), R10
	SHRQ $4, R10 // blocks of 16
	MOVQ ds+56(FP), R13
	SHLQ $2, R13
	MOVQ ss+64(FP), R14
	SHLQ $2, R14
	TESTQ R9, R9
	JLE   quadsdone
	TESTQ R10, R10
	JEQ   quadsdone

quadsrow:
	XORQ R11, R11 // src byte offset
	XORQ R12, R12 // phase byte offset
	MOVQ R10, DI

quads32:
	CMPQ DI, $2
	JLT  quads16
	// Quads t_q = s[4q..4q+3]: a = t0 t1, b = t2 t3, c = t4 t5, d = t6 t7
	// (128-bit halves); v0 = t0 t4, v1 = t1 t5, v2 = t2 t6, v3 = t3 t7.
	VMOVUPS    (SI)(R11*1), Y0
	VMOVUPS    32(SI)(R11*1), Y1
	VMOVUPS    64(SI)(R11*1), Y2
	VMOVUPS    96(SI)(R11*1), Y3
	VPERM2F128 $0x20, Y2, Y0, Y4
	VPERM2F128 $0x31, Y2, Y0, Y5
	VPERM2F128 $0x20, Y3, Y1, Y6
	VPERM2F128 $0x31, Y3, Y1, Y7
	// In each 128-bit half, a 4×4 transpose of (v0, v1, v2, v3).
	VUNPCKLPS  Y5, Y4, Y0
	VUNPCKHPS  Y5, Y4, Y1
	VUNPCKLPS  Y7, Y6, Y2
	VUNPCKHPS  Y7, Y6, Y3
	VUNPCKLPD  Y2, Y0, Y4
	VUNPCKHPD  Y2, Y0, Y5
	VUNPCKLPD  Y3, Y1, Y6
	VUNPCKHPD  Y3, Y1, Y7
	VMOVUPS    Y4, (AX)(R12*1)
	VMOVUPS    Y5, (BX)(R12*1)
	VMOVUPS    Y6, (CX)(R12*1)
	VMOVUPS    Y7, (DX)(R12*1)
	ADDQ       $128, R11
	ADDQ       $32, R12
	SUBQ       $2, DI
	JMP        quads32

quads16:
	TESTQ     DI, DI
	JEQ       quadsnext
	// a = t0 t1, b = t2 t3: c = t0 t2, d = t1 t3, whose unpacks hold
	// (t0[k], t1[k]) in their low halves and (t2[k], t3[k]) in their high
	// ones, put in order by a permutation of 64-bit pairs.
	VMOVUPS      (SI)(R11*1), Y0
	VMOVUPS      32(SI)(R11*1), Y1
	VPERM2F128   $0x20, Y1, Y0, Y2
	VPERM2F128   $0x31, Y1, Y0, Y3
	VUNPCKLPS    Y3, Y2, Y4
	VUNPCKHPS    Y3, Y2, Y5
	VPERMPD      $0xD8, Y4, Y4
	VPERMPD      $0xD8, Y5, Y5
	VMOVUPS      X4, (AX)(R12*1)
	VEXTRACTF128 $1, Y4, (BX)(R12*1)
	VMOVUPS      X5, (CX)(R12*1)
	VEXTRACTF128 $1, Y5, (DX)(R12*1)

quadsnext:
	ADDQ R13, AX
	ADDQ R13, BX
	ADDQ R13, CX
	ADDQ R13, DX
	ADDQ R14, SI
	DECQ R9
	JNZ  quadsrow

quadsdone:
	VZEROUPPER
	RET

// A_ROW applies a row (or column) of A y, A = (Aᵀ)ᵀ: z0 = y0, z1 = (y0+y2)
// + (y1+y3), z2 = (y0+y2) - (y1+y3), z3 = (y0+4y2) + 2(y1+4y3), z4 =
// (y0+4y2) - 2(y1+4y3), z5 = y3 to y0..y3 in Y0..Y3, leaving z0..z5 in
// Y0, Y6, Y7, Y10, Y11, Y3. Y13 = 4, Y15 = 2.
#define A_ROW \
	VADDPS       Y2, Y0, Y4   \
	VADDPS       Y3, Y1, Y5   \
	VADDPS       Y5, Y4, Y6   \
	VSUBPS       Y5, Y4, Y7   \
	VMOVAPS      Y0, Y8       \
	VFMADD231PS  Y2, Y13, Y8  \
	VMOVAPS      Y1, Y9       \
	VFMADD231PS  Y3, Y13, Y9  \
	VMOVAPS      Y8, Y10      \
	VFMADD231PS  Y9, Y15, Y10 \
	VMOVAPS      Y8, Y11      \
	VFNMADD231PS Y9, Y15, Y11

// GRAD_ROW loads row r of the group's output gradient tiles (phases 0..3
// at BX, R15 apart; R14 = 3·R15), applies A and stores it as row r of the
// grid (rows 192 bytes apart), then moves BX on a row.
#define GRAD_ROW(off) \
	VMOVUPS (BX), Y0         \
	VMOVUPS (BX)(R15*1), Y1  \
	VMOVUPS (BX)(R15*2), Y2  \
	VMOVUPS (BX)(R14*1), Y3  \
	A_ROW                    \
	VMOVUPS Y0, off(SP)      \
	VMOVUPS Y6, off+32(SP)   \
	VMOVUPS Y7, off+64(SP)   \
	VMOVUPS Y10, off+96(SP)  \
	VMOVUPS Y11, off+128(SP) \
	VMOVUPS Y3, off+160(SP)  \
	ADDQ    R8, BX

// GRAD_COL loads column k of the grid (rows 0..3), applies A and stores
// element (i, k) at position 6i+k as IN_COL does.
#define GRAD_COL(off) \
	VMOVUPS off(SP), Y0       \
	VMOVUPS off+192(SP), Y1   \
	VMOVUPS off+384(SP), Y2   \
	VMOVUPS off+576(SP), Y3   \
	A_ROW                     \
	STORE_COL(Y0, Y6, Y7, Y10, Y11, Y3)

// func winoGrad4x8(groups, rows int, in *float32, quarter, pitch int, v *float32, vRow, vs int)
//
// The output gradient's transform A dY Aᵀ of F(4x4,3x3) for rows tile
// rows of groups×8 tiles: row y of the output gradient holds its columns
// 4i+p at in + y·pitch + p·quarter + i, tile j of a tile row reads element
// j of the four phases of four rows, and the next tile row starts four
// rows down. Element (i, k) of tile j's transform goes to v[(6i+k)·vs +
// j], the next tile row's vRow floats further.
TEXT ·winoGrad4x8(SB), 0, $768-64
	BROADCAST($0x40800000, X13, Y13) // 4
	BROADCAST($0x40000000, X15, Y15) // 2
	PHASE_ARGS
	TESTQ AX, AX
	JEQ   grad4done

grad4row:
	GROUPS_START
	TESTQ R13, R13
	JEQ   grad4next

grad4group:
	MOVQ SI, BX
	GRAD_ROW(0)
	GRAD_ROW(192)
	GRAD_ROW(384)
	GRAD_ROW(576)
	GRAD_COL(0)
	GRAD_COL(32)
	GRAD_COL(64)
	GRAD_COL(96)
	GRAD_COL(128)
	GRAD_COL(160)
	GROUP_NEXT
	JNZ  grad4group

grad4next:
	ROW_NEXT
	JNZ grad4row

grad4done:
	VZEROUPPER
	RET
