package kernel

// Prepared holds one multiplier table in the layouts the fast kernels read.
// Build it once per table with Prepare and share it: it is immutable and
// safe for concurrent use by any number of GEMM and Conv2d calls.
//
// A kernel walks one "selector" operand code by code; each selector code
// picks a 256-entry row of the table that is then looked up with the codes
// of many "lane" operands at once (activations of many output positions, or
// weights of many output features). Two orientations exist, so each layout is
// kept twice: byX selects the row with the activation code (row x holds
// table[x<<8|w] over w), byW with the weight code (row w holds table[x<<8|w]
// over x, the transposed table).
type Prepared struct {
	byX, byW layout

	// narrow reports that every entry minus base fits in 16 unsigned bits,
	// so the byte planes hold the whole table. Signed 8x8 multipliers span
	// -16384..16384 and unsigned ones 0..65025, so real multipliers are
	// narrow; a table with wider entries is served by the int32 rows only.
	narrow bool
	// pairs reports that every entry minus base fits in 15 bits, so that
	// two of them sum within 16 (pgPairs): signed multipliers do.
	pairs bool
	// pgRows[w][x] is table[x<<8|w]-base as uint16, and row 256 is zero:
	// the source of the pre-gathered kernel's rows (pregather.go), which
	// pads lanes with the zero row. Valid only for narrow tables.
	pgRows [257][256]uint16
	// base is the smallest entry. The byte planes store entry-base, which is
	// non-negative, so signed and unsigned tables share one SIMD kernel; a
	// sum over k products adds k*base back (in wrapping int32 arithmetic).
	base int32
}

// layout is a table arranged as 256 rows indexed by the selector code.
type layout struct {
	// rows[s][v] is the product for selector code s and lane code v.
	rows [256][256]int32
	// planes[s][0:256] holds the low bytes and planes[s][256:512] the high
	// bytes of rows[s][v]-base; valid only for narrow tables. One row is
	// eight 64-byte vectors, which is what the AVX-512 byte-permute kernel
	// keeps in registers while it looks up many lane vectors.
	planes [256][512]byte
	// windows holds the byte planes rearranged for the AVX2 kernel, which
	// looks up 16 entries at a time (see fillWindows); valid only for
	// narrow tables.
	windows [256][512]byte
}

// Prepare arranges table (indexed table[x<<8|w], x the activation code, w the
// weight code, as in GEMMRef) for the fast kernels. It copies the table, so
// later changes to table do not affect the result. A nil table is a
// programming error and panics.
func Prepare(table *[65536]int32) *Prepared {
	if table == nil {
		panic("kernel: Prepare needs a table, got nil")
	}
	p := new(Prepared)
	lo, hi := table[0], table[0]
	for _, v := range table {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	p.base = lo
	p.narrow = int64(hi)-int64(lo) <= 0xFFFF
	p.pairs = int64(hi)-int64(lo) <= 0x7FFF
	for x := 0; x < 256; x++ {
		for w := 0; w < 256; w++ {
			v := table[x<<8|w]
			p.byX.rows[x][w] = v
			p.byW.rows[w][x] = v
		}
	}
	if p.narrow {
		p.byX.fillPlanes(lo)
		p.byW.fillPlanes(lo)
		for w := range 256 {
			for x, e := range p.byW.rows[w] {
				p.pgRows[w][x] = uint16(e - lo)
			}
		}
	}
	return p
}

// Narrow reports whether every entry lies within 65535 of the smallest one,
// which lets the SIMD kernel hold the table as two byte planes. Tables that
// are not narrow are computed by the portable kernel.
func (p *Prepared) Narrow() bool { return p.narrow }

func (l *layout) fillPlanes(base int32) {
	for s := range l.rows {
		for v, e := range l.rows[s] {
			u := uint32(e - base)
			l.planes[s][v] = byte(u)
			l.planes[s][256+v] = byte(u >> 8)
		}
	}
	l.fillWindows()
}
