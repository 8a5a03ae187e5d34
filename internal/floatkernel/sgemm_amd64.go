//go:build amd64 && !purego

package floatkernel

// sgemm6x16 and sgemm6x16Set are the AVX2/FMA micro-kernels (see
// sgemm_amd64.s).
//
//go:noescape
func sgemm6x16(k int, a, b, c *float32, ldc int)

//go:noescape
func sgemm6x16Set(k int, a, b, c *float32, ldc int)

// sdot3x4 is the AVX2/FMA dot-product kernel (see sgemm_amd64.s).
//
//go:noescape
func sdot3x4(k int, a *float32, lda int, b *float32, ldb int, c *float32)

// The kernels run only where asm.AVX2FMA allows (see packed).
func init() {
	microKernel, microKernelSet = sgemm6x16, sgemm6x16Set
	dotKernel = sdot3x4
}
