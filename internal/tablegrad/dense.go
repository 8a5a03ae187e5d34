package tablegrad

// seg is one run of terms of a dense dot product: where it starts in each
// operand.
type seg struct{ a, b int32 }

// denseSegs returns Σ over the segments s of Σ_{t<width} a[s.a+t]·b[s.b+t]
// in one fixed order: eight lanes; first the whole blocks of eight of every
// segment, in segment order (term t of a block to lane t%8), then the
// remaining width%8 terms of every segment, in segment order (to lanes 0,
// 1, ...); the lanes folded as in dot, each product rounded before it is
// added. An input position's gradient is one call: its kernel rows' runs
// (or its taps) are the segments. Where the CPU has AVX2 the blocks run
// as one vector multiply and add each, with the same bits.
func denseSegs(a, b []float32, segs []seg, width int) float32 {
	if len(segs) == 0 || width == 0 {
		return 0
	}
	for _, s := range segs {
		_ = a[int(s.a)+width-1]
		_ = b[int(s.b)+width-1]
	}
	var acc [8]float32
	blocks := width / 8
	if blocks > 0 {
		if useVector() {
			denseSegsBlocks(&a[0], &b[0], &segs[0], len(segs), blocks, &acc)
		} else {
			for _, s := range segs {
				x := a[s.a:][:blocks*8]
				y := b[s.b:][:blocks*8]
				for t := 0; t < len(x); t += 8 {
					xx, yy := x[t:t+8:t+8], y[t:t+8:t+8]
					acc[0] += float32(xx[0] * yy[0])
					acc[1] += float32(xx[1] * yy[1])
					acc[2] += float32(xx[2] * yy[2])
					acc[3] += float32(xx[3] * yy[3])
					acc[4] += float32(xx[4] * yy[4])
					acc[5] += float32(xx[5] * yy[5])
					acc[6] += float32(xx[6] * yy[6])
					acc[7] += float32(xx[7] * yy[7])
				}
			}
		}
	}
	if tail := width % 8; tail > 0 {
		for _, s := range segs {
			x := a[int(s.a)+blocks*8:][:tail]
			y := b[int(s.b)+blocks*8:][:tail]
			for u := range x {
				acc[u] += float32(x[u] * y[u])
			}
		}
	}
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

// spanDots sets out[p], for each input position p of a span along a row
// whose taps are the same segments, to denseSegs(m[codes[p]*rowWidth:],
// d[p*step:], segs, runWidth): the slopes row of each position's code
// against the output gradient one step further on per position. Where the
// CPU has AVX2 and runWidth is a multiple of eight, the whole span is one
// call that folds each position's lanes as denseSegs does, with the same
// bits.
func spanDots(m []float32, rowWidth int, codes []byte, d []float32, step int, segs []seg, runWidth int, out []float32) {
	out = out[:len(codes)]
	if len(codes) == 0 {
		return
	}
	if useVector() && runWidth%8 == 0 && runWidth > 0 && len(segs) > 0 {
		_ = m[256*rowWidth-1]
		last := (len(codes) - 1) * step
		for _, s := range segs {
			_ = m[int(s.a)+runWidth-1]
			if int(s.a)+runWidth > rowWidth {
				panic("tablegrad: segment beyond its slopes row")
			}
			_ = d[last+int(s.b)+runWidth-1]
		}
		spanDotsBlocks(&m[0], rowWidth, &codes[0], &d[0], step, &segs[0], len(segs), runWidth/8, len(codes), &out[0])
		return
	}
	for p, a := range codes {
		out[p] = denseSegs(m[int(a)*rowWidth:][:rowWidth], d[p*step:], segs, runWidth)
	}
}
