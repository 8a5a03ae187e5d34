// Macros of the AVX2 row movers (rows_amd64.s), shared with the fused
// depthwise weight gradient (depthwise_wgrad_amd64.s). Conventions as in
// rows_amd64.s: CX (I) is a block's index in the row, R12 a scratch.

// COPY: AX dst, BX src.
#define COPY8(I) \
	VMOVUPS (BX)(I*4), Y0 \
	VMOVUPS Y0, (AX)(I*4)
#define COPY4(I) \
	VMOVUPS (BX)(I*4), X0 \
	VMOVUPS X0, (AX)(I*4)
#define COPY1(I) \
	MOVL (BX)(I*4), R12 \
	MOVL R12, (AX)(I*4)

// MASK: AX dst, BX src, DX mask.
#define MASK8(I) \
	VPMOVZXBD (DX)(I*1), Y1    \
	VPSUBD    Y1, Y15, Y1      \
	VANDPS    (BX)(I*4), Y1, Y0 \
	VMOVUPS   Y0, (AX)(I*4)
#define MASK4(I) \
	VPMOVZXBD (DX)(I*1), X1    \
	VPSUBD    X1, X15, X1      \
	VANDPS    (BX)(I*4), X1, X0 \
	VMOVUPS   X0, (AX)(I*4)
#define MASK1(I) \
	MOVL    (BX)(I*4), R12 \
	MOVBLZX (DX)(I*1), R13 \
	NEGL    R13            \
	ANDL    R13, R12       \
	MOVL    R12, (AX)(I*4)

// SPLIT: AX even, BX odd, DX src; I counts pairs. Per 128-bit lane a
// shuffle picks elements 0, 2 (or 1, 3) of two source vectors, and with
// eight lanes a permutation of 64-bit pairs puts the lanes' halves in
// order.
#define DEINTERLEAVE8(A, B, E, O) \
	VSHUFPS $0x88, B, A, E \
	VSHUFPS $0xDD, B, A, O \
	VPERMPD $0xD8, E, E    \
	VPERMPD $0xD8, O, O
#define SPLIT8(I) \
	VMOVUPS (DX)(I*8), Y0          \
	VMOVUPS 32(DX)(I*8), Y1        \
	DEINTERLEAVE8(Y0, Y1, Y2, Y3)  \
	VMOVUPS Y2, (AX)(I*4)          \
	VMOVUPS Y3, (BX)(I*4)
#define SPLIT4(I) \
	VMOVUPS (DX)(I*8), X0          \
	VMOVUPS 16(DX)(I*8), X1        \
	VSHUFPS $0x88, X1, X0, X2      \
	VSHUFPS $0xDD, X1, X0, X3      \
	VMOVUPS X2, (AX)(I*4)          \
	VMOVUPS X3, (BX)(I*4)
#define SPLIT1(I) \
	MOVL (DX)(I*8), R12  \
	MOVL R12, (AX)(I*4)  \
	MOVL 4(DX)(I*8), R12 \
	MOVL R12, (BX)(I*4)
#define SPLITLAST(I) \
	MOVL (DX)(I*8), R12 \
	MOVL R12, (AX)(I*4)

// MERGE: AX dst, BX even, DX odd, R8 mask (MERGEM); I counts pairs.
// Unpacking pairs element 0 of even with 0 of odd and so on within each
// 128-bit lane; with eight lanes a lane permutation puts them in order.
#define INTERLEAVE8(I) \
	VMOVUPS    (BX)(I*4), Y0     \
	VMOVUPS    (DX)(I*4), Y1     \
	VUNPCKLPS  Y1, Y0, Y2        \
	VUNPCKHPS  Y1, Y0, Y3        \
	VPERM2F128 $0x20, Y3, Y2, Y4 \
	VPERM2F128 $0x31, Y3, Y2, Y5
#define INTERLEAVE4(I) \
	VMOVUPS   (BX)(I*4), X0 \
	VMOVUPS   (DX)(I*4), X1 \
	VUNPCKLPS X1, X0, X4    \
	VUNPCKHPS X1, X0, X5
#define MERGE8(I) \
	INTERLEAVE8(I)         \
	VMOVUPS Y4, (AX)(I*8)  \
	VMOVUPS Y5, 32(AX)(I*8)
#define MERGE4(I) \
	INTERLEAVE4(I)         \
	VMOVUPS X4, (AX)(I*8)  \
	VMOVUPS X5, 16(AX)(I*8)
#define MERGE1(I) \
	MOVL (BX)(I*4), R12   \
	MOVL R12, (AX)(I*8)   \
	MOVL (DX)(I*4), R12   \
	MOVL R12, 4(AX)(I*8)
