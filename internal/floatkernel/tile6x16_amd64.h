// The 6×16 FMA register tile shared by the micro-kernels of this package
// (sgemm_amd64.s, wide_amd64.s, winograd_amd64.s): rows i < 6 of the tile
// in Y(2i) (columns 0-7) and Y(2i+1) (columns 8-15).

// TILE6X16_ZERO clears the tile.
#define TILE6X16_ZERO \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// TILE6X16_FMA adds a·b to the tile for one inner step: b's sixteen floats
// loaded in Y12 and Y13, a's six broadcast from 0(SI) to 20(SI) through
// Y14 and Y15.
#define TILE6X16_FMA \
	VBROADCASTSS (SI), Y14; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VBROADCASTSS 4(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y2; \
	VFMADD231PS  Y13, Y15, Y3; \
	VBROADCASTSS 8(SI), Y14; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VBROADCASTSS 12(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y6; \
	VFMADD231PS  Y13, Y15, Y7; \
	VBROADCASTSS 16(SI), Y14; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VBROADCASTSS 20(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y10; \
	VFMADD231PS  Y13, Y15, Y11

// TILE6X16_STORE writes the tile to the rows of C at DX, R8 bytes apart,
// leaving DX at its last row.
#define TILE6X16_STORE \
	VMOVUPS Y0, (DX); \
	VMOVUPS Y1, 32(DX); \
	ADDQ    R8, DX; \
	VMOVUPS Y2, (DX); \
	VMOVUPS Y3, 32(DX); \
	ADDQ    R8, DX; \
	VMOVUPS Y4, (DX); \
	VMOVUPS Y5, 32(DX); \
	ADDQ    R8, DX; \
	VMOVUPS Y6, (DX); \
	VMOVUPS Y7, 32(DX); \
	ADDQ    R8, DX; \
	VMOVUPS Y8, (DX); \
	VMOVUPS Y9, 32(DX); \
	ADDQ    R8, DX; \
	VMOVUPS Y10, (DX); \
	VMOVUPS Y11, 32(DX)
