//go:build amd64 && !purego

#include "textflag.h"
#include "tile6x16_amd64.h"
#include "dot3x4_amd64.h"

// The tile-row loops of winoInput8 and winoGrad8, which share their
// arguments: DI the current tile row's first padded row, R8 the row pitch
// and R9 vs in bytes, DX the current tile row's transforms.
//
// WINO_ROW_START points SI and R15 at the tile row's even and odd columns,
// R11..R14 at its transforms' rows i = 0..3, and loads the group count
// into CX.
#define WINO_ROW_START \
	MOVQ groups+0(FP), CX; \
	MOVQ DI, SI; \
	MOVQ half+24(FP), R15; \
	SHLQ $2, R15; \
	ADDQ DI, R15; \
	MOVQ DX, R11; \
	LEAQ (R11)(R9*4), R12; \
	LEAQ (R12)(R9*4), R13; \
	LEAQ (R13)(R9*4), R14

// WINO_NEXT_GROUP moves every pointer on by a group of eight tiles.
#define WINO_NEXT_GROUP \
	ADDQ $32, SI; \
	ADDQ $32, R15; \
	ADDQ $32, R11; \
	ADDQ $32, R12; \
	ADDQ $32, R13; \
	ADDQ $32, R14

// WINO_NEXT_ROW moves DI and DX on to the next tile row: two padded rows
// down, vRow transforms further.
#define WINO_NEXT_ROW \
	LEAQ (DI)(R8*2), DI; \
	MOVQ vRow+48(FP), R11; \
	LEAQ (DX)(R11*4), DX

// WINO_STORE4 stores a, b, c and d, four transformed values of the same
// tiles, at element positions ξ apart (R9 bytes; R10 holds 3·R9) from
// base.
#define WINO_STORE4(base, a, b, c, d) \
	VMOVUPS a, (base); \
	VMOVUPS b, (base)(R9*1); \
	VMOVUPS c, (base)(R9*2); \
	VMOVUPS d, (base)(R10*1)

// WINO_ROW loads one padded input row of eight tiles, d0 = e[0..7], d1 =
// o[0..7], d2 = e[1..8], d3 = o[1..8] from its even columns e and odd
// columns o, and applies the row transform of Bᵀ d B: h0 = d0-d2, h1 =
// d1+d2, h2 = d2-d1, h3 = d1-d3, in r0..r3; t is scratch.
#define WINO_ROW(e0, e1, o0, o1, r0, r1, r2, r3, t) \
	VMOVUPS e0, r0        \
	VMOVUPS o0, r1        \
	VMOVUPS e1, r2        \
	VSUBPS  r2, r0, r0    \
	VSUBPS  o1, r1, r3    \
	VADDPS  r2, r1, t     \
	VSUBPS  r1, r2, r2    \
	VMOVAPS t, r1

// func winoInput8(groups, rows int, in *float32, half, pitch int, v *float32, vRow, vs int)
//
// The input transform V = Bᵀ d B of F(2x2,3x3) for rows tile rows of
// groups×8 tiles. The padded input is split by column parity: padded row
// y holds its even columns from in+y·pitch and its odd columns half floats
// further, so tile j of a tile row reads even and odd columns j and j+1
// of four rows; the next tile row starts two padded rows down. Element
// (i, k) of tile j's V goes to v[(4i+k)·vs + j], the next tile row's
// vRow floats further.
TEXT ·winoInput8(SB), NOSPLIT, $0-64
	MOVQ rows+8(FP), AX
	MOVQ in+16(FP), DI
	MOVQ pitch+32(FP), R8
	MOVQ v+40(FP), DX
	MOVQ vs+56(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R8)(R8*2), BX  // three rows
	LEAQ (R9)(R9*2), R10 // V of k = 3
	TESTQ AX, AX
	JEQ   indone

inrow:
	WINO_ROW_START
	TESTQ CX, CX
	JEQ   innext

