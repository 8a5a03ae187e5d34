//go:build amd64 && !purego

#include "textflag.h"

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
