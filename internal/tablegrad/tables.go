package tablegrad

import (
	"fmt"
	"math"

	"github.com/goapprox/goapprox/lut"
)

// Tables holds a multiplier's gradient tables in the orientations the fast
// kernels read. Build it once per table and window with Prepare and share
// it: it is immutable and safe for concurrent use.
type Tables struct {
	// gx[a][b] is the slope along the activation at activation index a,
	// weight index b: the data gradient fixes the activation and gathers
	// over weights.
	gx [256][256]float32
	// gxT[b][a] is gx transposed: the convolution's data gradient lays a
	// channel's slopes out by activation code from whole rows of it (see
	// slopes).
	gxT [256][256]float32
	// gwT[b][a] is the slope along the weight at activation index a,
	// weight index b: the weight gradient fixes the weight and gathers
	// over activations.
	gwT [256][256]float32
	// gw[a][b] is the slope along the weight at activation index a,
	// weight index b: the fused kernels fix the activation code and take
	// both slopes of each product from the rows gx[a] and gw[a].
	gw [256][256]float32
}

// Prepare arranges g for the fast kernels. It copies the slopes, so later
// changes to g do not affect the result. A nil g is a programming error and
// panics.
func Prepare(g *lut.Gradients) *Tables {
	if g == nil {
		panic("tablegrad: Prepare needs gradient tables (lut.Gradient), got nil")
	}
	t := new(Tables)
	for a := 0; a < 256; a++ {
		copy(t.gx[a][:], g.X[a<<8:(a+1)<<8])
		copy(t.gw[a][:], g.W[a<<8:(a+1)<<8])
		for b := 0; b < 256; b++ {
			t.gwT[b][a] = g.W[a<<8|b]
			t.gxT[b][a] = g.X[a<<8|b]
		}
	}
	return t
}

// FromTable returns the prepared slopes of table t smoothed with window h
// (lut.Gradient, then Prepare): what a layer keeps per multiplier and
// window.
func FromTable(t *lut.Table, h lut.Window) (*Tables, error) {
	if t == nil {
		return nil, fmt.Errorf("tablegrad: FromTable needs a multiplier table, got nil")
	}
	g, err := lut.Gradient(t, h)
	if err != nil {
		return nil, err
	}
	return Prepare(g), nil
}

// Quant says how the codes stand for the values the layer differentiates:
// an activation code x stands for XScale·(x − XZero), a weight code w of
// output o for WScale[o]·(w − WZero[o]). The gradients are then those of
// the layer output y = sx·sw_o·(acc − zx·Σw − zw_o·Σx + K·zx·zw_o) with
// respect to the real activation and weight values, with the table's slopes
// in place of the exact product's derivatives:
//
//	dx = Σ dy·sw_o·(GX[x][w] − zw_o)      dw = sx·Σ dy·(GW[x][w] − zx)
//
// A nil *Quant means codes are values: scales 1, zero points 0.
type Quant struct {
	// XScale is the activation scale sx, XZero the activation zero point
	// zx: the code of real 0, which padded positions of a convolution read.
	XScale float32
	XZero  int32
	// WScale and WZero hold one entry for the whole tensor or one per
	// output (output feature of a linear layer, output channel of a
	// convolution).
	WScale []float32
	WZero  []int32
}

// params are a Quant resolved for a call: every scale and zero point as
// float64, per-output slices of length one or the output count.
type params struct {
	sx, zx float64
	pad    byte
	sw, zw []float64
}

// resolve checks q against out outputs and returns its parameters, reusing
// sw and zw's memory.
func resolve(q *Quant, out int, sw, zw []float64) (params, error) {
	p := params{sx: 1, sw: grow(sw, 1), zw: grow(zw, 1)}
	p.sw[0], p.zw[0] = 1, 0
	if q == nil {
		return p, nil
	}
	if !(q.XScale > 0) || math.IsInf(float64(q.XScale), 0) {
		return p, fmt.Errorf("tablegrad: activation scale %v must be positive and finite", q.XScale)
	}
	if q.XZero < -128 || q.XZero > 255 {
		return p, fmt.Errorf("tablegrad: activation zero point %d is not an 8-bit code (-128..255)", q.XZero)
	}
	if n := len(q.WScale); n != 1 && n != out {
		return p, fmt.Errorf("tablegrad: %d weight scales for %d outputs: give one, or one per output", n, out)
	}
	if n := len(q.WZero); n != 1 && n != out {
		return p, fmt.Errorf("tablegrad: %d weight zero points for %d outputs: give one, or one per output", n, out)
	}
	p.sx, p.zx, p.pad = float64(q.XScale), float64(q.XZero), byte(q.XZero)
	p.sw, p.zw = grow(p.sw, len(q.WScale)), grow(p.zw, len(q.WZero))
	for o, s := range q.WScale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return p, fmt.Errorf("tablegrad: weight scale %v of output %d must be positive and finite", s, o)
		}
		p.sw[o] = float64(s)
	}
	for o, z := range q.WZero {
		if z < -128 || z > 255 {
			return p, fmt.Errorf("tablegrad: weight zero point %d of output %d is not an 8-bit code (-128..255)", z, o)
		}
		p.zw[o] = float64(z)
	}
	return p, nil
}

// scale and zero return output o's weight scale and zero point.
func (p *params) scale(o int) float64 {
	if len(p.sw) == 1 {
		return p.sw[0]
	}
	return p.sw[o]
}

func (p *params) zero(o int) float64 {
	if len(p.zw) == 1 {
		return p.zw[0]
	}
	return p.zw[o]
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}
