//go:build amd64 && !purego

package floatkernel

// winoInput8 and winoOutput8 are the AVX2 transforms of the Winograd path,
// winoGemm its FMA products (see winograd_amd64.s).
//
//go:noescape
func winoInput8(groups, rows int, in *float32, half, pitch int, v *float32, vRow, vs int)

//go:noescape
func winoOutput8(groups, rows int, m *float32, mRow, ms int, out *float32, pitch int)

//go:noescape
func winoGemm(k int, a *float32, tiles int, b *float32, bp int, cols int, c *float32, ldc int)

//go:noescape
func winoGrad8(groups, rows int, in *float32, half, pitch int, v *float32, vRow, vs int)

//go:noescape
func winoDotAdd(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

// The kernels run only where asm.AVX2FMA allows (see winogradGeom).
func init() {
	winoInput, winoOutput, winoProducts, winoGrad, winoDot = winoInput8, winoOutput8, winoGemm, winoGrad8, winoDotAdd
	winoInput4, winoOutput4, winoGrad4 = winoInput4x8, winoOutput4x8, winoGrad4x8
}

//go:noescape
func winoInput4x8(groups, rows int, in *float32, quarter, pitch int, v *float32, vRow, vs int)

//go:noescape
func winoOutput4x8(groups, rows int, m *float32, mRow, ms int, out *float32, pitch int)

//go:noescape
func winoGrad4x8(groups, rows int, in *float32, quarter, pitch int, v *float32, vRow, vs int)
