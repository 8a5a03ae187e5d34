package kernel

import "github.com/goapprox/goapprox/ops/geom"

// GEMMRef is the reference approximate matrix product:
//
//	acc[i*n+j] = Σ_l table[x[i*k+l]<<8 | w[j*k+l]]   for i < m, j < n
//
// x is m×k (activations, row-major), w is n×k (weights, row-major, one row
// per output), acc is m×n. Sums wrap in int32.
func GEMMRef(acc []int32, x, w []byte, m, n, k int, table *[65536]int32) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for l := 0; l < k; l++ {
				s += table[int(x[i*k+l])<<8|int(w[j*k+l])]
			}
			acc[i*n+j] = s
		}
	}
}

// Conv2dRef is the reference approximate grouped convolution. x holds the
// N×C×H×W activation codes, w the O×(C/G)×KH×KW weight codes; acc receives
// the N×O×OH×OW sums of table[x][w]. Positions outside the input read the
// code pad (the code of real 0, the activation zero point).
func Conv2dRef(acc []int32, x, w []byte, pad byte, g geom.Conv, table *[65536]int32) {
	oh, ow := g.OutH(), g.OutW()
	cg, og := g.InPerGroup(), g.OutPerGroup()
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			grp := o / og
			for y := 0; y < oh; y++ {
				for xo := 0; xo < ow; xo++ {
					var s int32
					for c := 0; c < cg; c++ {
						ci := grp*cg + c
						for ky := 0; ky < g.KH; ky++ {
							iy := y*g.StrideH - g.PadH + ky*g.DilH
							for kx := 0; kx < g.KW; kx++ {
								ix := xo*g.StrideW - g.PadW + kx*g.DilW
								a := pad
								if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
									a = x[((n*g.C+ci)*g.H+iy)*g.W+ix]
								}
								b := w[((o*cg+c)*g.KH+ky)*g.KW+kx]
								s += table[int(a)<<8|int(b)]
							}
						}
					}
					acc[((n*g.O+o)*oh+y)*ow+xo] = s
				}
			}
		}
	}
}
