//go:build amd64 && !purego

#include "textflag.h"

// AVX2 kernels of the 2×2, stride-2 max pool (forward2x2 and the gradient
// scatter in maxpool.go), eight windows a step: 16 floats from each of the
// window row pair's two rows. They give the Go loops' bits.
//
// The forward kernel splits each row's 16 floats into even and odd columns
// (VSHUFPS, which leaves the eight windows in the lane order
// 0 1 4 5 2 3 6 7), takes the larger of each column pair, then of the two
// rows, and puts the lanes back in order (VPERMQ) before storing. Ties keep
// the first in row-major order: the left column, then the top row, as
// forward2x2's comparisons do. VMAXPS a, b is a > b ? a : b, so it keeps
// the operand the comparison picks, ±0 included. Comparisons are false for
// NaN, so the kernel only reports whether its input held one and the Go
// code redoes those planes with the loop that handles NaN.
//
// A row's last group of fewer than eight windows loads through masks (the
// tail argument: mask of the first 8 and of the next 8 inputs of a row, mask
// of the outputs), so nothing past the windows is read. It stores all eight
// lanes (the extra ones land on outputs stored later) except near the end
// of the output, where it stores through the masks: on AMD EPYC a masked
// store costs about as much as the rest of the step, so storing every
// step through the masks would make the gradient of small planes several
// times slower (BenchmarkMaxPoolOps).

// Input columns of the eight windows' top-left values, relative to the
// group's first, in the lane order the shuffles leave: 2 × (0 1 4 5 2 3 6 7).
DATA pool2x2Cols<>+0(SB)/4, $0
DATA pool2x2Cols<>+4(SB)/4, $2
DATA pool2x2Cols<>+8(SB)/4, $8
DATA pool2x2Cols<>+12(SB)/4, $10
DATA pool2x2Cols<>+16(SB)/4, $4
DATA pool2x2Cols<>+20(SB)/4, $6
DATA pool2x2Cols<>+24(SB)/4, $12
DATA pool2x2Cols<>+28(SB)/4, $14
GLOBL pool2x2Cols<>(SB), RODATA|NOPTR, $32

// POOL2X2 takes the top row's 16 floats in Y0, Y1 and the bottom row's in
// Y2, Y3, and leaves the eight maxima in Y0 and their plane positions in
// Y4, in order. Y15 holds the positions of the windows' top-left inputs
// (in shuffled lane order), Y11 the row width w; Y10 collects NaN lanes.
#define POOL2X2 \
	VCMPPS    $3, Y1, Y0, Y4    \ // unordered: a NaN in either
	VCMPPS    $3, Y3, Y2, Y5    \
	VORPS     Y4, Y10, Y10      \
	VORPS     Y5, Y10, Y10      \
	VSHUFPS   $0x88, Y1, Y0, Y4 \ // top row, left columns
	VSHUFPS   $0xDD, Y1, Y0, Y5 \ // top row, right columns
	VSHUFPS   $0x88, Y3, Y2, Y0 \ // bottom row, left columns
	VSHUFPS   $0xDD, Y3, Y2, Y1 \ // bottom row, right columns
	VCMPPS    $0x1E, Y4, Y5, Y2 \ // right > left (GT_OQ), top row
	VMAXPS    Y4, Y5, Y4        \ // right > left ? right : left
	VCMPPS    $0x1E, Y0, Y1, Y3 \ // the same for the bottom row
	VMAXPS    Y0, Y1, Y0        \
	VCMPPS    $0x1E, Y4, Y0, Y1 \ // bottom > top
	VMAXPS    Y4, Y0, Y0        \ // bottom > top ? bottom : top
	VPSUBD    Y2, Y15, Y4       \ // top position: left - (-1 if right won)
	VPADDD    Y11, Y15, Y5      \
	VPSUBD    Y3, Y5, Y5        \ // bottom position: left + w - (-1 if right won)
	VBLENDVPS Y1, Y5, Y4, Y4    \ // bottom > top ? bottom position : top position
	VPERMQ    $0xD8, Y0, Y0     \ // lanes back in order
	VPERMQ    $0xD8, Y4, Y4     \
	VPADDD    Y14, Y15, Y15     // next group: 16 columns on

