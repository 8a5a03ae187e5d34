package tablegrad

// dotDense returns Σ_t d[t]·m[t] over t < len(d), in the order of dot
// (eight lanes, the tail to lanes 0, 1, ..., the lanes folded as
// (((0+4)+(2+6))+((1+5)+(3+7))), each product rounded before it is added):
// with m[t] = row[idx[t]] it returns dot(d, idx, row) bit for bit. Where
// the CPU has AVX2 the whole blocks of eight run as one vector multiply and
// add each, which gives the same bits.
func dotDense(d, m []float32) float32 {
	n := len(d)
	m = m[:n]
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	t := 0
	if useVector && n >= 8 {
		var acc [8]float32
		dotDenseBlocks(&d[0], &m[0], n/8, &acc)
		a0, a1, a2, a3, a4, a5, a6, a7 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
		t = n &^ 7
	}
	for ; t+8 <= n; t += 8 {
		dd := d[t : t+8 : t+8]
		mm := m[t : t+8 : t+8]
		a0 += float32(dd[0] * mm[0])
		a1 += float32(dd[1] * mm[1])
		a2 += float32(dd[2] * mm[2])
		a3 += float32(dd[3] * mm[3])
		a4 += float32(dd[4] * mm[4])
		a5 += float32(dd[5] * mm[5])
		a6 += float32(dd[6] * mm[6])
		a7 += float32(dd[7] * mm[7])
	}
	if t < n {
		dd, mm := d[t:], m[t:]
		a0 += float32(dd[0] * mm[0])
		if len(dd) > 1 {
			a1 += float32(dd[1] * mm[1])
		}
		if len(dd) > 2 {
			a2 += float32(dd[2] * mm[2])
		}
		if len(dd) > 3 {
			a3 += float32(dd[3] * mm[3])
		}
		if len(dd) > 4 {
			a4 += float32(dd[4] * mm[4])
		}
		if len(dd) > 5 {
			a5 += float32(dd[5] * mm[5])
		}
		if len(dd) > 6 {
			a6 += float32(dd[6] * mm[6])
		}
	}
	return ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))
}
