//go:build !amd64 || purego

package train

// Without amd64 assembly the update is the plain Go loop.
const useAVX = false

func adamAVX(w, grad, m, v *float32, n int, a *adamArgs) { panic("train: no AVX kernel") }
