package tablegrad

// Every fast kernel is built on one gather-dot: the sum over t of
// d[t]·row[idx[t]], where row is one 256-entry row of a gradient table
// chosen by the code that stays fixed along the sum (the activation code
// for the data gradient, the weight code for the weight gradient) and idx
// holds the codes that vary. The row is 1 KiB and stays in L1 for the whole
// sum, d and idx are read contiguously, and the 256 KiB table stays in L2.
//
// The sum has one fixed order, whatever the thread count or
// implementation: eight lanes, lane u taking the terms t ≡ u (mod 8) in
// order (the tail's terms go to lanes 0, 1, ... after the last whole
// block), then the lanes added pairwise as (((0+4)+(2+6))+((1+5)+(3+7))),
// which is how the vector implementation folds a register. Each product is
// rounded to float32 before it is added (no fused multiply-add), so the
// pure-Go and vector implementations give the same bits.

// useVector selects the vector implementation, dotBlocksVector, which adds
// the terms of the first 8*blocks entries to the eight lanes in acc. It is
// set when the CPU has one; tests clear it to force the pure-Go loop.
var useVector = hasVector

// dot returns Σ_t d[t]·row[idx[t]] over t < len(d), in the order above.
// idx must hold at least len(d) codes.
func dot(d []float32, idx []byte, row *[256]float32) float32 {
	n := len(d)
	idx = idx[:n]
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	t := 0
	if useVector && n >= 8 {
		var acc [8]float32
		dotBlocksVector(&d[0], &idx[0], row, n/8, &acc)
		a0, a1, a2, a3, a4, a5, a6, a7 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
		t = n &^ 7
	}
	for ; t+8 <= n; t += 8 {
		dd := d[t : t+8 : t+8]
		ii := idx[t : t+8 : t+8]
		a0 += float32(dd[0] * row[ii[0]])
		a1 += float32(dd[1] * row[ii[1]])
		a2 += float32(dd[2] * row[ii[2]])
		a3 += float32(dd[3] * row[ii[3]])
		a4 += float32(dd[4] * row[ii[4]])
		a5 += float32(dd[5] * row[ii[5]])
		a6 += float32(dd[6] * row[ii[6]])
		a7 += float32(dd[7] * row[ii[7]])
	}
	if t < n {
		dd, ii := d[t:], idx[t:]
		a0 += float32(dd[0] * row[ii[0]])
		if len(dd) > 1 {
			a1 += float32(dd[1] * row[ii[1]])
		}
		if len(dd) > 2 {
			a2 += float32(dd[2] * row[ii[2]])
		}
		if len(dd) > 3 {
			a3 += float32(dd[3] * row[ii[3]])
		}
		if len(dd) > 4 {
			a4 += float32(dd[4] * row[ii[4]])
		}
		if len(dd) > 5 {
			a5 += float32(dd[5] * row[ii[5]])
		}
		if len(dd) > 6 {
			a6 += float32(dd[6] * row[ii[6]])
		}
	}
	return ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))
}
