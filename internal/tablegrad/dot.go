package tablegrad

// The linear layer's kernels are built on gather-dots: the sum over t of
// d[t]·row[idx[t]], where row is one 256-entry row of a gradient table
// chosen by the code that stays fixed along the sum (the activation code
// for the data gradient, the weight code for the weight gradient) and idx
// holds the codes that vary. The row is 1 KiB and stays in L1 for the whole
// sum, d and idx are read contiguously, and the 256 KiB table stays in L2.
// (The convolutions gather each channel's slopes once instead, see conv.go
// and histogram.go: their weights meet many more positions than a linear
// layer's meet batch rows.)
//
// The sum has one fixed order, whatever the thread count: eight lanes,
// lane u taking the terms t ≡ u (mod 8) in order (the tail's terms go to
// lanes 0, 1, ... after the last whole block), then the lanes added
// pairwise as (((0+4)+(2+6))+((1+5)+(3+7))), the fold of an eight-lane
// vector register. Each product is rounded to float32 before it is added
// (no fused multiply-add), so a vector implementation can give the same
// bits. (AVX2's VGATHERDPS gave no speed over these scalar loads on the
// AMD EPYC the kernels were tuned on, so there is none.)

// dot returns Σ_t d[t]·row[idx[t]] over t < len(d), in the order above.
// idx must hold at least len(d) codes.
func dot(d []float32, idx []byte, row *[256]float32) float32 {
	n := len(d)
	idx = idx[:n]
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	t := 0
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

// dotAxpy is the fused kernels' step: it returns Σ_t d[t]·gx[idx[t]],
// in four lanes (lane u the terms t ≡ u mod 4, added as (0+2)+(1+3)), and
// adds d[t]·gw[idx[t]] to acc[t]. gx and gw are the two slopes' rows of
// the same activation code, both in L1; each code and gradient value is
// read once for both.
func dotAxpy(d []float32, idx []byte, gx, gw *[256]float32, acc []float32) float32 {
	n := len(d)
	idx, acc = idx[:n], acc[:n]
	var a0, a1, a2, a3 float32
	t := 0
	for ; t+4 <= n; t += 4 {
		dd := d[t : t+4 : t+4]
		ii := idx[t : t+4 : t+4]
		aa := acc[t : t+4 : t+4]
		d0, d1, d2, d3 := dd[0], dd[1], dd[2], dd[3]
		i0, i1, i2, i3 := ii[0], ii[1], ii[2], ii[3]
		a0 += float32(d0 * gx[i0])
		a1 += float32(d1 * gx[i1])
		a2 += float32(d2 * gx[i2])
		a3 += float32(d3 * gx[i3])
		aa[0] += float32(d0 * gw[i0])
		aa[1] += float32(d1 * gw[i1])
		aa[2] += float32(d2 * gw[i2])
		aa[3] += float32(d3 * gw[i3])
	}
	for u := 0; t < n; t, u = t+1, u+1 {
		i := idx[t]
		v := float32(d[t] * gx[i])
		switch u {
		case 0:
			a0 += v
		case 1:
			a1 += v
		default:
			a2 += v
		}
		acc[t] += float32(d[t] * gw[i])
	}
	return (a0 + a2) + (a1 + a3)
}
