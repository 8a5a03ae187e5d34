//go:build amd64 && !purego

package train

import "golang.org/x/sys/cpu"

// useAVX selects adamAVX (adam_amd64.s) for the Adam update.
var useAVX = cpu.X86.HasAVX

// adamAVX runs the Adam update of paramUpdate.Run on n elements (a
// multiple of 4) with the constants in a, leaving Σ(w-w) per lane in
// a.check.
//
//go:noescape
func adamAVX(w, grad, m, v *float32, n int, a *adamArgs)
