package ops

import "github.com/goapprox/goapprox/internal/asm/f32"

// The quantization and rescale loops run on internal/asm/f32, whose
// assembly (where the CPU and the switch of internal/asm allow) and
// pure-Go twins give the same bits as codeRange.offset and rescale.
func init() {
	quantizeVector = func(r *codeRange, src []float32, bytes []byte, fq []float32, mask []bool) (int, bool) {
		return len(src), f32.Quantize(src, r.inv, r.scale, float32(r.lo), float32(r.hi), r.zp, bytes, fq, mask)
	}
	rescaleVector = func(y []float32, acc []int32, corr int64, scale float64) int {
		f32.Rescale(y, acc, corr, scale)
		return len(y)
	}
}
