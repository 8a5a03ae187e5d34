package tablegrad

import (
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
)

// The references below are the specification: every slope is looked up
// in the table's own index convention and every sum is taken in float64
// over the definition, one output element at a time. They check their
// arguments like the fast kernels.

// GEMMDataRef is the reference for GEMMData:
//
//	dx[i*k+l] = Σ_j dy[i*n+j]·sw_j·(g.X[x[i*k+l]<<8 | w[j*k+l]] − zw_j)
func GEMMDataRef(dx, dy []float32, x, w []byte, m, n, k int, g *lut.Gradients, q *Quant) error {
	if err := checkGEMM("GEMMDataRef", dx, m*k, "m*k", dy, x, w, m, n, k, g != nil); err != nil {
		return err
	}
	p, err := resolve(q, n, nil, nil)
	if err != nil {
		return err
	}
	for i := 0; i < m; i++ {
		for l := 0; l < k; l++ {
			var s float64
			for j := 0; j < n; j++ {
				slope := float64(g.X[int(x[i*k+l])<<8|int(w[j*k+l])])
				s += float64(dy[i*n+j]) * p.scale(j) * (slope - p.zero(j))
			}
			dx[i*k+l] = float32(s)
		}
	}
	return nil
}

// GEMMWeightRef is the reference for GEMMWeight:
//
//	dw[j*k+l] = sx·Σ_i dy[i*n+j]·(g.W[x[i*k+l]<<8 | w[j*k+l]] − zx)
//
// stored at dw[l*n+j] instead when inOut is set.
func GEMMWeightRef(dw, dy []float32, x, w []byte, m, n, k int, inOut bool, g *lut.Gradients, q *Quant) error {
	if err := checkGEMM("GEMMWeightRef", dw, n*k, "n*k", dy, x, w, m, n, k, g != nil); err != nil {
		return err
	}
	p, err := resolve(q, n, nil, nil)
	if err != nil {
		return err
	}
	for j := 0; j < n; j++ {
		for l := 0; l < k; l++ {
			var s float64
			for i := 0; i < m; i++ {
				slope := float64(g.W[int(x[i*k+l])<<8|int(w[j*k+l])])
				s += float64(dy[i*n+j]) * (slope - p.zx)
			}
			at := j*k + l
			if inOut {
				at = l*n + j
			}
			dw[at] = float32(p.sx * s)
		}
	}
	return nil
}

// Conv2dDataRef is the reference for Conv2dData: for every input position
// p of channel c, the sum over every output (o, position) whose receptive
// field reads p through weight tap (c', ky, kx) of
//
//	dy·sw_o·(g.X[x_p<<8 | w[o][c'][ky][kx]] − zw_o)
func Conv2dDataRef(dx, dy []float32, x, w []byte, geom geom.Conv, g *lut.Gradients, q *Quant) error {
	if err := checkConv("Conv2dDataRef", dx, geom.XLen(), "N*C*H*W", dy, x, w, geom, g != nil); err != nil {
		return err
	}
	p, err := resolve(q, geom.O, nil, nil)
	if err != nil {
		return err
	}
	oh, ow := geom.OutH(), geom.OutW()
	cg, og := geom.InPerGroup(), geom.OutPerGroup()
	for n := 0; n < geom.N; n++ {
		for ci := 0; ci < geom.C; ci++ {
			grp, c := ci/cg, ci%cg
			for iy := 0; iy < geom.H; iy++ {
				for ix := 0; ix < geom.W; ix++ {
					a := int(x[((n*geom.C+ci)*geom.H+iy)*geom.W+ix])
					var s float64
					for o := grp * og; o < (grp+1)*og; o++ {
						for oy := 0; oy < oh; oy++ {
							for ox := 0; ox < ow; ox++ {
								for ky := 0; ky < geom.KH; ky++ {
									for kx := 0; kx < geom.KW; kx++ {
										if oy*geom.StrideH-geom.PadH+ky*geom.DilH != iy || ox*geom.StrideW-geom.PadW+kx*geom.DilW != ix {
											continue
										}
										b := int(w[((o*cg+c)*geom.KH+ky)*geom.KW+kx])
										d := float64(dy[((n*geom.O+o)*oh+oy)*ow+ox])
										s += d * p.scale(o) * (float64(g.X[a<<8|b]) - p.zero(o))
									}
								}
							}
						}
					}
					dx[((n*geom.C+ci)*geom.H+iy)*geom.W+ix] = float32(s)
				}
			}
		}
	}
	return nil
}

// Conv2dWeightRef is the reference for Conv2dWeight: for weight tap (c,
// ky, kx) of output channel o, the sum over every image and output
// position of
//
//	sx·dy·(g.W[a<<8 | w[o][c][ky][kx]] − zx)
//
// where a is the activation code the tap reads there, the zero point's
// code outside the input.
func Conv2dWeightRef(dw, dy []float32, x, w []byte, geom geom.Conv, g *lut.Gradients, q *Quant) error {
	if err := checkConv("Conv2dWeightRef", dw, geom.WLen(), "O*(C/Groups)*KH*KW", dy, x, w, geom, g != nil); err != nil {
		return err
	}
	p, err := resolve(q, geom.O, nil, nil)
	if err != nil {
		return err
	}
	oh, ow := geom.OutH(), geom.OutW()
	cg, og := geom.InPerGroup(), geom.OutPerGroup()
	for o := 0; o < geom.O; o++ {
		grp := o / og
		for c := 0; c < cg; c++ {
			ci := grp*cg + c
			for ky := 0; ky < geom.KH; ky++ {
				for kx := 0; kx < geom.KW; kx++ {
					at := ((o*cg+c)*geom.KH+ky)*geom.KW + kx
					b := int(w[at])
					var s float64
					for n := 0; n < geom.N; n++ {
						for oy := 0; oy < oh; oy++ {
							for ox := 0; ox < ow; ox++ {
								iy := oy*geom.StrideH - geom.PadH + ky*geom.DilH
								ix := ox*geom.StrideW - geom.PadW + kx*geom.DilW
								a := int(p.pad)
								if iy >= 0 && iy < geom.H && ix >= 0 && ix < geom.W {
									a = int(x[((n*geom.C+ci)*geom.H+iy)*geom.W+ix])
								}
								d := float64(dy[((n*geom.O+o)*oh+oy)*ow+ox])
								s += d * (float64(g.W[a<<8|b]) - p.zx)
							}
						}
					}
					dw[at] = float32(p.sx * s)
				}
			}
		}
	}
	return nil
}
