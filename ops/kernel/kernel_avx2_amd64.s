//go:build amd64 && !purego

#include "textflag.h"
#include "copyrows_amd64.h"

// AVX2 row kernels. See kernel_avx2_amd64.go for the design and contract.
//
// A 32-lane vector of codes x is looked up in the window planes of a row
// (layout.windows): each plane holds 16 blocks of 16 bytes, block j-1
// (j = 1..8) for the codes x < 16j and block 7+j for the codes whose high
// nibble is at least 16-j, such that the blocks of every window holding a
// code add up (mod 256) to its entry's byte. VPADDUSB of x with 128-16j
// leaves bit 7 clear exactly for the codes x < 16j, and keeps their low
// nibble, so VPSHUFB on block j-1 (broadcast to both 128-bit halves) yields
// that block's bytes for them and zero for the others; for j = 8 the codes
// themselves are the index. The upper windows do the same with the high
// nibble flipped (x XOR 0xF0). VPADDB sums the 16 results of each plane.
//
// Registers of lutRowAVX2x2 (two vectors, 64 lanes, per tile):
//   Y0, Y1   lane codes of vectors 0 and 1 (high nibble flipped for the
//            upper windows)
//   Y2, Y3   the current block of the low- and high-byte window plane
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
//   DI window planes, SI selector codes, R8 offsets, R9 lane codes of this
//   tile, R10 out, CX steps left, R11 steps left in this chunk, R12 1
//   during the first chunk, R15 tiles left, AX the current row's planes.
// lutRowAVX2x1 is the same for one vector with Y0 and Y6, Y7 only.

// avx2WinJ holds 128-16j in every byte: added with unsigned saturation to
// a code x, bit 7 stays clear exactly when x < 16j.
DATA avx2Win1<>+0(SB)/8, $0x7070707070707070
DATA avx2Win1<>+8(SB)/8, $0x7070707070707070
DATA avx2Win1<>+16(SB)/8, $0x7070707070707070
DATA avx2Win1<>+24(SB)/8, $0x7070707070707070
GLOBL avx2Win1<>(SB), RODATA|NOPTR, $32

DATA avx2Win2<>+0(SB)/8, $0x6060606060606060
DATA avx2Win2<>+8(SB)/8, $0x6060606060606060
DATA avx2Win2<>+16(SB)/8, $0x6060606060606060
DATA avx2Win2<>+24(SB)/8, $0x6060606060606060
GLOBL avx2Win2<>(SB), RODATA|NOPTR, $32

DATA avx2Win3<>+0(SB)/8, $0x5050505050505050
DATA avx2Win3<>+8(SB)/8, $0x5050505050505050
DATA avx2Win3<>+16(SB)/8, $0x5050505050505050
DATA avx2Win3<>+24(SB)/8, $0x5050505050505050
GLOBL avx2Win3<>(SB), RODATA|NOPTR, $32

DATA avx2Win4<>+0(SB)/8, $0x4040404040404040
DATA avx2Win4<>+8(SB)/8, $0x4040404040404040
DATA avx2Win4<>+16(SB)/8, $0x4040404040404040
DATA avx2Win4<>+24(SB)/8, $0x4040404040404040
GLOBL avx2Win4<>(SB), RODATA|NOPTR, $32

DATA avx2Win5<>+0(SB)/8, $0x3030303030303030
DATA avx2Win5<>+8(SB)/8, $0x3030303030303030
DATA avx2Win5<>+16(SB)/8, $0x3030303030303030
DATA avx2Win5<>+24(SB)/8, $0x3030303030303030
GLOBL avx2Win5<>(SB), RODATA|NOPTR, $32

DATA avx2Win6<>+0(SB)/8, $0x2020202020202020
DATA avx2Win6<>+8(SB)/8, $0x2020202020202020
DATA avx2Win6<>+16(SB)/8, $0x2020202020202020
DATA avx2Win6<>+24(SB)/8, $0x2020202020202020
GLOBL avx2Win6<>(SB), RODATA|NOPTR, $32

DATA avx2Win7<>+0(SB)/8, $0x1010101010101010
DATA avx2Win7<>+8(SB)/8, $0x1010101010101010
DATA avx2Win7<>+16(SB)/8, $0x1010101010101010
DATA avx2Win7<>+24(SB)/8, $0x1010101010101010
GLOBL avx2Win7<>(SB), RODATA|NOPTR, $32