ingroup:
	// Rows 0 and 1 stay in Y0..Y7.
	WINO_ROW((SI), 4(SI), (R15), 4(R15), Y0, Y1, Y2, Y3, Y12)
	WINO_ROW((SI)(R8*1), 4(SI)(R8*1), (R15)(R8*1), 4(R15)(R8*1), Y4, Y5, Y6, Y7, Y12)
	WINO_ROW((SI)(R8*2), 4(SI)(R8*2), (R15)(R8*2), 4(R15)(R8*2), Y8, Y9, Y10, Y11, Y12)

	// V0k = h0k - h2k, V1k = h1k + h2k, V2k = h2k - h1k.
	VSUBPS  Y8, Y0, Y0
	VSUBPS  Y9, Y1, Y1
	VSUBPS  Y10, Y2, Y2
	VSUBPS  Y11, Y3, Y3
	WINO_STORE4(R11, Y0, Y1, Y2, Y3)
	VADDPS  Y8, Y4, Y0
	VADDPS  Y9, Y5, Y1
	VADDPS  Y10, Y6, Y2
	VADDPS  Y11, Y7, Y3
	WINO_STORE4(R12, Y0, Y1, Y2, Y3)
	VSUBPS  Y4, Y8, Y8
	VSUBPS  Y5, Y9, Y9
	VSUBPS  Y6, Y10, Y10
	VSUBPS  Y7, Y11, Y11
	WINO_STORE4(R13, Y8, Y9, Y10, Y11)

	// V3k = h1k - h3k.
	WINO_ROW((SI)(BX*1), 4(SI)(BX*1), (R15)(BX*1), 4(R15)(BX*1), Y0, Y1, Y2, Y3, Y12)
	VSUBPS  Y0, Y4, Y4
	VSUBPS  Y1, Y5, Y5
	VSUBPS  Y2, Y6, Y6
	VSUBPS  Y3, Y7, Y7
	WINO_STORE4(R14, Y4, Y5, Y6, Y7)

	WINO_NEXT_GROUP
	DECQ CX
	JNZ  ingroup

innext:
	WINO_NEXT_ROW
	DECQ AX
	JNZ  inrow

indone:
	VZEROUPPER
	RET

// WINO_COL combines column k of the four rows of M into column k of the
// two rows of Aᵀ M: z0 = m0+m1+m2, z1 = m1-m2-m3 (m0..m3 loaded from
// addr0..addr3; t is scratch).
#define WINO_COL(addr0, addr1, addr2, addr3, z0, z1, t) \
	VMOVUPS addr1, z1    \
	VMOVUPS addr2, t     \
	VADDPS  addr0, z1, z0 \
	VADDPS  t, z0, z0    \
	VSUBPS  t, z1, z1    \
	VSUBPS  addr3, z1, z1

// func winoOutput8(groups, rows int, m *float32, mRow, ms int, out *float32, pitch int)
//
// The output transform Y = Aᵀ M A of F(2x2,3x3) for rows tile rows of
// groups×8 tiles: element (i, k) of tile j's M is m[(4i+k)·ms + j], the
// next tile row's mRow floats further, and tile j's 2×2 outputs go to
// out[r·pitch + 2j + s], the next tile row's two rows down. Each group
// writes 16 floats of each of the two rows.
TEXT ·winoOutput8(SB), NOSPLIT, $0-56
	MOVQ rows+8(FP), AX
	MOVQ m+16(FP), DX
	MOVQ ms+32(FP), R9
	MOVQ out+40(FP), BX
	MOVQ pitch+48(FP), R8
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10 // M of k = 3
	TESTQ AX, AX
	JEQ   outdone

outrow:
	MOVQ  groups+0(FP), CX
	MOVQ  BX, DI
	MOVQ  DX, R11 // M of i = 0
	LEAQ  (R11)(R9*4), R12
	LEAQ  (R12)(R9*4), R13
	LEAQ  (R13)(R9*4), R14
	TESTQ CX, CX
	JEQ   outnext

