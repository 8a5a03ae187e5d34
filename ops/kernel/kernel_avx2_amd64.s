//go:build amd64 && !purego

#include "textflag.h"

// AVX2 row kernels. See kernel_avx2_amd64.go for the design and contract.
//
// A 32-lane vector of codes x is looked up in the 16 blocks of 16 entries
// of a row, block i with the lane codes lowered by 16*i: VPADDUSB with 0x70
// leaves bit 7 clear exactly for the codes now in 0..15, whose low nibble
// is unchanged, so VPSHUFB on the block's 16 bytes (broadcast to both
// 128-bit halves) yields their entries and zero elsewhere. ORing the 16
// results gives the entries' low bytes of all 32 lanes, and the same index
// vectors on the high-byte plane give their high bytes.
//
// Registers of lutRowAVX2x2 (two vectors, 64 lanes, per tile):
//   Y0, Y1   lane codes of vectors 0 and 1, lowered by 16 per block
//   Y2, Y3   the current block of the low- and high-byte plane
//   Y4       index vector, Y5 shuffle result
//   Y6, Y7   low and high bytes of vector 0's entries; Y8, Y9 vector 1's
//   Y10-Y13  vector 0's uint16 accumulators:
//            a0 += low bytes as words (even lane + 256*odd lane, wrapping)
//            a1 += low bytes >> 8     (odd lanes)
//            a2, a3 the same for the high bytes
//            The even-lane sums are recovered as a0 - a1<<8 (mod 2^16).
//            At most 128 steps are summed before the words are widened, so
//            every sum is at most 128*255 = 32640 and fits a signed word.
//   Y14, Y15 vector 1's a0 and a1; its a2 and a3 live at 0(SP) and 32(SP)
//   DI planes, SI selector codes, R8 offsets, R9 lane codes of this tile,
//   R10 out, CX steps left, R11 steps left in this chunk, R12 1 during the
//   first chunk, R15 tiles left, AX the current row's planes.
// lutRowAVX2x1 is the same for one vector with Y0 and Y6, Y7 only.

DATA avx2Bit7<>+0(SB)/8, $0x7070707070707070
DATA avx2Bit7<>+8(SB)/8, $0x7070707070707070
DATA avx2Bit7<>+16(SB)/8, $0x7070707070707070
DATA avx2Bit7<>+24(SB)/8, $0x7070707070707070
GLOBL avx2Bit7<>(SB), RODATA|NOPTR, $32

DATA avx2Block<>+0(SB)/8, $0x1010101010101010
DATA avx2Block<>+8(SB)/8, $0x1010101010101010
DATA avx2Block<>+16(SB)/8, $0x1010101010101010
DATA avx2Block<>+24(SB)/8, $0x1010101010101010
GLOBL avx2Block<>(SB), RODATA|NOPTR, $32

// Word pairs (1, 256) for VPMADDWD: low byte sum + 256*high byte sum.
DATA avx2Pair<>+0(SB)/8, $0x0100000101000001
DATA avx2Pair<>+8(SB)/8, $0x0100000101000001
DATA avx2Pair<>+16(SB)/8, $0x0100000101000001
DATA avx2Pair<>+24(SB)/8, $0x0100000101000001
GLOBL avx2Pair<>(SB), RODATA|NOPTR, $32

// FIRST looks up block 0 of vector x into lo, hi (no OR needed).
#define FIRST(x, lo, hi) \
	VPADDUSB avx2Bit7<>(SB), x, Y4; \
	VPSHUFB  Y4, Y2, lo; \
	VPSHUFB  Y4, Y3, hi; \
	VPSUBB   avx2Block<>(SB), x, x

// NEXT looks up the block in Y2, Y3 for vector x and ORs it into lo, hi.
#define NEXT(x, lo, hi) \
	VPADDUSB avx2Bit7<>(SB), x, Y4; \
	VPSHUFB  Y4, Y2, Y5; \
	VPOR     Y5, lo, lo; \
	VPSHUFB  Y4, Y3, Y5; \
	VPOR     Y5, hi, hi; \
	VPSUBB   avx2Block<>(SB), x, x

#define LOADBLOCK(off) \
	VBROADCASTI128 off(AX), Y2; \
	VBROADCASTI128 256+off(AX), Y3

#define BLOCK2(off) \
	LOADBLOCK(off); \
	NEXT(Y0, Y6, Y7); \
	NEXT(Y1, Y8, Y9)