// func maxPool2x2AVX2(x, y *float32, arg *int32, planes, h, w int, tail *[3][8]int32) (nan bool)
TEXT ·maxPool2x2AVX2(SB), NOSPLIT, $8-57
	MOVQ    x+0(FP), SI
	MOVQ    y+8(FP), DI
	MOVQ    arg+16(FP), DX
	MOVQ    planes+24(FP), R8
	MOVQ    h+32(FP), R9
	MOVQ    w+40(FP), R10
	MOVQ    tail+48(FP), AX
	VMOVDQU 0(AX), Y9
	VMOVDQU 32(AX), Y8
	VMOVDQU 64(AX), Y7

	MOVQ R9, R14
	IMULQ R10, R14
	SHLQ $2, R14       // R14: plane size in bytes
	SHRQ $1, R9        // R9: window rows (oh)
	MOVQ R10, R13
	SHLQ $2, R13       // R13: input row size in bytes
	MOVQ R10, R11
	SHRQ $4, R11       // R11: full groups of 8 windows per row
	MOVQ R10, R12
	SHRQ $1, R12
	ANDQ $7, R12       // R12: windows in the last, partial group

	// A tail may store all eight lanes while y has room for them: the
	// lanes past the row's windows land on later rows' outputs, which are
	// stored after. Only near the end of y does it store through the mask.
	MOVQ  R9, AX
	IMULQ R8, AX
	MOVQ  R10, BX
	SHRQ  $1, BX
	IMULQ BX, AX        // outputs
	LEAQ  -32(DI)(AX*4), AX
	MOVQ  AX, lim-8(SP) // last y address a full store may start at

	MOVQ         R10, X11
	VPBROADCASTD X11, Y11 // w
	VPADDD       Y11, Y11, Y12 // 2w: from one window row to the next
	MOVL         $16, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14 // 16
	VXORPS       Y10, Y10, Y10

fwd_plane:
	TESTQ R8, R8
	JZ    fwd_done
	MOVQ  SI, BX           // BX: the window row's top input row
	VPXOR Y13, Y13, Y13    // Y13: position of BX in the plane
	MOVQ  R9, CX

fwd_row:
	TESTQ   CX, CX
	JZ      fwd_next_plane
	MOVQ    BX, AX
	VMOVDQU pool2x2Cols<>(SB), Y15
	VPADDD  Y13, Y15, Y15
	MOVQ    R11, R10

