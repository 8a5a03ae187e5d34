package kernel

// fillWindows fills l.windows from l.planes. Each 256-byte plane of a row
// (low bytes, then high bytes) is 16 blocks t[h] of 16 bytes, t[h][c] for
// the code 16h+c. A 16-byte shuffle looks up one block, and zeroes the
// lanes whose index has bit 7 set; a single saturating add sets that bit
// for all codes above a threshold, but picking out one block takes two
// operations. So the AVX2 kernel looks up nested windows instead and adds
// their bytes: block j-1 (j = 1..8) serves the codes below 16j, block 7+j
// the codes whose high nibble is at least 16-j, and
//
//	block j-1 = t[j-1] - t[j] for j < 8, t[7] for j = 8
//	block 7+j = t[16-j] - t[15-j] for j < 8, t[8] for j = 8
//
// (bytewise, mod 256), so the windows holding a code h*16+c add up to
// t[h][c]: t[h]-t[h+1] + ... + t[6]-t[7] + t[7] for h < 8, and likewise
// from the top for h >= 8.
func (l *layout) fillWindows() {
	for s := range l.planes {
		for p := 0; p < 512; p += 256 {
			t := l.planes[s][p:][:256]
			w := l.windows[s][p:][:256]
			for c := range 16 {
				for j := 1; j <= 8; j++ {
					lo, hi := t[16*(j-1)+c], t[16*(16-j)+c]
					if j < 8 {
						lo -= t[16*j+c]
						hi -= t[16*(15-j)+c]
					}
					w[16*(j-1)+c] = lo
					w[16*(7+j)+c] = hi
				}
			}
		}
	}
}
