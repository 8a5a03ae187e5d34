package kernel

import (
	"fmt"
	"sync"

	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/geom"
)

// Rescale is how Conv2dRescaled turns sums into floats: output channel
// o's sum s becomes float32(float64(int64(s)+Corr[o]) * Scale[o]): the
// correction added in int64, the result converted to float64 (exactly
// below 2^53 in magnitude), multiplied, rounded to float32. Corr and Scale
// hold one entry per output channel.
type Rescale struct {
	Corr  []int64
	Scale []float64
}

// rescaleExactLimit bounds the corrections the pre-gathered store takes:
// it adds them to an int32 sum in float64, which gives Rescale's bits
// while the operands and the sum are integers below 2^53 in magnitude (a
// conservative bound); larger ones go through the int64 path.
const rescaleExactLimit = 1 << 52

// Conv2dRescaled writes to y (N×O×OutH×OutW) the sums Conv2d computes,
// rescaled per output channel by r: bit for bit what Conv2d followed by
// that rescale gives. On the pre-gathered path the sums are converted as
// they are written, so no int32 output is stored and read back; the other
// paths compute Conv2d's sums into a pooled buffer and rescale it.
func Conv2dRescaled(y []float32, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int, r Rescale) error {
	return convRescaledWith(current(), convAuto, y, x, w, pad, g, p, threads, r)
}

func convRescaledWith(im *impl, mode convMode, y []float32, x, w []byte, pad byte, g geom.Conv, p *Prepared, threads int, r Rescale) error {
	if err := checkConvInputs(x, w, g, p); err != nil {
		return err
	}
	switch {
	case len(y) < g.YLen():
		return fmt.Errorf("kernel: conv2d output holds %d values, need N*O*OutH*OutW = %d", len(y), g.YLen())
	case len(r.Corr) < g.O || len(r.Scale) < g.O:
		return fmt.Errorf("kernel: conv2d rescale has %d corrections and %d scales, need one per output channel (%d)", len(r.Corr), len(r.Scale), g.O)
	}
	exact := true
	for _, c := range r.Corr[:g.O] {
		exact = exact && c < rescaleExactLimit && c > -rescaleExactLimit
	}
	if exact && choosesPregather(im.forTable(p), mode, g, p, threads) {
		convPregatheredTo(im.forTable(p), nil, y, r, x, w, pad, g, p, threads)
		return nil
	}
	buf := rescaleBufs.Get().(*rescaleBuf)
	defer rescaleBufs.Put(buf)
	buf.acc = growInt32(buf.acc, g.YLen())
	if err := convWith(im, mode, buf.acc, x, w, pad, g, p, threads); err != nil {
		return err
	}
	buf.y, buf.r, buf.g = y, r, g
	opos := g.OutH() * g.OutW()
	parallel.Run(g.N*g.O, resolveThreads(threads), max(1, minParallelWork/max(opos, 1)), buf)
	buf.y, buf.r = nil, Rescale{}
	return nil
}

// rescaleBuf is the int32 sums of Conv2dRescaled off the pre-gathered path
// and the loop that rescales them plane by plane.
type rescaleBuf struct {
	acc []int32
	y   []float32
	r   Rescale
	g   geom.Conv
}

var rescaleBufs = sync.Pool{New: func() any { return new(rescaleBuf) }}

// Run rescales the output planes [lo, hi) (image-major).
func (b *rescaleBuf) Run(_, lo, hi int) {
	opos := b.g.OutH() * b.g.OutW()
	for pl := lo; pl < hi; pl++ {
		o := pl % b.g.O
		at := pl * opos
		f32.Rescale(b.y[at:at+opos], b.acc[at:at+opos], b.r.Corr[o], b.r.Scale[o])
	}
}

// choosesPregather says whether a convolution in mode runs on the
// pre-gathered path: convWith's plan.
func choosesPregather(im *impl, mode convMode, g geom.Conv, p *Prepared, threads int) bool {
	j := convJobs.Get().(*convJob)
	j.init(im, nil, nil, nil, 0, g, p)
	pregather := j.plan(mode, p, threads)
	*j = convJob{direct2: j.direct2}
	convJobs.Put(j)
	return pregather
}
