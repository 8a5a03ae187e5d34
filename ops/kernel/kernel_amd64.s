//go:build amd64 && !purego

#include "textflag.h"
#include "copyrows_amd64.h"

// AVX-512 VBMI row kernels. See kernel_amd64.go for the contract.
//
// Registers:
//   Z0-Z3   low-byte plane of the current table row (256 entries, 4 x 64)
//   Z4-Z7   high-byte plane of the current table row
//   Z8-Z23  per 64-lane tile, four uint16 accumulators:
//           a0 += lo bytes as words   (even lane + 256*odd lane, wrapping)
//           a1 += lo bytes >> 8       (odd lanes)
//           a2, a3 the same for the high plane
//           The even-lane sums are recovered as a0 - a1<<8 (mod 2^16).
//           At most 128 steps are summed before the words are widened, so
//           every sum is at most 128*255 = 32640 and fits a signed word.
//   Z24-Z30 temporaries, Z31 the word pair (1, 256) for VPMADDWD, Z0 the
//           broadcast bias when the first chunk's sums are stored
//   R12     1 during the first chunk, R13 the bias
//   K1      lanes whose code has bit 7 set (upper 128 entries), K2 the rest
//   DI planes, SI selector codes, R8 offsets, R9 lane codes, CX steps left,
//   R10 out, R11 steps in this chunk, BX lane pointer of this step

// LOADROW points AX at the planes of selector code (SI) and loads them.
#define LOADROW \
	MOVBQZX (SI), AX; \
	SHLQ $9, AX; \
	ADDQ DI, AX; \
	VMOVDQU64 0(AX), Z0; \
	VMOVDQU64 64(AX), Z1; \
	VMOVDQU64 128(AX), Z2; \
	VMOVDQU64 192(AX), Z3; \
	VMOVDQU64 256(AX), Z4; \
	VMOVDQU64 320(AX), Z5; \
	VMOVDQU64 384(AX), Z6; \
	VMOVDQU64 448(AX), Z7; \
	MOVLQSX (R8), BX; \
	ADDQ R9, BX

// TILE looks up the 64 lane codes at off(BX) in both planes (two masked
// 128-entry byte permutes per plane) and adds them to a0..a3.
#define TILE(off, a0, a1, a2, a3) \
	VMOVDQU64 off(BX), Z24; \
	VPMOVB2M Z24, K1; \
	KNOTQ K1, K2; \
	VMOVDQA64 Z24, Z25; \
	VPERMI2B Z1, Z0, K2, Z25; \
	VPERMI2B Z3, Z2, K1, Z25; \
	VMOVDQA64 Z24, Z26; \
	VPERMI2B Z5, Z4, K2, Z26; \
	VPERMI2B Z7, Z6, K1, Z26; \
	VPSRLW $8, Z25, Z27; \
	VPADDW Z25, a0, a0; \
	VPADDW Z27, a1, a1; \
	VPSRLW $8, Z26, Z27; \
	VPADDW Z26, a2, a2; \
	VPADDW Z27, a3, a3

#define ZERO4(a0, a1, a2, a3) \
	VPXORQ a0, a0, a0; \
	VPXORQ a1, a1, a1; \
	VPXORQ a2, a2, a2; \
	VPXORQ a3, a3, a3

// WIDEN widens one tile's word sums to 64 int32 (low + 256*high), in lane
// order in Z29, Z30, Z24, Z25. The word and dword unpacks leave lane
// 16k+4r+d in block k of u_r; a 4x4 transpose of 128-bit blocks restores
// lane order.
#define WIDEN(a0, a1, a2, a3) \
	VPSLLW $8, a1, Z24; \
	VPSUBW Z24, a0, a0; \
	VPSLLW $8, a3, Z24; \
	VPSUBW Z24, a2, a2; \
	VPUNPCKLWD a2, a0, Z24; \
	VPUNPCKHWD a2, a0, Z25; \
	VPUNPCKLWD a3, a1, Z26; \
	VPUNPCKHWD a3, a1, Z27; \
	VPMADDWD Z31, Z24, Z24; \
	VPMADDWD Z31, Z25, Z25; \
	VPMADDWD Z31, Z26, Z26; \
	VPMADDWD Z31, Z27, Z27; \
	VPUNPCKLDQ Z26, Z24, Z28; \
	VPUNPCKHDQ Z26, Z24, Z29; \
	VPUNPCKLDQ Z27, Z25, Z30; \
	VPUNPCKHDQ Z27, Z25, Z24; \
	VSHUFI64X2 $0x44, Z29, Z28, Z25; \
	VSHUFI64X2 $0xEE, Z29, Z28, Z26; \
	VSHUFI64X2 $0x44, Z24, Z30, Z27; \
	VSHUFI64X2 $0xEE, Z24, Z30, Z28; \
	VSHUFI64X2 $0x88, Z27, Z25, Z29; \
	VSHUFI64X2 $0xDD, Z27, Z25, Z30; \
	VSHUFI64X2 $0x88, Z28, Z26, Z24; \
	VSHUFI64X2 $0xDD, Z28, Z26, Z25

