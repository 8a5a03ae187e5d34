//go:build amd64 && !purego

#include "textflag.h"

// The fused data-gradient kernels: tapRows1x8Unit(a *rowTaps) and its
// siblings compute a row class of dx straight from the spread output
// gradient (see rowTaps in depthwise.go for the fields and their offsets)
// and store it, masked, into dx: no phase planes, no merge. Each output is
// Σ_t w[t]·src[i+offs[t]] as one FMA chain in tap order from +0, as
// tapsAxpyUnit computes it, so the bits are the phase-plane path's.
//
// A row is covered by blocks of 8 (x8) or 4 (x4) outputs; the last block
// ends at the row's end and may overlap the one before (recomputing an
// output gives the same bits). A tap loop feeds four blocks (sw 1) or two
// blocks of each column stream (sw 2), so its overhead is shared. Y15 is
// zero for the mask. Register use: DI dst row, DX mask row (0: no mask),
// SI src row, R8/R9 the end of the (even) taps' offsets and weights, R14/R15
// those of the odd taps (sw 2), AX counts taps up from -ntaps to 0, BX is
// the group's first block, CX the last block's start, R11 counts rows,
// R12-R15 (sw 1) or R12-R13 (sw 2) the blocks' starts.

// BLOCKSTART sets R to min(BX+K, CX).
#define BLOCKSTART(K, R) \
	LEAQ    K(BX), R \
	CMPQ    R, CX    \
	CMOVQGT CX, R

// TAPS1 runs the tap loop of four blocks: A0..A3 accumulate, B is the
// broadcast weight.
#define TAPS1(LOOP, DONE, A0, A1, A2, A3, B) \
	MOVQ         a+0(FP), R10          \
	MOVQ         40(R10), AX           \
	NEGQ         AX                    \
	JZ           DONE                  \
LOOP:                                   \
	MOVQ         (R8)(AX*8), R10       \
	LEAQ         (SI)(R10*4), R10      \
	VBROADCASTSS (R9)(AX*4), B         \
	VFMADD231PS  (R10)(R12*4), B, A0   \
	VFMADD231PS  (R10)(R13*4), B, A1   \
	VFMADD231PS  (R10)(R14*4), B, A2   \
	VFMADD231PS  (R10)(R15*4), B, A3   \
	INCQ         AX                    \
	JNZ          LOOP                  \
DONE:

// MASKSTORE1 masks A with the bools at (DX)(R*1) (M a scratch register,
// Z zero) and stores it at (DI)(R*4).
#define MASKSTORE1(A, R, M, Z) \
	VPMOVZXBD (DX)(R*1), M \
	VPSUBD    M, Z, M      \
	VANDPS    M, A, A      \
	VMOVUPS   A, (DI)(R*4)

// NEXTROW advances DI, DX (unless 0) and SI by a row and counts it down.
#define NEXTROW(SKIP) \
	MOVQ  a+0(FP), R10      \
	MOVQ  72(R10), R12      \
	LEAQ  (DI)(R12*4), DI   \
	TESTQ DX, DX            \
	JZ    SKIP              \
	ADDQ  R12, DX           \
SKIP:                        \
	MOVQ  80(R10), R12      \
	LEAQ  (SI)(R12*4), SI   \
	DECQ  R11

// SETUP loads the arguments; CX = n - W (the last block's start).
#define SETUP(W) \
	MOVQ   a+0(FP), R10     \
	MOVQ   0(R10), DI       \
	MOVQ   8(R10), DX       \
	MOVQ   16(R10), SI      \
	MOVQ   24(R10), R8      \
	MOVQ   32(R10), R9      \
	MOVQ   40(R10), AX      \
	LEAQ   (R8)(AX*8), R8   \
	LEAQ   (R9)(AX*4), R9   \
	MOVQ   56(R10), CX      \
	SUBQ   $W, CX           \
	MOVQ   64(R10), R11     \
	VXORPS Y15, Y15, Y15