fwd_group:
	TESTQ   R10, R10
	JZ      fwd_tail
	VMOVUPS 0(AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS (AX)(R13*1), Y2
	VMOVUPS 32(AX)(R13*1), Y3
	POOL2X2
	VMOVUPS Y0, (DI)
	VMOVDQU Y4, (DX)
	ADDQ    $64, AX
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    R10
	JMP     fwd_group

fwd_tail:
	TESTQ      R12, R12
	JZ         fwd_next_row
	VMASKMOVPS 0(AX), Y9, Y0
	VMASKMOVPS 32(AX), Y8, Y1
	VMASKMOVPS (AX)(R13*1), Y9, Y2
	VMASKMOVPS 32(AX)(R13*1), Y8, Y3
	POOL2X2
	CMPQ       DI, lim-8(SP)
	JHI        fwd_tail_masked
	VMOVUPS    Y0, (DI)
	VMOVDQU    Y4, (DX)
	JMP        fwd_tail_stored

fwd_tail_masked:
	VMASKMOVPS Y0, Y7, (DI)
	VPMASKMOVD Y4, Y7, (DX)

fwd_tail_stored:
	LEAQ       (DI)(R12*4), DI
	LEAQ       (DX)(R12*4), DX

fwd_next_row:
	LEAQ   (BX)(R13*2), BX
	VPADDD Y12, Y13, Y13
	DECQ   CX
	JMP    fwd_row

fwd_next_plane:
	ADDQ R14, SI
	DECQ R8
	JMP  fwd_plane

fwd_done:
	VMOVMSKPS Y10, AX
	TESTL     AX, AX
	SETNE     nan+56(FP)
	VZEROUPPER
	RET

// POOL2X2GRAD takes eight output gradients in Y0 and their windows' argmax
// positions in Y1, in order, and leaves the top row's 16 input gradients
// in Y4, Y2 and the bottom row's in Y5, Y3. Each value is dy + 0, as the
// Go loop's += on a cleared dx makes it (so -0 becomes +0), where the
// argmax is, and +0 elsewhere. Y15 holds the windows' top-left positions
// (shuffled lane order), Y10 zero, Y11 1, Y12 w, Y13 w+1, Y14 16.
#define POOL2X2GRAD \
	VPERMQ    $0xD8, Y0, Y0 \ // lanes in the order 0 1 4 5 2 3 6 7,
	VPERMQ    $0xD8, Y1, Y1 \ // which the unpacks below undo
	VADDPS    Y10, Y0, Y0   \
	VPSUBD    Y15, Y1, Y1   \ // argmax relative to the top-left input
	VPCMPEQD  Y10, Y1, Y2   \ // 0: top left
	VPCMPEQD  Y11, Y1, Y3   \ // 1: top right
	VANDPS    Y0, Y2, Y2    \
	VANDPS    Y0, Y3, Y3    \
	VUNPCKLPS Y3, Y2, Y4    \ // columns 0-7
	VUNPCKHPS Y3, Y2, Y2    \ // columns 8-15
	VPCMPEQD  Y12, Y1, Y3   \ // w: bottom left
	VPCMPEQD  Y13, Y1, Y1   \ // w+1: bottom right
	VANDPS    Y0, Y3, Y3    \
	VANDPS    Y0, Y1, Y1    \
	VUNPCKLPS Y1, Y3, Y5    \
	VUNPCKHPS Y1, Y3, Y3    \
	VPADDD    Y14, Y15, Y15

// func maxPool2x2GradAVX2(dx, dy *float32, arg *int32, planes, h, w int, tail *[3][8]int32)
TEXT ·maxPool2x2GradAVX2(SB), NOSPLIT, $8-56
	MOVQ    dx+0(FP), DI
	MOVQ    dy+8(FP), SI
	MOVQ    arg+16(FP), DX
	MOVQ    planes+24(FP), R8
	MOVQ    h+32(FP), R9
	MOVQ    w+40(FP), R10
	MOVQ    tail+48(FP), AX
	VMOVDQU 0(AX), Y9
	VMOVDQU 32(AX), Y8
	VMOVDQU 64(AX), Y7

	MOVQ  R9, R14
	IMULQ R10, R14
	SHLQ  $2, R14 // R14: plane size in bytes
	SHRQ  $1, R9  // R9: window rows
	MOVQ  R10, R13
	SHLQ  $2, R13 // R13: input row size in bytes
	MOVQ  R10, R11
	SHRQ  $4, R11 // R11: full groups of 8 windows per row
	MOVQ  R10, R12
	SHRQ  $1, R12
	ANDQ  $7, R12 // R12: windows in the last, partial group

	// A row's partial group is done first and, while dx has room, stored
	// whole: its lanes past the windows are +0 (dy loaded through the
	// mask) and land on the rest of the row, on the start of the next row,
	// which the full groups store after, or on later rows, which later
	// groups store (or, for a plane's uncovered last row or column, which
	// are to be 0). Only near the end of dx does it store through masks.
	MOVQ  R8, AX
	IMULQ R14, AX
	LEAQ  -64(DI)(AX*1), AX
	MOVQ  AX, lim-8(SP)     // last dx address a full 16-float store may start at

	VMOVDQU      pool2x2Cols<>(SB), Y6
	VXORPS       Y10, Y10, Y10
	MOVL         $1, AX
	MOVQ         AX, X11
	VPBROADCASTD X11, Y11 // 1
	MOVQ         R10, X12
	VPBROADCASTD X12, Y12 // w
	VPADDD       Y11, Y12, Y13 // w+1
	MOVL         $16, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14 // 16

grad_plane:
	TESTQ R8, R8
	JZ    grad_done
	MOVQ  DI, BX     // BX: the window row's top input row
	MOVQ  R9, CX

grad_row:
	TESTQ CX, CX
	JZ    grad_next_plane
	TESTQ R12, R12
	JZ    grad_full

	// The partial group, after R11 full ones.
	MOVQ         R11, AX
	SHLQ         $6, AX
	ADDQ         BX, AX            // AX: its top row's first input
	MOVQ         AX, R10
	SUBQ         DI, R10
	SHRQ         $2, R10
	MOVQ         R10, X15
	VPBROADCASTD X15, Y15
	VPADDD       Y6, Y15, Y15      // its windows' top-left positions
	MOVQ         R11, R10
	SHLQ         $5, R10           // offset of its dy and argmax
	VMASKMOVPS   (SI)(R10*1), Y7, Y0
	VPMASKMOVD   (DX)(R10*1), Y7, Y1
	POOL2X2GRAD
	LEAQ         (AX)(R13*1), R10
	CMPQ         R10, lim-8(SP)
	JHI          grad_tail_masked
	VMOVUPS      Y4, 0(AX)
	VMOVUPS      Y2, 32(AX)
	VMOVUPS      Y5, (AX)(R13*1)
	VMOVUPS      Y3, 32(AX)(R13*1)
	JMP          grad_full

grad_tail_masked:
	VMASKMOVPS Y4, Y9, 0(AX)
	VMASKMOVPS Y2, Y8, 32(AX)
	VMASKMOVPS Y5, Y9, (AX)(R13*1)
	VMASKMOVPS Y3, Y8, 32(AX)(R13*1)

grad_full:
	MOVQ         BX, AX
	MOVQ         BX, R10
	SUBQ         DI, R10
	SHRQ         $2, R10
	MOVQ         R10, X15
	VPBROADCASTD X15, Y15
	VPADDD       Y6, Y15, Y15
	MOVQ         R11, R10

grad_group:
	TESTQ   R10, R10
	JZ      grad_next_row
	VMOVUPS (SI), Y0
	VMOVDQU (DX), Y1
	POOL2X2GRAD
	VMOVUPS Y4, 0(AX)
	VMOVUPS Y2, 32(AX)
	VMOVUPS Y5, (AX)(R13*1)
	VMOVUPS Y3, 32(AX)(R13*1)
	ADDQ    $64, AX
	ADDQ    $32, SI
	ADDQ    $32, DX
	DECQ    R10
	JMP     grad_group

grad_next_row:
	LEAQ (SI)(R12*4), SI // past the partial group
	LEAQ (DX)(R12*4), DX
	LEAQ (BX)(R13*2), BX
	DECQ CX
	JMP  grad_row

grad_next_plane:
	ADDQ R14, DI
	DECQ R8
	JMP  grad_plane

grad_done:
	VZEROUPPER
	RET