#define MERGELAST(I) \
	MOVL (BX)(I*4), R12 \
	MOVL R12, (AX)(I*8)
#define MERGEM8(I) \
	INTERLEAVE8(I)            \
	VPMOVZXBD (R8)(I*2), Y6   \
	VPSUBD    Y6, Y15, Y6     \
	VANDPS    Y6, Y4, Y4      \
	VPMOVZXBD 8(R8)(I*2), Y7  \
	VPSUBD    Y7, Y15, Y7     \
	VANDPS    Y7, Y5, Y5      \
	VMOVUPS   Y4, (AX)(I*8)   \
	VMOVUPS   Y5, 32(AX)(I*8)
#define MERGEM4(I) \
	INTERLEAVE4(I)            \
	VPMOVZXBD (R8)(I*2), X6   \
	VPSUBD    X6, X15, X6     \
	VANDPS    X6, X4, X4      \
	VPMOVZXBD 4(R8)(I*2), X7  \
	VPSUBD    X7, X15, X7     \
	VANDPS    X7, X5, X5      \
	VMOVUPS   X4, (AX)(I*8)   \
	VMOVUPS   X5, 16(AX)(I*8)
#define MERGEM1(I) \
	MOVL    (BX)(I*4), R12    \
	MOVBLZX (R8)(I*2), R13    \
	NEGL    R13               \
	ANDL    R13, R12          \
	MOVL    R12, (AX)(I*8)    \
	MOVL    (DX)(I*4), R12    \
	MOVBLZX 1(R8)(I*2), R13   \
	NEGL    R13               \
	ANDL    R13, R12          \
	MOVL    R12, 4(AX)(I*8)
#define MERGEMLAST(I) \
	MOVL    (BX)(I*4), R12 \
	MOVBLZX (R8)(I*2), R13 \
	NEGL    R13            \
	ANDL    R13, R12       \
	MOVL    R12, (AX)(I*8)

// Dequantization: float32(int32(b ^ flip) - off) · scale, with flip in
// R13 and Y13 (all lanes), off in R14 and Y14, scale in X12 and Y12.
#define DEQ8(src, Y) \
	VPMOVZXBD src, Y    \
	VPXOR     Y13, Y, Y \
	VPSUBD    Y14, Y, Y \
	VCVTDQ2PS Y, Y      \
	VMULPS    Y12, Y, Y
#define DEQ4(src, X) \
	VPMOVZXBD src, X    \
	VPXOR     X13, X, X \
	VPSUBD    X14, X, X \
	VCVTDQ2PS X, X      \
	VMULPS    X12, X, X
#define DEQ1(src, dst) \
	MOVBLZX    src, R12    \
	XORL       R13, R12    \
	SUBL       R14, R12    \
	VCVTSI2SSL R12, X0, X0 \
	VMULSS     X12, X0, X0 \
	VMOVSS     X0, dst
#define LOADCODES(q) \
	MOVQ         q, R12     \
	VPBROADCASTD 0(R12), Y13 \
	VPBROADCASTD 4(R12), Y14 \
	VBROADCASTSS 8(R12), Y12 \
	MOVL         0(R12), R13 \
	MOVL         4(R12), R14

// DEQUANT: AX dst, BX src bytes.
#define DQ8(I) \
	DEQ8((BX)(I*1), Y0) \
	VMOVUPS Y0, (AX)(I*4)
#define DQ4(I) \
	DEQ4((BX)(I*1), X0) \
	VMOVUPS X0, (AX)(I*4)
#define DQ1(I) \
	DEQ1((BX)(I*1), (AX)(I*4))

// SPLITCODES: AX even, BX odd, DX src bytes; I counts pairs.
#define SC8(I) \
	DEQ8((DX)(I*2), Y0)           \
	DEQ8(8(DX)(I*2), Y1)          \
	DEINTERLEAVE8(Y0, Y1, Y2, Y3) \
	VMOVUPS Y2, (AX)(I*4)         \
	VMOVUPS Y3, (BX)(I*4)
#define SC4(I) \
	DEQ4((DX)(I*2), X0)       \
	DEQ4(4(DX)(I*2), X1)      \
	VSHUFPS $0x88, X1, X0, X2 \
	VSHUFPS $0xDD, X1, X0, X3 \
	VMOVUPS X2, (AX)(I*4)     \
	VMOVUPS X3, (BX)(I*4)
#define SC1(I) \
	DEQ1((DX)(I*2), (AX)(I*4)) \
	DEQ1(1(DX)(I*2), (BX)(I*4))
#define SCLAST(I) \
	DEQ1((DX)(I*2), (AX)(I*4))