// func tapRows1x8Unit(a *rowTaps): column stride 1, rows of n >= 8.
TEXT ·tapRows1x8Unit(SB), NOSPLIT, $0-8
	SETUP(8)

row1x8:
	XORQ BX, BX

group1x8:
	BLOCKSTART(0, R12)
	BLOCKSTART(8, R13)
	BLOCKSTART(16, R14)
	BLOCKSTART(24, R15)
	VXORPS     Y0, Y0, Y0
	VXORPS     Y1, Y1, Y1
	VXORPS     Y2, Y2, Y2
	VXORPS     Y3, Y3, Y3
	TAPS1(tap1x8, taps1x8done, Y0, Y1, Y2, Y3, Y4)
	TESTQ      DX, DX
	JZ         plain1x8
	MASKSTORE1(Y0, R12, Y5, Y15)
	MASKSTORE1(Y1, R13, Y6, Y15)
	MASKSTORE1(Y2, R14, Y7, Y15)
	MASKSTORE1(Y3, R15, Y8, Y15)
	JMP        next1x8

plain1x8:
	VMOVUPS Y0, (DI)(R12*4)
	VMOVUPS Y1, (DI)(R13*4)
	VMOVUPS Y2, (DI)(R14*4)
	VMOVUPS Y3, (DI)(R15*4)

next1x8:
	ADDQ    $32, BX
	LEAQ    -8(BX), R10
	CMPQ    R10, CX
	JLT     group1x8
	NEXTROW(adv1x8)
	JNZ     row1x8
	VZEROUPPER
	RET

// TAPS2 runs one column stream's tap loop over two blocks (starts R12,
// R13): OFFS/WS are the end of its taps' offsets and weights, NTAPS the
// field offset of its tap count.
#define TAPS2(LOOP, DONE, OFFS, WS, NTAPS, A0, A1, B) \
	MOVQ         a+0(FP), R10          \
	MOVQ         NTAPS(R10), AX        \
	NEGQ         AX                    \
	JZ           DONE                  \
LOOP:                                   \
	MOVQ         (OFFS)(AX*8), R10     \
	LEAQ         (SI)(R10*4), R10      \
	VBROADCASTSS (WS)(AX*4), B         \
	VFMADD231PS  (R10)(R12*4), B, A0   \
	VFMADD231PS  (R10)(R13*4), B, A1   \
	INCQ         AX                    \
	JNZ          LOOP                  \
DONE:

// SETUP2 is SETUP plus the odd taps' ends in R14, R15.
#define SETUP2(W) \
	SETUP(W)                \
	MOVQ a+0(FP), R10       \
	MOVQ 48(R10), AX        \
	LEAQ (R8)(AX*8), R14    \
	LEAQ (R9)(AX*4), R15

// STOREPAIRS8 interleaves even E and odd O (8 pairs from pair R) into
// T0, T1, masks them from (DX)(R*2) when DX != 0, and stores them at
// (DI)(R*8); STOREPAIRS4 does the same for 4 pairs.
#define STOREPAIRS8(E, O, R, T0, T1, T2, T3, SKIP) \
	VUNPCKLPS  O, E, T2            \
	VUNPCKHPS  O, E, T3            \
	VPERM2F128 $0x20, T3, T2, T0   \
	VPERM2F128 $0x31, T3, T2, T1   \
	TESTQ      DX, DX              \
	JZ         SKIP                \
	VPMOVZXBD  (DX)(R*2), T2       \
	VPSUBD     T2, Y15, T2         \
	VANDPS     T2, T0, T0          \
	VPMOVZXBD  8(DX)(R*2), T3      \
	VPSUBD     T3, Y15, T3         \
	VANDPS     T3, T1, T1          \
SKIP:                               \
	VMOVUPS    T0, (DI)(R*8)       \
	VMOVUPS    T1, 32(DI)(R*8)

