// The 3×4 dot-product tile shared by sdot3x4 (sgemm_amd64.s) and
// sdot3x4Ptrs (wide_amd64.s): c[i*4+j] = Σ_l a_i[l]·b_j[l] for i < 3, j <
// 4, eight steps at a time with FMA into one accumulator per (i, j), the
// accumulators folded in a fixed order at the end, so both kernels sum
// alike. Registers: SI, R10, R11 the rows a_0..a_2; DI, R12, R13, R14 the
// rows b_0..b_3; AX the byte offset of the step; DX c; Y0..Y11 the
// accumulators (Y(4i+j)); Y12..Y15 scratch.

// DOT3X4_ZERO clears the accumulators.
#define DOT3X4_ZERO \
	VXORPS Y0, Y0, Y0    \
	VXORPS Y1, Y1, Y1    \
	VXORPS Y2, Y2, Y2    \
	VXORPS Y3, Y3, Y3    \
	VXORPS Y4, Y4, Y4    \
	VXORPS Y5, Y5, Y5    \
	VXORPS Y6, Y6, Y6    \
	VXORPS Y7, Y7, Y7    \
	VXORPS Y8, Y8, Y8    \
	VXORPS Y9, Y9, Y9    \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11

// DOT3X4_STEP adds the products of eight steps from AX on; the caller
// advances AX by 32.
#define DOT3X4_STEP \
	VMOVUPS     (SI)(AX*1), Y12  \
	VMOVUPS     (R10)(AX*1), Y13 \
	VMOVUPS     (R11)(AX*1), Y14 \
	VMOVUPS     (DI)(AX*1), Y15  \
	VFMADD231PS Y15, Y12, Y0     \
	VFMADD231PS Y15, Y13, Y4     \
	VFMADD231PS Y15, Y14, Y8     \
	VMOVUPS     (R12)(AX*1), Y15 \
	VFMADD231PS Y15, Y12, Y1     \
	VFMADD231PS Y15, Y13, Y5     \
	VFMADD231PS Y15, Y14, Y9     \
	VMOVUPS     (R13)(AX*1), Y15 \
	VFMADD231PS Y15, Y12, Y2     \
	VFMADD231PS Y15, Y13, Y6     \
	VFMADD231PS Y15, Y14, Y10    \
	VMOVUPS     (R14)(AX*1), Y15 \
	VFMADD231PS Y15, Y12, Y3     \
	VFMADD231PS Y15, Y13, Y7     \
	VFMADD231PS Y15, Y14, Y11   

// DOT3X4_STORE folds each row's four accumulators and stores its four
// sums to c: Y(4i)..Y(4i+3) -> c[4i..4i+3].
#define DOT3X4_STORE \
	VHADDPS      Y1, Y0, Y0    \
	VHADDPS      Y3, Y2, Y2    \
	VHADDPS      Y2, Y0, Y0    \
	VEXTRACTF128 $1, Y0, X1    \
	VADDPS       X1, X0, X0    \
	VMOVUPS      X0, (DX)      \
	VHADDPS      Y5, Y4, Y4    \
	VHADDPS      Y7, Y6, Y6    \
	VHADDPS      Y6, Y4, Y4    \
	VEXTRACTF128 $1, Y4, X5    \
	VADDPS       X5, X4, X4    \
	VMOVUPS      X4, 16(DX)    \
	VHADDPS      Y9, Y8, Y8    \
	VHADDPS      Y11, Y10, Y10 \
	VHADDPS      Y10, Y8, Y8   \
	VEXTRACTF128 $1, Y8, X9    \
	VADDPS       X9, X8, X8    \
	VMOVUPS      X8, 32(DX)   