// EPIADD adds the widened tile to the 64 int32 at off(R10).
#define EPIADD(off) \
	VPADDD off+0(R10), Z29, Z29; \
	VPADDD off+64(R10), Z30, Z30; \
	VPADDD off+128(R10), Z24, Z24; \
	VPADDD off+192(R10), Z25, Z25; \
	VMOVDQU64 Z29, off+0(R10); \
	VMOVDQU64 Z30, off+64(R10); \
	VMOVDQU64 Z24, off+128(R10); \
	VMOVDQU64 Z25, off+192(R10)

// EPISET stores the widened tile plus the bias (Z0, first chunk only).
#define EPISET(off) \
	VPADDD Z0, Z29, Z29; \
	VPADDD Z0, Z30, Z30; \
	VPADDD Z0, Z24, Z24; \
	VPADDD Z0, Z25, Z25; \
	VMOVDQU64 Z29, off+0(R10); \
	VMOVDQU64 Z30, off+64(R10); \
	VMOVDQU64 Z24, off+128(R10); \
	VMOVDQU64 Z25, off+192(R10)

#define PROLOGUE \
	MOVQ planes+0(FP), DI; \
	MOVQ sel+8(FP), SI; \
	MOVQ offs+16(FP), R8; \
	MOVQ src+24(FP), R9; \
	MOVQ k+32(FP), CX; \
	MOVQ bias+40(FP), R13; \
	MOVQ out+48(FP), R10; \
	MOVQ $1, R12; \
	MOVL $0x01000001, AX; \
	VPBROADCASTD AX, Z31

// CHUNK sets R11 to min(CX, 128) steps and takes them off CX.
#define CHUNK \
	MOVQ $128, R11; \
	CMPQ CX, R11; \
	CMOVQLT CX, R11; \
	SUBQ R11, CX

#define NEXT \
	INCQ SI; \
	ADDQ $4, R8; \
	DECQ R11



// func lutRow1(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32)
TEXT ·lutRow1(SB), NOSPLIT, $0-56
	PROLOGUE
chunk:
	CHUNK
	ZERO4(Z8, Z9, Z10, Z11)
step:
	LOADROW
	TILE(0, Z8, Z9, Z10, Z11)
	NEXT
	JNZ step
	TESTQ R12, R12
	JZ add
	XORQ R12, R12
	VPBROADCASTD R13, Z0
	WIDEN(Z8, Z9, Z10, Z11)
	EPISET(0)
	JMP more
add:
	WIDEN(Z8, Z9, Z10, Z11)
	EPIADD(0)
more:
	TESTQ CX, CX
	JNZ chunk
	VZEROUPPER
	RET

// func lutRow2(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32)
TEXT ·lutRow2(SB), NOSPLIT, $0-56
	PROLOGUE
chunk:
	CHUNK
	ZERO4(Z8, Z9, Z10, Z11)
	ZERO4(Z12, Z13, Z14, Z15)
step:
	LOADROW
	TILE(0, Z8, Z9, Z10, Z11)
	TILE(64, Z12, Z13, Z14, Z15)
	NEXT
	JNZ step
	TESTQ R12, R12
	JZ add
	XORQ R12, R12
	VPBROADCASTD R13, Z0
	WIDEN(Z8, Z9, Z10, Z11)
	EPISET(0)
	WIDEN(Z12, Z13, Z14, Z15)
	EPISET(256)
	JMP more
add:
	WIDEN(Z8, Z9, Z10, Z11)
	EPIADD(0)
	WIDEN(Z12, Z13, Z14, Z15)
	EPIADD(256)
more:
	TESTQ CX, CX
	JNZ chunk
	VZEROUPPER
	RET

// func lutRow4(planes *[256][512]byte, sel *byte, offs *int32, src *byte, k int, bias int, out *int32)
TEXT ·lutRow4(SB), NOSPLIT, $0-56
	PROLOGUE
