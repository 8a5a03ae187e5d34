package floatkernel

import "math"

// Row movers of the depthwise kernels: they copy whole planes of short rows
// (7 to 28 floats in MobileNetV2) between an image's layout and the phase
// planes (see phased), one call per plane rather than per row because a
// call costs as much as moving a short row. Each has a portable version
// (the *Go functions, which the tests compare with) and a vector one where
// the CPU has it. All of them only move bits, or dequantize exactly, so the
// two versions agree bit for bit.
//
// Every mover works on rows rows of w elements; a row of dst starts ds
// elements after the previous one, a row of src ss elements after it. A
// mask, where one is taken, has dst's layout (row stride ds) and is nil for
// none.

// codeScale turns the table-index bytes of quantization codes into the
// fake-quantized values ops computes, float32(code - zp) · scale with code
// int8(b) or b: code - zp = int32(b ^ flip) - off, with flip = 0x80 and off
// = zp + 128 for signed codes (b ^ 0x80 - 128 = int8(b)) and flip = 0, off
// = zp for unsigned ones. The int32 subtraction wraps exactly as ops' does.
type codeScale struct {
	flip, off int32
	scale     float32
}

func newCodeScale(signed bool, zp int32, scale float32) codeScale {
	if signed {
		return codeScale{flip: 0x80, off: zp + 128, scale: scale}
	}
	return codeScale{off: zp, scale: scale}
}

// value is the dequantized value of table index b.
func (q *codeScale) value(b byte) float32 { return float32(int32(b)^q.flip-q.off) * q.scale }

// maskBits is 0 for false and all ones for true: ANDed with a float's bits
// it gives +0 or the float itself, NaN included, without a branch.
func maskBits(m bool) uint32 {
	var x uint32
	if m {
		x = 1
	}
	return -x
}

// masked is v where m and +0 elsewhere.
func masked(v float32, m bool) float32 {
	return math.Float32frombits(math.Float32bits(v) & maskBits(m))
}

var (
	// copyRows copies src to dst, zeroing (to +0) the elements whose mask
	// is false.
	copyRows = copyRowsGo
	// splitPairs sends the even elements of each src row (0, 2, ...) to
	// even and the odd ones to odd: row r has (w+1)/2 elements in even and
	// w/2 in odd, both at r·ds.
	splitPairs = splitPairsGo
	// splitQuads sends element 4i+k of each src row to dst[at[k] + r·ds
	// + i]: the four phases of the row's columns modulo 4.
	splitQuads = splitQuadsGo
	// mergePairs is splitPairs' inverse, with a mask on dst: dst rows are
	// ds apart, even and odd rows ss apart.
	mergePairs = mergePairsGo
	// dequantRows is copyRows from quantization codes, without a mask.
	dequantRows = dequantRowsGo
	// splitCodePairs is splitPairs from quantization codes.
	splitCodePairs = splitCodePairsGo
)

func copyRowsGo(dst, src []float32, mask []bool, rows, w, ds, ss int) {
	for r := 0; r < rows; r++ {
		d, s := dst[r*ds:][:w], src[r*ss:][:w]
		if mask == nil {
			copy(d, s)
			continue
		}
		m := mask[r*ds:][:w]
		for i, v := range s {
			d[i] = masked(v, m[i])
		}
	}
}

func splitPairsGo(even, odd, src []float32, rows, w, ds, ss int) {
	for r := 0; r < rows; r++ {
		s := src[r*ss:][:w]
		e, o := even[r*ds:][:(w+1)/2], odd[r*ds:][:w/2]
		for i := range o {
			e[i], o[i] = s[2*i], s[2*i+1]
		}
		if w%2 == 1 {
			e[w/2] = s[w-1]
		}
	}
}

func splitQuadsGo(dst []float32, at [4]int, src []float32, rows, w, ds, ss int) {
	splitQuadsTail(dst, at, src, rows, 0, w, ds, ss)
}

// splitQuadsTail is splitQuads on the elements [x0, w) of each row, x0 a
// multiple of 4.
func splitQuadsTail(dst []float32, at [4]int, src []float32, rows, x0, w, ds, ss int) {
	for r := 0; r < rows; r++ {
		s := src[r*ss:][:w]
		for x := x0; x < w; x++ {
			dst[at[x%4]+r*ds+x/4] = s[x]
		}
	}
}

func mergePairsGo(dst, even, odd []float32, mask []bool, rows, w, ds, ss int) {
	for r := 0; r < rows; r++ {
		d := dst[r*ds:][:w]
		e, o := even[r*ss:][:(w+1)/2], odd[r*ss:][:w/2]
		for i := range o {
			d[2*i], d[2*i+1] = e[i], o[i]
		}
		if w%2 == 1 {
			d[w-1] = e[w/2]
		}
		if mask != nil {
			m := mask[r*ds:][:w]
			for i, v := range d {
				d[i] = masked(v, m[i])
			}
		}
	}
}

func dequantRowsGo(dst []float32, src []byte, q codeScale, rows, w, ds, ss int) {
	for r := 0; r < rows; r++ {
		d, s := dst[r*ds:][:w], src[r*ss:][:w]
		for i, b := range s {
			d[i] = q.value(b)
		}
	}
}

func splitCodePairsGo(even, odd []float32, src []byte, q codeScale, rows, w, ds, ss int) {
	for r := 0; r < rows; r++ {
		s := src[r*ss:][:w]
		e, o := even[r*ds:][:(w+1)/2], odd[r*ds:][:w/2]
		for i := range o {
			e[i], o[i] = q.value(s[2*i]), q.value(s[2*i+1])
		}
		if w%2 == 1 {
			e[w/2] = q.value(s[w-1])
		}
	}
}

// rowsEnd is one past the last element that rows rows of w elements, ds
// apart, reach; the vector movers check their slices against it, since
// they work on raw pointers.
func rowsEnd(rows, w, ds int) int {
	if rows <= 0 || w <= 0 {
		return 0
	}
	return (rows-1)*ds + w
}

// placeRows writes rows rows of w floats, contiguous in src, into dst at
// dst[(top+r)*stride+left:], and zeros everywhere else in dst: the
// zero-padded planes of the direct layouts. It writes each element of dst
// once, instead of clearing dst and then copying the rows over the zeros;
// the gaps between rows are a float or two, zeroed by a counted loop (a
// range loop would become a call to clear them).
func placeRows(dst, src []float32, rows, w, top, left, stride int) {
	start := top*stride + left
	if rows == 0 || w == 0 {
		clear(dst)
		return
	}
	end := start + (rows-1)*stride + w
	clear(dst[:start])
	copyRows(dst[start:end], src[:rows*w], nil, rows, w, stride, w)
	for r := 0; r+1 < rows; r++ {
		gap := dst[start+r*stride+w : start+(r+1)*stride]
		for i := 0; i < len(gap); i++ {
			gap[i] = 0
		}
	}
	clear(dst[end:])
}