#define BLOCK1(off) \
	LOADBLOCK(off); \
	NEXT(Y0, Y6, Y7)

// STEPROW points AX at the planes of selector code (SI) and BX at this
// step's lane codes.
#define STEPROW \
	MOVBQZX (SI), AX; \
	SHLQ    $9, AX; \
	ADDQ    DI, AX; \
	MOVLQSX (R8), BX; \
	ADDQ    R9, BX

// ACCUM adds the low bytes lo and high bytes hi of one vector to its
// accumulators (see above); lo and hi are clobbered.
#define ACCUM(lo, hi, a0, a1, a2, a3) \
	VPADDW lo, a0, a0; \
	VPSRLW $8, lo, lo; \
	VPADDW lo, a1, a1; \
	VPADDW hi, a2, a2; \
	VPSRLW $8, hi, hi; \
	VPADDW hi, a3, a3

// WIDEN turns one vector's accumulators into its 32 sums, in lane order in
// Y0..Y3 (clobbers Y4-Y7). Within each 128-bit half, word j of a0..a3
// belongs to lanes 2j and 2j+1 of that half's 16 lanes: (even low, even
// high) and (odd low, odd high) word pairs become int32 by VPMADDWD, the
// dword unpacks interleave even and odd lanes, and VPERM2I128 joins the
// halves' quarters.
#define WIDEN(a0, a1, a2, a3) \
	VPSLLW     $8, a1, Y4; \
	VPSUBW     Y4, a0, Y6; \
	VPSLLW     $8, a3, Y4; \
	VPSUBW     Y4, a2, Y7; \
	VPUNPCKLWD Y7, Y6, Y0; \
	VPUNPCKHWD Y7, Y6, Y1; \
	VPUNPCKLWD a3, a1, Y2; \
	VPUNPCKHWD a3, a1, Y3; \
	VPMADDWD   avx2Pair<>(SB), Y0, Y0; \
	VPMADDWD   avx2Pair<>(SB), Y1, Y1; \
	VPMADDWD   avx2Pair<>(SB), Y2, Y2; \
	VPMADDWD   avx2Pair<>(SB), Y3, Y3; \
	VPUNPCKLDQ Y2, Y0, Y4; \
	VPUNPCKHDQ Y2, Y0, Y5; \
	VPUNPCKLDQ Y3, Y1, Y6; \
	VPUNPCKHDQ Y3, Y1, Y7; \
	VPERM2I128 $0x20, Y5, Y4, Y0; \
	VPERM2I128 $0x20, Y7, Y6, Y1; \
	VPERM2I128 $0x31, Y5, Y4, Y2; \
	VPERM2I128 $0x31, Y7, Y6, Y3

// SETSUMS stores Y0..Y3 plus the bias at off(R10) (the first chunk).
#define SETSUMS(off) \
	VPBROADCASTD bias+40(FP), Y4; \
	VPADDD       Y4, Y0, Y0; \
	VPADDD       Y4, Y1, Y1; \
	VPADDD       Y4, Y2, Y2; \
	VPADDD       Y4, Y3, Y3; \
	VMOVDQU      Y0, off+0(R10); \
	VMOVDQU      Y1, off+32(R10); \
	VMOVDQU      Y2, off+64(R10); \
	VMOVDQU      Y3, off+96(R10)

// ADDSUMS adds Y0..Y3 to the sums at off(R10) (later chunks).
#define ADDSUMS(off) \
	VPADDD  off+0(R10), Y0, Y0; \
	VPADDD  off+32(R10), Y1, Y1; \
	VPADDD  off+64(R10), Y2, Y2; \
	VPADDD  off+96(R10), Y3, Y3; \
	VMOVDQU Y0, off+0(R10); \
	VMOVDQU Y1, off+32(R10); \
	VMOVDQU Y2, off+64(R10); \
	VMOVDQU Y3, off+96(R10)

#define PROLOGUE \
	MOVQ planes+0(FP), DI; \
	MOVQ src+24(FP), R9; \
	MOVQ out+48(FP), R10; \
	MOVQ tiles+56(FP), R15

// TILESTART rewinds the selector codes and offsets for the next tile.
#define TILESTART \
	MOVQ sel+8(FP), SI; \
	MOVQ offs+16(FP), R8; \
	MOVQ k+32(FP), CX; \
	MOVQ $1, R12