outgroup:
	WINO_COL((R11), (R12), (R13), (R14), Y0, Y4, Y8)
	WINO_COL((R11)(R9*1), (R12)(R9*1), (R13)(R9*1), (R14)(R9*1), Y1, Y5, Y8)
	WINO_COL((R11)(R9*2), (R12)(R9*2), (R13)(R9*2), (R14)(R9*2), Y2, Y6, Y8)
	WINO_COL((R11)(R10*1), (R12)(R10*1), (R13)(R10*1), (R14)(R10*1), Y3, Y7, Y8)

	// Row r: y_r0 = z_r0+z_r1+z_r2, y_r1 = z_r1-z_r2-z_r3, interleaved.
	VADDPS     Y1, Y0, Y0
	VADDPS     Y2, Y0, Y0
	VSUBPS     Y2, Y1, Y1
	VSUBPS     Y3, Y1, Y1
	VUNPCKLPS  Y1, Y0, Y2
	VUNPCKHPS  Y1, Y0, Y3
	VPERM2F128 $0x20, Y3, Y2, Y0
	VPERM2F128 $0x31, Y3, Y2, Y1
	VMOVUPS    Y0, (DI)
	VMOVUPS    Y1, 32(DI)

	VADDPS     Y5, Y4, Y4
	VADDPS     Y6, Y4, Y4
	VSUBPS     Y6, Y5, Y5
	VSUBPS     Y7, Y5, Y5
	VUNPCKLPS  Y5, Y4, Y6
	VUNPCKHPS  Y5, Y4, Y7
	VPERM2F128 $0x20, Y7, Y6, Y4
	VPERM2F128 $0x31, Y7, Y6, Y5
	VMOVUPS    Y4, (DI)(R8*1)
	VMOVUPS    Y5, 32(DI)(R8*1)

	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	ADDQ $32, R14
	ADDQ $64, DI
	DECQ CX
	JNZ  outgroup

outnext:
	MOVQ mRow+24(FP), R11
	LEAQ (DX)(R11*4), DX
	LEAQ (BX)(R8*2), BX
	DECQ AX
	JNZ  outrow

outdone:
	VZEROUPPER
	RET

// func winoGemm(k int, a *float32, tiles int, b *float32, bp int, cols int, c *float32, ldc int)
//
// The products of one element position of a block: C[6t+i][16q+j] =
// Σ_l a[(t·k+l)·6+i]·b[l·bp+16q+j] for row tiles t < tiles, column tiles
// q < cols, l < k (k, tiles, cols >= 1), C rows ldc floats apart. Each
// 6×16 tile is sgemm6x16Offs' (its steps in order from zero, written, not
// added), with the steps of B bp floats apart and every tile in one call.
TEXT ·winoGemm(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), AX
	MOVQ a+8(FP), R13
	MOVQ tiles+16(FP), R11
	MOVQ b+24(FP), R14
	MOVQ bp+32(FP), R9
	MOVQ cols+40(FP), R12
	MOVQ c+48(FP), BX
	MOVQ ldc+56(FP), R8
	SHLQ $2, R9
	SHLQ $2, R8
	// R11: the end of a, tiles·k·6 floats on.
	IMULQ AX, R11
	LEAQ  (R11)(R11*2), R11
	SHLQ  $3, R11
	ADDQ  R13, R11

gcol:
	MOVQ R13, SI
	MOVQ BX, DX

grow:
	MOVQ   R14, DI
	MOVQ   AX, CX
	TILE6X16_ZERO

gstep:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	TILE6X16_FMA
	ADDQ         $24, SI
	ADDQ         R9, DI
	DECQ         CX
	JNZ          gstep

	TILE6X16_STORE
	ADDQ    R8, DX
	// SI is at the next row tile's steps.
	CMPQ    SI, R11
	JNE     grow

	ADDQ $64, R14
	ADDQ $64, BX
	DECQ R12
	JNZ  gcol
	VZEROUPPER
	RET

