//go:build amd64 && !purego

package ops

import "golang.org/x/sys/cpu"

// quantize8 is the AVX2 quantization loop (see quant_amd64.s).
//
//go:noescape
func quantize8(src *float32, n int, inv, scale, lo, hi float32, zp int32, bytes *byte, fq *float32, mask *bool)

func init() {
	if cpu.X86.HasAVX2 {
		quantizeVector = func(r *codeRange, src []float32, bytes []byte, fq []float32, mask []bool) int {
			n := len(src) &^ 7
			if n == 0 {
				return 0
			}
			var pb *byte
			var pf *float32
			var pm *bool
			if bytes != nil {
				pb = &bytes[:n][0]
			}
			if fq != nil {
				pf = &fq[:n][0]
			}
			if mask != nil {
				pm = &mask[:n][0]
			}
			quantize8(&src[0], n, r.inv, r.scale, float32(r.lo), float32(r.hi), r.zp, pb, pf, pm)
			return n
		}
	}
}
