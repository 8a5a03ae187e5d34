package multiplier

import "math/bits"

// The unsigned cores. Each takes operand magnitudes 0..255 (the signed
// wrapper passes |-128| = 128) and returns the approximate product. Bit i of
// a is a_i; the partial product a_i*b_j has weight 2^(i+j) and sits in column
// i+j of the multiplier's partial-product array, row j.

func exact(a, b int) int { return a * b }

// partialProducts sums the partial products a_i*b_j*2^(i+j) the design keeps.
func partialProducts(a, b int, keep func(i, j int) bool) int {
	p := 0
	for j := 0; j < 8; j++ {
		if b>>j&1 == 0 {
			continue
		}
		for i := 0; i < 8; i++ {
			if a>>i&1 == 1 && keep(i, j) {
				p += 1 << (i + j)
			}
		}
	}
	return p
}

// truncated drops every partial product in the columns below t:
// P = sum over i+j >= t of a_i b_j 2^(i+j). Column truncation as in fixed-
// width multipliers (Schulte and Swartzlander, "Truncated multiplication with
// correction constant", VLSI Signal Processing VI, 1993), without the
// correction constant.
func truncated(t int) func(a, b int) int {
	return func(a, b int) int {
		return partialProducts(a, b, func(i, j int) bool { return i+j >= t })
	}
}

// brokenArray is the broken-array multiplier (BAM) of Mahdiani, Ahmadi,
// Fakhraie and Lucas, "Bio-inspired imprecise computational blocks for
// efficient VLSI implementation of soft-computing applications", IEEE TCAS-I
// 57(4), 2010: the carry-save array loses its h lowest rows (partial products
// of b_j, j < h: the horizontal break) and every cell in the columns below v
// (i+j < v: the vertical break).
func brokenArray(h, v int) func(a, b int) int {
	return func(a, b int) int {
		return partialProducts(a, b, func(i, j int) bool { return j >= h && i+j >= v })
	}
}

// lowerPartOR accumulates the partial products like the lower-part-OR adder
// (LOA) of Mahdiani et al. 2010 (same paper as BAM): in each of the l low
// result columns the partial-product bits are ORed instead of added, giving
// one result bit per column and no carry; the columns from l up are added
// exactly. This is the multi-operand reading of LOA; the two-operand LOA's
// extra carry-in (an AND of the top lower-part bits) is not modelled.
func lowerPartOR(l int) func(a, b int) int {
	return func(a, b int) int {
		upper := partialProducts(a, b, func(i, j int) bool { return i+j >= l })
		lower := 0
		for c := 0; c < l; c++ {
			for j := 0; j <= c && j < 8; j++ {
				i := c - j
				if i < 8 && a>>i&1 == 1 && b>>j&1 == 1 {
					lower |= 1 << c
					break
				}
			}
		}
		return upper + lower
	}
}

// kulkarni is the underdesigned multiplier of Kulkarni, Gupta and
// Ercegovac, "Trading accuracy for power with an underdesigned multiplier
// architecture", VLSI Design 2011: a 2x2 block that is exact except that
// 3x3 gives 7 (so its result fits three bits), composed recursively with
// exact additions: (aH*bH << n) + ((aH*bL + aL*bH) << n/2) + aL*bL.
func kulkarni(a, b int) int { return kulkarniN(a, b, 8) }

func kulkarniN(a, b, n int) int {
	if n == 2 {
		if a == 3 && b == 3 {
			return 7
		}
		return a * b
	}
	h := n / 2
	mask := 1<<h - 1
	aH, aL, bH, bL := a>>h, a&mask, b>>h, b&mask
	return kulkarniN(aH, bH, h)<<n + (kulkarniN(aH, bL, h)+kulkarniN(aL, bH, h))<<h + kulkarniN(aL, bL, h)
}

// log2 is floor(log2 x) for x > 0.
func log2(x int) int { return bits.Len(uint(x)) - 1 }

// mitchell is Mitchell's logarithmic multiplier (J. N. Mitchell, "Computer
// multiplication and division using binary logarithms", IRE Trans.
// Electronic Computers EC-11(4), 1962): log2 x is approximated by k + m with
// k = floor(log2 x) and m the mantissa read as a binary fraction, the two
// logarithms are added, and the antilogarithm is approximated the same way.
// In integers, with f1 = (a - 2^k1) 2^k2 and f2 = (b - 2^k2) 2^k1:
// P = 2^(k1+k2) + f1 + f2 when f1+f2 < 2^(k1+k2), else 2(f1+f2).
func mitchell(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	k1, k2 := log2(a), log2(b)
	f1 := (a - 1<<k1) << k2
	f2 := (b - 1<<k2) << k1
	if f1+f2 < 1<<(k1+k2) {
		return 1<<(k1+k2) + f1 + f2
	}
	return 2 * (f1 + f2)
}

// drum is DRUM-k of Hashemi, Bahar and Reda, "DRUM: a dynamic range unbiased
// multiplier for approximate applications", ICCAD 2015: each operand of k or
// fewer bits is used as it is; a longer one keeps the k bits from its leading
// one, with the lowest kept bit forced to 1 (which centres the truncation
// error and makes it unbiased) and the bits below it zero. P = a' * b'.
func drum(k int) func(a, b int) int {
	steer := func(x int) int {
		if x < 1<<k {
			return x
		}
		shift := log2(x) + 1 - k // bits below the kept ones
		return (x>>shift | 1) << shift
	}
	return func(a, b int) int { return steer(a) * steer(b) }
}

// roundPow2 rounds x to the nearest power of two. The only ties are
// x = 3*2^m, equally far from 2^(m+1) and 2^(m+2); they go up to 2^(m+2).
// That rule is ours: either choice gives an error of the same magnitude
// (only its sign differs), so we fix one and say so. 0 stays 0.
func roundPow2(x int) int {
	if x == 0 {
		return 0
	}
	lo := 1 << log2(x)
	if x-lo < 2*lo-x {
		return lo
	}
	return 2 * lo
}

// roba is the rounding-based approximate multiplier of Zendegani, Kamal,
// Bahadori, Afzali-Kusha and Pedram, "RoBA multiplier: a rounding-based
// approximate multiplier for high-speed yet energy-efficient digital signal
// processing", IEEE TVLSI 25(2), 2017: with Ar and Br the operands rounded to
// the nearest power of two, P = Ar*b + a*Br - Ar*Br, which is exact up to
// the dropped term (a-Ar)(b-Br) and needs only shifts and adds. Ties round
// up (see roundPow2).
func roba(a, b int) int {
	ar, br := roundPow2(a), roundPow2(b)
	return ar*b + a*br - ar*br
}

// signMagnitude turns an unsigned core into a signed multiplier:
// sign(a) sign(b) M(|a|, |b|). |-128| = 128 goes to the core as it is.
func signMagnitude(m func(a, b int) int) func(a, b int) int {
	return func(a, b int) int {
		neg := false
		if a < 0 {
			a, neg = -a, !neg
		}
		if b < 0 {
			b, neg = -b, !neg
		}
		p := m(a, b)
		if neg {
			return -p
		}
		return p
	}
}