#define STOREPAIRS4(E, O, R, T0, T1, T2, T3, SKIP) \
	VUNPCKLPS  O, E, T0            \
	VUNPCKHPS  O, E, T1            \
	TESTQ      DX, DX              \
	JZ         SKIP                \
	VPMOVZXBD  (DX)(R*2), T2       \
	VPSUBD     T2, X15, T2         \
	VANDPS     T2, T0, T0          \
	VPMOVZXBD  4(DX)(R*2), T3      \
	VPSUBD     T3, X15, T3         \
	VANDPS     T3, T1, T1          \
SKIP:                               \
	VMOVUPS    T0, (DI)(R*8)       \
	VMOVUPS    T1, 16(DI)(R*8)

// func tapRows2x8Unit(a *rowTaps): column stride 2, n >= 8 pairs a row
// (2n columns): even columns from the even taps, odd from the odd ones.
TEXT ·tapRows2x8Unit(SB), NOSPLIT, $0-8
	SETUP2(8)

row2x8:
	XORQ BX, BX

group2x8:
	BLOCKSTART(0, R12)
	BLOCKSTART(8, R13)
	VXORPS      Y0, Y0, Y0
	VXORPS      Y1, Y1, Y1
	VXORPS      Y2, Y2, Y2
	VXORPS      Y3, Y3, Y3
	TAPS2(even2x8, even2x8done, R8, R9, 40, Y0, Y1, Y4)
	TAPS2(odd2x8, odd2x8done, R14, R15, 48, Y2, Y3, Y4)
	STOREPAIRS8(Y0, Y2, R12, Y5, Y6, Y7, Y8, s02x8)
	STOREPAIRS8(Y1, Y3, R13, Y5, Y6, Y7, Y8, s12x8)
	ADDQ        $16, BX
	LEAQ        -8(BX), R10
	CMPQ        R10, CX
	JLT         group2x8
	MOVQ        a+0(FP), R10
	MOVQ        72(R10), R12
	LEAQ        (DI)(R12*4), DI
	TESTQ       DX, DX
	JZ          adv2x8
	ADDQ        R12, DX

adv2x8:
	MOVQ 80(R10), R12
	LEAQ (SI)(R12*4), SI
	DECQ R11
	JNZ  row2x8
	VZEROUPPER
	RET

// func tapRows2x4Unit(a *rowTaps): column stride 2, 4 <= n < 8 pairs.
TEXT ·tapRows2x4Unit(SB), NOSPLIT, $0-8
	SETUP2(4)

row2x4:
	XORQ BX, BX

group2x4:
	BLOCKSTART(0, R12)
	BLOCKSTART(4, R13)
	VXORPS      X0, X0, X0
	VXORPS      X1, X1, X1
	VXORPS      X2, X2, X2
	VXORPS      X3, X3, X3
	TAPS2(even2x4, even2x4done, R8, R9, 40, X0, X1, X4)
	TAPS2(odd2x4, odd2x4done, R14, R15, 48, X2, X3, X4)
	STOREPAIRS4(X0, X2, R12, X5, X6, X7, X8, s02x4)
	STOREPAIRS4(X1, X3, R13, X5, X6, X7, X8, s12x4)
	ADDQ        $8, BX
	LEAQ        -4(BX), R10
	CMPQ        R10, CX
	JLT         group2x4
	MOVQ        a+0(FP), R10
	MOVQ        72(R10), R12
	LEAQ        (DI)(R12*4), DI
	TESTQ       DX, DX
	JZ          adv2x4
	ADDQ        R12, DX

adv2x4:
	MOVQ 80(R10), R12
	LEAQ (SI)(R12*4), SI
	DECQ R11
	JNZ  row2x4
	VZEROUPPER
	RET