// CHUNK sets R11 to min(CX, 128) steps and takes them off CX.
#define CHUNK \
	MOVQ    $128, R11; \
	CMPQ    CX, R11; \
	CMOVQLT CX, R11; \
	SUBQ    R11, CX

#define STEPNEXT \
	INCQ SI; \
	ADDQ $4, R8; \
	DECQ R11

// func lutRowAVX2x2(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)
TEXT ·lutRowAVX2x2(SB), NOSPLIT, $64-64
	PROLOGUE

tile:
	TILESTART

chunk:
	CHUNK
	VPXOR   Y10, Y10, Y10
	VPXOR   Y11, Y11, Y11
	VPXOR   Y12, Y12, Y12
	VPXOR   Y13, Y13, Y13
	VPXOR   Y14, Y14, Y14
	VPXOR   Y15, Y15, Y15
	VMOVDQU Y15, 0(SP)
	VMOVDQU Y15, 32(SP)

step:
	STEPROW
	VMOVDQU (BX), Y0
	VMOVDQU 32(BX), Y1
	LOADBLOCK(0)
	FIRST(Y0, Y6, Y7)
	FIRST(Y1, Y8, Y9)
	BLOCK2(16)
	BLOCK2(32)
	BLOCK2(48)
	BLOCK2(64)
	BLOCK2(80)
	BLOCK2(96)
	BLOCK2(112)
	BLOCK2(128)
	BLOCK2(144)
	BLOCK2(160)
	BLOCK2(176)
	BLOCK2(192)
	BLOCK2(208)
	BLOCK2(224)
	BLOCK2(240)
	ACCUM(Y6, Y7, Y10, Y11, Y12, Y13)
	VPADDW  Y8, Y14, Y14
	VPSRLW  $8, Y8, Y8
	VPADDW  Y8, Y15, Y15
	VPADDW  0(SP), Y9, Y5
	VMOVDQU Y5, 0(SP)
	VPSRLW  $8, Y9, Y9
	VPADDW  32(SP), Y9, Y9
	VMOVDQU Y9, 32(SP)
	STEPNEXT
	JNZ     step

	VMOVDQU 0(SP), Y8
	VMOVDQU 32(SP), Y9
	WIDEN(Y10, Y11, Y12, Y13)
	TESTQ   R12, R12
	JZ      add0
	SETSUMS(0)
	JMP     vec1

add0:
	ADDSUMS(0)

vec1:
	WIDEN(Y14, Y15, Y8, Y9)
	TESTQ R12, R12
	JZ    add1
	XORQ  R12, R12
	SETSUMS(128)
	JMP   more

add1:
	ADDSUMS(128)

more:
	TESTQ CX, CX
	JNZ   chunk
	ADDQ  $64, R9
	ADDQ  $256, R10
	DECQ  R15
	JNZ   tile
	VZEROUPPER
	RET

// func lutRowAVX2x1(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)
TEXT ·lutRowAVX2x1(SB), NOSPLIT, $0-64
	PROLOGUE

tile:
	TILESTART

chunk:
	CHUNK
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	VPXOR Y12, Y12, Y12
	VPXOR Y13, Y13, Y13

step:
	STEPROW
	VMOVDQU (BX), Y0
	LOADBLOCK(0)
	FIRST(Y0, Y6, Y7)
	BLOCK1(16)
	BLOCK1(32)
	BLOCK1(48)
	BLOCK1(64)
	BLOCK1(80)
	BLOCK1(96)
	BLOCK1(112)
	BLOCK1(128)
	BLOCK1(144)
	BLOCK1(160)
	BLOCK1(176)
	BLOCK1(192)
	BLOCK1(208)
	BLOCK1(224)
	BLOCK1(240)
	ACCUM(Y6, Y7, Y10, Y11, Y12, Y13)
	STEPNEXT
	JNZ   step

	WIDEN(Y10, Y11, Y12, Y13)
	TESTQ R12, R12
	JZ    add
	XORQ  R12, R12
	SETSUMS(0)
	JMP   more

add:
	ADDSUMS(0)

more:
	TESTQ CX, CX
	JNZ   chunk
	ADDQ  $32, R9
	ADDQ  $128, R10
	DECQ  R15
	JNZ   tile
	VZEROUPPER
	RET
