// The arguments of copyRowsAVX (kernel_amd64.s) and copyRowsAVX2
// (kernel_avx2_amd64.s): DI dst and SI src, and from the copyShape R8
// dstPitch, R11 dstImage, R9 srcPitch, R10 srcImage, R12 rows, DX width
// and R13 images.
#define COPY_SHAPE_ARGS \
	MOVQ dst+0(FP), DI    \
	MOVQ src+8(FP), SI    \
	MOVQ shape+16(FP), AX \
	MOVQ 0(AX), R8        \
	MOVQ 8(AX), R11       \
	MOVQ 16(AX), R9       \
	MOVQ 24(AX), R10      \
	MOVQ 32(AX), R12      \
	MOVQ 40(AX), DX       \
	MOVQ 48(AX), R13