DATA avx2Flip<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA avx2Flip<>+8(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA avx2Flip<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA avx2Flip<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL avx2Flip<>(SB), RODATA|NOPTR, $32

// Word pairs (1, 256) for VPMADDWD: low byte sum + 256*high byte sum.
DATA avx2Pair<>+0(SB)/8, $0x0100000101000001
DATA avx2Pair<>+8(SB)/8, $0x0100000101000001
DATA avx2Pair<>+16(SB)/8, $0x0100000101000001
DATA avx2Pair<>+24(SB)/8, $0x0100000101000001
GLOBL avx2Pair<>(SB), RODATA|NOPTR, $32

#define LOADBLOCK(off) \
	VBROADCASTI128 off(AX), Y2; \
	VBROADCASTI128 256+off(AX), Y3

// FIRST starts lo, hi of vector x with its codes as the index (the last
// lower window, x < 128).
#define FIRST(x, lo, hi) \
	VPSHUFB x, Y2, lo; \
	VPSHUFB x, Y3, hi

// WINDOW adds the block in Y2, Y3 for the window that win selects (in
// memory) to lo, hi of vector x.
#define WINDOW(x, lo, hi, win) \
	VPADDUSB win, x, Y4; \
	VPSHUFB  Y4, Y2, Y5; \
	VPADDB   Y5, lo, lo; \
	VPSHUFB  Y4, Y3, Y5; \
	VPADDB   Y5, hi, hi

// WHOLE adds the block in Y2, Y3 for the codes x themselves as the index
// (the last upper window, once x is flipped).
#define WHOLE(x, lo, hi) \
	VPSHUFB x, Y2, Y5; \
	VPADDB  Y5, lo, lo; \
	VPSHUFB x, Y3, Y5; \
	VPADDB  Y5, hi, hi

#define FLIP(x) \
	VPXOR avx2Flip<>(SB), x, x

#define WIN2(off, win) \
	LOADBLOCK(off); \
	WINDOW(Y0, Y6, Y7, win); \
	WINDOW(Y1, Y8, Y9, win)

#define WIN1(off, win) \
	LOADBLOCK(off); \
	WINDOW(Y0, Y6, Y7, win)

// LOOKUP2 and LOOKUP1 sum the 16 windows of the row at AX for the codes
// in Y0 (and Y1) into Y6, Y7 (and Y8, Y9).
#define LOOKUP2 \
	LOADBLOCK(112); \
	FIRST(Y0, Y6, Y7); \
	FIRST(Y1, Y8, Y9); \
	WIN2(0, avx2Win1<>(SB)); \
	WIN2(16, avx2Win2<>(SB)); \
	WIN2(32, avx2Win3<>(SB)); \
	WIN2(48, avx2Win4<>(SB)); \
	WIN2(64, avx2Win5<>(SB)); \
	WIN2(80, avx2Win6<>(SB)); \
	WIN2(96, avx2Win7<>(SB)); \
	FLIP(Y0); \
	FLIP(Y1); \
	LOADBLOCK(240); \
	WHOLE(Y0, Y6, Y7); \
	WHOLE(Y1, Y8, Y9); \
	WIN2(128, avx2Win1<>(SB)); \
	WIN2(144, avx2Win2<>(SB)); \
	WIN2(160, avx2Win3<>(SB)); \
	WIN2(176, avx2Win4<>(SB)); \
	WIN2(192, avx2Win5<>(SB)); \
	WIN2(208, avx2Win6<>(SB)); \
	WIN2(224, avx2Win7<>(SB))

#define LOOKUP1 \
	LOADBLOCK(112); \
	FIRST(Y0, Y6, Y7); \
	WIN1(0, avx2Win1<>(SB)); \
	WIN1(16, avx2Win2<>(SB)); \
	WIN1(32, avx2Win3<>(SB)); \
	WIN1(48, avx2Win4<>(SB)); \
	WIN1(64, avx2Win5<>(SB)); \
	WIN1(80, avx2Win6<>(SB)); \
	WIN1(96, avx2Win7<>(SB)); \
	FLIP(Y0); \
	LOADBLOCK(240); \
	WHOLE(Y0, Y6, Y7); \
	WIN1(128, avx2Win1<>(SB)); \
	WIN1(144, avx2Win2<>(SB)); \
	WIN1(160, avx2Win3<>(SB)); \
	WIN1(176, avx2Win4<>(SB)); \
	WIN1(192, avx2Win5<>(SB)); \
	WIN1(208, avx2Win6<>(SB)); \
	WIN1(224, avx2Win7<>(SB))

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
	MOVQ windows+0(FP), DI; \
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

// func lutRowAVX2x2(windows *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)
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
	LOOKUP2
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

// func lutRowAVX2x1(windows *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32, tiles int)
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
	LOOKUP1
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

// COPY_ROW2 copies one row of DX bytes (n <= DX <= 2n) from R14 to BX as
// two moves of n bytes through A and B, prefetches the row of the next
// image (R10 on), moves on a row and counts it off CX.
#define COPY_ROW2(mov, A, B, n) \
	PREFETCHT0 (R14)(R10*1)    \
	mov        (R14), A        \
	mov        -n(R14)(DX*1), B \
	mov        A, (BX)         \
	mov        B, -n(BX)(DX*1) \
	ADDQ       R9, R14         \
	ADDQ       R8, BX          \
	DECQ       CX

// func copyRowsAVX2(dst, src *byte, shape *copyShape)
//
// copyShape is {dstPitch, dstImage, srcPitch, srcImage, rows, width,
// images} (int64s), 8 <= width <= 64. Copies each row with two loads and
// two stores that overlap in its middle, the first at the row's start and
// the second ending at its end (32-byte moves for rows of 32 to 64 bytes,
// 16-byte ones below 32, 8-byte ones below 16), so no byte outside the
// rows is read or written, and prefetches the same row of the next image
// as copyRowsAVX does.
TEXT ·copyRowsAVX2(SB), NOSPLIT, $0-24
	COPY_SHAPE_ARGS
	TESTQ R12, R12
	JLE   c2done
	TESTQ R13, R13
	JLE   c2done

c2image:
	MOVQ DI, BX
	MOVQ SI, R14
	MOVQ R12, CX
	CMPQ DX, $32
	JGE  c2rows32
	CMPQ DX, $16
	JGE  c2rows16

c2rows8:
	COPY_ROW2(MOVQ, AX, R15, 8)
	JNZ c2rows8
	JMP c2next

c2rows16:
	COPY_ROW2(VMOVDQU, X0, X1, 16)
	JNZ c2rows16
	JMP c2next

c2rows32:
	COPY_ROW2(VMOVDQU, Y0, Y1, 32)
	JNZ c2rows32

c2next:
	ADDQ R11, DI
	ADDQ R10, SI
	DECQ R13
	JNZ  c2image

c2done:
	VZEROUPPER
	RET