// PAIRROWS is the body of the two-row kernels, for rows of at most two
// blocks (n <= 2W): the tap loop feeds blocks 0 and n-W of two rows at
// once (the second the same as the first when one row is left), so that it
// still has four blocks to share its overhead. BX is the second row's
// offset in src, R14/R15 become its blocks' offsets in dst at the store.
#define PAIRROWS(ROW, TAP, TAPSDONE, PLAIN, STORED, ONE, NOMASK, A0, A1, A2, A3, B, M0, M1, M2, M3, Z) \
ROW:                                               \
	MOVQ       a+0(FP), R10                         \
	XORQ       BX, BX                               \
	CMPQ       R11, $2                              \
	JLT        ONE                                  \
	MOVQ       80(R10), BX                          \
ONE:                                                \
	XORQ       R12, R12                             \
	MOVQ       CX, R13                              \
	MOVQ       BX, R14                              \
	LEAQ       (CX)(BX*1), R15                      \
	VXORPS     A0, A0, A0                           \
	VXORPS     A1, A1, A1                           \
	VXORPS     A2, A2, A2                           \
	VXORPS     A3, A3, A3                           \
	TAPS1(TAP, TAPSDONE, A0, A1, A2, A3, B)         \
	MOVQ       a+0(FP), R10                         \
	XORQ       R14, R14                             \
	CMPQ       R11, $2                              \
	JLT        PLAIN                                \
	MOVQ       72(R10), R14                         \
PLAIN:                                              \
	LEAQ       (CX)(R14*1), R15                     \
	TESTQ      DX, DX                               \
	JZ         STORED                               \
	VPMOVZXBD  (DX)(R12*1), M0                      \
	VPSUBD     M0, Z, M0                            \
	VANDPS     M0, A0, A0                           \
	VPMOVZXBD  (DX)(R13*1), M1                      \
	VPSUBD     M1, Z, M1                            \
	VANDPS     M1, A1, A1                           \
	VPMOVZXBD  (DX)(R14*1), M2                      \
	VPSUBD     M2, Z, M2                            \
	VANDPS     M2, A2, A2                           \
	VPMOVZXBD  (DX)(R15*1), M3                      \
	VPSUBD     M3, Z, M3                            \
	VANDPS     M3, A3, A3                           \
STORED:                                             \
	VMOVUPS    A0, (DI)(R12*4)                      \
	VMOVUPS    A1, (DI)(R13*4)                      \
	VMOVUPS    A2, (DI)(R14*4)                      \
	VMOVUPS    A3, (DI)(R15*4)                      \
	MOVQ       72(R10), R12                         \
	SHLQ       $1, R12                              \
	LEAQ       (DI)(R12*4), DI                      \
	TESTQ      DX, DX                               \
	JZ         NOMASK                               \
	ADDQ       R12, DX                              \
NOMASK:                                             \
	MOVQ       80(R10), R12                         \
	SHLQ       $1, R12                              \
	LEAQ       (SI)(R12*4), SI                      \
	SUBQ       $2, R11                              \
	JGT        ROW

// func tapRows1x8r2Unit(a *rowTaps): column stride 1, 8 <= n <= 16.
TEXT ·tapRows1x8r2Unit(SB), NOSPLIT, $0-8
	SETUP(8)
	PAIRROWS(row1x8r2, tap1x8r2, taps1x8r2done, plain1x8r2, stored1x8r2, one1x8r2, nomask1x8r2, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y15)
	VZEROUPPER
	RET

// func tapRows1x4r2Unit(a *rowTaps): column stride 1, 4 <= n < 8.
TEXT ·tapRows1x4r2Unit(SB), NOSPLIT, $0-8
	SETUP(4)
	PAIRROWS(row1x4r2, tap1x4r2, taps1x4r2done, plain1x4r2, stored1x4r2, one1x4r2, nomask1x4r2, X0, X1, X2, X3, X4, X5, X6, X7, X8, X15)
	VZEROUPPER
	RET