// func winoGrad8(groups, rows int, in *float32, half, pitch int, v *float32, vRow, vs int)
//
// The output gradient's transform A dY Aᵀ of F(2x2,3x3), A's rows (1 0),
// (1 1), (1 -1), (0 -1), for rows tile rows of groups×8 tiles, laid out
// as winoInput8's input: row y of the output gradient holds its even
// columns from in+y·pitch and its odd ones half floats further, tile j
// of a tile row reads columns j of two rows, and the next tile row starts
// two rows down. Element (i, k) of tile j's transform goes to
// v[(4i+k)·vs + j], the next tile row's vRow floats further.
TEXT ·winoGrad8(SB), NOSPLIT, $0-64
	MOVQ rows+8(FP), AX
	MOVQ in+16(FP), DI
	MOVQ pitch+32(FP), R8
	MOVQ v+40(FP), DX
	MOVQ vs+56(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10 // k = 3
	VXORPS Y15, Y15, Y15
	TESTQ AX, AX
	JEQ   gdone

gradrow:
	WINO_ROW_START
	TESTQ CX, CX
	JEQ   gnext

ggroup:
	VMOVUPS (SI), Y0         // a = dy[0][0]
	VMOVUPS (R15), Y1        // b = dy[0][1]
	VMOVUPS (SI)(R8*1), Y2   // c = dy[1][0]
	VMOVUPS (R15)(R8*1), Y3  // d = dy[1][1]

	// Row i = 0: a, a+b, a-b, -b.
	VADDPS  Y1, Y0, Y4
	VSUBPS  Y1, Y0, Y5
	VSUBPS  Y1, Y15, Y6
	WINO_STORE4(R11, Y0, Y4, Y5, Y6)

	// Row 3: p = -c, q = -d: -c, -c-d, d-c, d.
	VSUBPS  Y2, Y15, Y4
	VSUBPS  Y3, Y4, Y5
	VSUBPS  Y2, Y3, Y6
	WINO_STORE4(R14, Y4, Y5, Y6, Y3)

	// Rows 1 and 2: p = a±c, q = b±d: p, p+q, p-q, -q.
	VADDPS  Y2, Y0, Y4
	VADDPS  Y3, Y1, Y5
	VSUBPS  Y2, Y0, Y6
	VSUBPS  Y3, Y1, Y7
	VADDPS  Y5, Y4, Y8
	VSUBPS  Y5, Y4, Y9
	VSUBPS  Y5, Y15, Y10
	WINO_STORE4(R12, Y4, Y8, Y9, Y10)
	VADDPS  Y7, Y6, Y8
	VSUBPS  Y7, Y6, Y9
	VSUBPS  Y7, Y15, Y10
	WINO_STORE4(R13, Y6, Y8, Y9, Y10)

	WINO_NEXT_GROUP
	DECQ CX
	JNZ  ggroup

gnext:
	WINO_NEXT_ROW
	DECQ AX
	JNZ  gradrow

gdone:
	VZEROUPPER
	RET

// func winoDotAdd(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
//
// c[i*ldc+j] += Σ_l a[i*lda+l]·b[j*ldb+l] for i < 3, j < 4, l < k, k a
// multiple of 8: sdot3x4's sums, each added to its element of a C whose
// rows are ldc floats apart.
TEXT ·winoDotAdd(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	MOVQ c+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (DI)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), R14
	MOVQ ldc+48(FP), R8
	SHLQ $2, R8

	DOT3X4_ZERO

	XORQ AX, AX
	SHRQ $3, CX
	JEQ  dotaddreduce

dotaddloop:
	DOT3X4_STEP
	ADDQ $32, AX
	DECQ CX
	JNZ  dotaddloop

dotaddreduce:
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VADDPS       (DX), X0, X0
	VMOVUPS      X0, (DX)
	ADDQ         R8, DX
	VHADDPS      Y5, Y4, Y4
	VHADDPS      Y7, Y6, Y6
	VHADDPS      Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS       X5, X4, X4
	VADDPS       (DX), X4, X4
	VMOVUPS      X4, (DX)
	ADDQ         R8, DX
	VHADDPS      Y9, Y8, Y8
	VHADDPS      Y11, Y10, Y10
	VHADDPS      Y10, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPS       X9, X8, X8
	VADDPS       (DX), X8, X8
	VMOVUPS      X8, (DX)
	VZEROUPPER
	RET