chunk:
	CHUNK
	ZERO4(Z8, Z9, Z10, Z11)
	ZERO4(Z12, Z13, Z14, Z15)
	ZERO4(Z16, Z17, Z18, Z19)
	ZERO4(Z20, Z21, Z22, Z23)
step:
	LOADROW
	TILE(0, Z8, Z9, Z10, Z11)
	TILE(64, Z12, Z13, Z14, Z15)
	TILE(128, Z16, Z17, Z18, Z19)
	TILE(192, Z20, Z21, Z22, Z23)
	NEXT
	JNZ step
	TESTQ R12, R12
	JZ add
	XORQ R12, R12
	VPBROADCASTD R13, Z0
	WIDEN(Z8, Z9, Z10, Z11)
	EPISET(0)
	WIDEN(Z12, Z13, Z14, Z15)
	EPISET(256)
	WIDEN(Z16, Z17, Z18, Z19)
	EPISET(512)
	WIDEN(Z20, Z21, Z22, Z23)
	EPISET(768)
	JMP more
add:
	WIDEN(Z8, Z9, Z10, Z11)
	EPIADD(0)
	WIDEN(Z12, Z13, Z14, Z15)
	EPIADD(256)
	WIDEN(Z16, Z17, Z18, Z19)
	EPIADD(512)
	WIDEN(Z20, Z21, Z22, Z23)
	EPIADD(768)
more:
	TESTQ CX, CX
	JNZ chunk
	VZEROUPPER
	RET

// func splitBytesAVX(even, odd, in *byte, n int)
//
// even[t] = in[2t], odd[t] = in[2t+1] for t < n, n a multiple of 32: each
// 64 input bytes are 32 words whose low bytes (VPMOVWB) are the even ones
// and whose high bytes (shifted down first) the odd ones.
TEXT ·splitBytesAVX(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), SI
	MOVQ in+16(FP), AX
	MOVQ n+24(FP), CX

split32:
	CMPQ      CX, $32
	JLT       splitdone
	VMOVDQU64 (AX), Z0
	VPSRLW    $8, Z0, Z1
	VPMOVWB   Z0, Y2
	VPMOVWB   Z1, Y3
	VMOVDQU   Y2, (DI)
	VMOVDQU   Y3, (SI)
	ADDQ      $64, AX
	ADDQ      $32, DI
	ADDQ      $32, SI
	SUBQ      $32, CX
	JMP       split32

splitdone:
	VZEROUPPER
	RET

// func copyRowsAVX(dst, src *byte, shape *copyShape)
//
// copyShape is {dstPitch, dstImage, srcPitch, srcImage, rows, width <= 64,
// images} (int64s). Copies each row with one masked load and store (the
// masked-off bytes are neither read nor written) and prefetches the same
// row of the next image (a hint: it never faults, also past the last
// image). Rows of up to 32 bytes move in Y registers: on Zen 4 a 64-byte
// move, which mostly straddles two cache lines, is much slower.
TEXT ·copyRowsAVX(SB), NOSPLIT, $0-24
	COPY_SHAPE_ARGS
	MOVQ $-1, AX
	BZHIQ DX, AX, AX
	KMOVQ AX, K1
	TESTQ R12, R12
	JLE rowsdone
	TESTQ R13, R13
	JLE rowsdone

rowsimage:
	MOVQ DI, BX
	MOVQ SI, R14
	MOVQ R12, CX
	CMPQ DX, $32
	JGT rows64

rows32:
	PREFETCHT0 (R14)(R10*1)
	VMOVDQU8.Z (R14), K1, Y0
	VMOVDQU8   Y0, K1, (BX)
	ADDQ       R9, R14
	ADDQ       R8, BX
	DECQ       CX
	JNZ        rows32
	JMP        rowsnext

rows64:
	PREFETCHT0 (R14)(R10*1)
	VMOVDQU8.Z (R14), K1, Z0
	VMOVDQU8   Z0, K1, (BX)
	ADDQ       R9, R14
	ADDQ       R8, BX
	DECQ       CX
	JNZ        rows64

rowsnext:
	ADDQ R11, DI
	ADDQ R10, SI
	DECQ R13
	JNZ  rowsimage

rowsdone:
	VZEROUPPER
	RET

// func copyRunsAVX(acc *int32, out *int32, runs *run, n int)
//
// For each of the n runs {lane, dst, n} (three int64s), copies out[lane:]
// to acc[dst:], 8 sums per store (Y registers, see copyRowsAVX), the last
// store masked.
TEXT ·copyRunsAVX(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ out+8(FP), SI
	MOVQ runs+16(FP), R8
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JLE runsdone

runsloop:
	MOVQ 0(R8), AX
	LEAQ (SI)(AX*4), R10
	MOVQ 8(R8), AX
	LEAQ (DI)(AX*4), R11
	MOVQ 16(R8), DX

run8:
	CMPQ    DX, $8
	JLT     runtail
	VMOVDQU (R10), Y0
	VMOVDQU Y0, (R11)
	ADDQ    $32, R10
	ADDQ    $32, R11
	SUBQ    $8, DX
	JMP     run8

runtail:
	TESTQ       DX, DX
	JZ          runnext
	MOVL        $-1, AX
	BZHIL       DX, AX, AX
	KMOVW       AX, K1
	VMOVDQU32.Z (R10), K1, Y0
	VMOVDQU32   Y0, K1, (R11)

runnext:
	ADDQ $24, R8
	DECQ CX
	JNZ  runsloop

runsdone:
	VZEROUPPER
	RET

// func storeRowsAVX(acc *int32, out *int32, rows, y int, rg *rowGeom)
//
// rowGeom is {wq, ow, oh, rowsPer, image} (int64s). For each of rows rows
// of wq sums in out: if y < oh, copy its first ow sums to the output row
// y of the current image; then the next row, and after rowsPer rows the
// next image (image sums further on). Sums move 8 per store in Y
// registers (see copyRowsAVX), the last store masked; rows of up to 16
// sums, the zoo's maps, take two masked stores and no inner loop.
TEXT ·storeRowsAVX(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ out+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ y+24(FP), BX
	MOVQ rg+32(FP), R8
	MOVQ 0(R8), R9
	SHLQ $2, R9             // R9: bytes per lane row
	MOVQ 8(R8), R10         // R10: ow
	MOVQ 16(R8), R11        // R11: oh
	MOVQ 24(R8), R12        // R12: rowsPer
	MOVQ 32(R8), R13
	SHLQ $2, R13            // R13: bytes per image
	MOVQ R10, DX
	IMULQ BX, DX
	LEAQ (DI)(DX*4), DX     // DX: output row y
	TESTQ CX, CX
	JLE storedone
	CMPQ R10, $16
	JGT storelong

	// ow <= 16: K1 the sums 0..7 of a row, K2 the sums 8..15.
	MOVQ R10, AX
	MOVL $-1, R8
	BZHIL AX, R8, R8
	KMOVW R8, K1
	SHRL $8, R8
	KMOVW R8, K2

short:
	CMPQ        BX, R11
	JGE         shortnext
	VMOVDQU32.Z (SI), K1, Y0
	VMOVDQU32.Z 32(SI), K2, Y1
	VMOVDQU32   Y0, K1, (DX)
	VMOVDQU32   Y1, K2, 32(DX)
	LEAQ        (DX)(R10*4), DX

shortnext:
	ADDQ R9, SI
	INCQ BX
	CMPQ BX, R12
	JNE  shortloop
	XORQ BX, BX
	ADDQ R13, DI
	MOVQ DI, DX

shortloop:
	DECQ CX
	JNZ  short
	JMP  storedone

storelong:
	MOVQ R10, AX
	ANDQ $7, AX
	MOVL $-1, R8
	BZHIL AX, R8, R8
	KMOVW R8, K1            // K1: the last store's sums
	MOVQ R10, R14
	SHRQ $3, R14            // R14: whole stores per row

storerow:
	CMPQ BX, R11
	JGE storenext
	XORQ AX, AX
	MOVQ R14, R8

store8:
	TESTQ   R8, R8
	JZ      storetail
	VMOVDQU (SI)(AX*1), Y0
	VMOVDQU Y0, (DX)(AX*1)
	ADDQ    $32, AX
	DECQ    R8
	JMP     store8

storetail:
	VMOVDQU32.Z (SI)(AX*1), K1, Y0
	VMOVDQU32   Y0, K1, (DX)(AX*1)
	LEAQ        (DX)(R10*4), DX

storenext:
	ADDQ R9, SI
	INCQ BX
	CMPQ BX, R12
	JNE  storeloop
	XORQ BX, BX
	ADDQ R13, DI
	MOVQ DI, DX

storeloop:
	DECQ CX
	JNZ  storerow

storedone:
	VZEROUPPER
	RET
