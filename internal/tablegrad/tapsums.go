package tablegrad

// How the convolution's weight gradient is fast when a group has many
// output channels: a weight tap's codes w_ol over the group's output
// channels o are fixed for the call, so its slopes against every
// activation code, Q_l[a][o] = GW[a][w_ol], can be laid out once per chunk
// of images (the rows slopes writes for the histogram's contraction), and
// the gradient is then
//
//	Σ_positions dy[q][o]·Q_l[a_q][o]
//
// summed straight along the output positions: per position one row of Q
// read by the code the tap reads there, multiplied by the position's row
// of output gradients and added to sums held in registers. That replaces
// the histogram's load, add and store per row (whose repeated codes wait
// on the stores before them) by a load, a multiply and an add into a
// register, and drops the contraction. The walk serves tapSumTaps taps at
// once, tapSumCols output channels wide, so that a position's output
// gradients are loaded once for several taps; the taps' slopes are
// interleaved per code (row a holds the taps' rows one after the other),
// so that one code picks a row at a fixed offset per tap. Wider groups
// walk once per column block of tapSumCols channels.
//
// Sums: each walk sums at most tapSumRun positions (whole images, or rows
// of one image but at least a row) in float32, each product rounded and
// then added (no fused multiply-add, so that the Go and vector forms give
// the same bits); the walks' sums are added in float64 in the order of the
// positions, and the chunks of images (fixed by the shape) in order after
// that, so the result does not depend on the thread count.

const (
	// tapSumTaps is how many taps one walk serves and tapSumCols how many
	// output channels: with eight-float vectors, eight sums and two
	// vectors of output gradients in registers.
	tapSumTaps = 4
	tapSumCols = 16
	// tapSumRow is the floats per activation code of the interleaved
	// slopes.
	tapSumRow = tapSumTaps * tapSumCols
	// tapSumRun bounds the positions a walk sums in float32 before the
	// sums move to float64 (unless an image row has more).
	tapSumRun = 512
)

// maxTapSumFloats bounds a chunk's output gradient (positions times
// channels, padded) when the group is wide enough that minTapSumPositions
// would make it large; a chunk has at least one image.
const maxTapSumFloats = 1 << 20

// minTapSumPositions is the fewest output positions of a chunk of images
// (unless the batch has fewer): each chunk lays out its taps' slopes anew,
// while a walk over the chunk's output gradients, one column block of
// them, should stay in the core's L2 cache. Tests lower it to have tasks
// walk many channels.
var minTapSumPositions = 4096

// weightPath says how Conv2dWeight computes: by shape, or forced to
// histograms or tap sums in tests.
type weightPath int

const (
	weightByShape weightPath = iota
	weightByHistogram
	weightByTapSums
)

// forcedWeightPath is weightByShape except in tests.
var forcedWeightPath weightPath

// useTapSums says whether a group of og output channels takes the tap
// sums. With eight channels or fewer, half of a column block or more
// would be padding, which the histogram does not pay for.
func useTapSums(og int) bool {
	switch forcedWeightPath {
	case weightByHistogram:
		return false
	case weightByTapSums:
		return true
	}
	return og > 8
}

// tapSums sets acc[t*tapSumCols+j] (t < tapSumTaps, j < tapSumCols) to
// Σ_q d[q*dStride+j]·q[a*tapSumRow+t*tapSumCols+j] over the positions q of
// imgs grids gr, imgStride codes apart (position q = i*rows*cols + the
// position's index in grid i), where a is codes[offs[t]+the position's
// index in codes]: each product rounded to float32 and added in the order
// of the positions.
var tapSums = tapSumsGo

func tapSumsGo(acc, q []float32, codes []byte, offs *[tapSumTaps]int, gr grid, imgs, imgStride int, d []float32, dStride int) {
	acc = acc[:tapSumRow]
	clear(acc)
	p := 0
	for i := 0; i < imgs; i++ {
		for r := 0; r < gr.rows; r++ {
			for c := 0; c < gr.cols; c++ {
				at := i*imgStride + r*gr.rowStride + c*gr.step
				dd := d[p*dStride:][:tapSumCols]
				for t, off := range offs {
					row := q[int(codes[at+off])*tapSumRow+t*tapSumCols:][:tapSumCols]
					a := acc[t*tapSumCols:][:tapSumCols]
					for j, v := range dd {
						a[j] += float32(v * row[j])
					}
				}
				p++
			}
		}
	}
}

// tapSumTask computes the tap sums of taps [lo, hi) of one chunk (images
// [n0, n1)) of group grp into partial (unit's rows), given the chunk's
// output gradient in s.dT, stride channels per position (a multiple of
// tapSumCols, the extra columns zero), in blocks of tapSumCols channels,
// each block position-major.
func (j *convHist) tapSumTask(s *convScratch, unit, grp, n0, n1, lo, hi, stride int) {
	g := &j.g
	k, og, opos := j.k, j.og, j.opos
	taps := g.KH * g.KW
	imgs := n1 - n0
	// The chunk's planes of the input channels the walk's taps read,
	// padded as for the histogram, in slots one after the other: a tap's
	// codes are then a grid at a fixed offset in them, whatever its
	// channel. A walk's taps are consecutive, so they span at most
	// tapSumTaps channels, and later walks reach channels at or after
	// the earlier ones': with one slot more than that, channel c in
	// slot c mod slots, a channel is padded once per task and stays
	// until the walks are past it, whatever the number of channels.
	hp := max(g.PadH+g.H, (j.oh-1)*g.StrideH+(g.KH-1)*g.DilH+1)
	wp := max(g.PadW+g.W, (j.ow-1)*g.StrideW+(g.KW-1)*g.DilW+1)
	plane := hp * wp
	c0, c1 := lo/taps, (hi-1)/taps+1
	slots := min(tapSumTaps+1, c1-c0)
	s.planes = grow(s.planes, slots*imgs*plane)
	for i := range s.slotOf {
		s.slotOf[i] = -1
	}
	s.slopes = grow(s.slopes, 256*tapSumRow)
	s.acc = grow(s.acc, tapSumRow)
	s.sums = grow(s.sums, tapSumTaps*stride)
	s.wl = grow(s.wl, tapSumCols)
	// A walk covers whole images when they are small, rows of one
	// image otherwise.
	rowsPer, imgsPer := max(1, min(j.oh, tapSumRun/j.ow)), 1
	if rowsPer == j.oh {
		imgsPer = max(1, tapSumRun/opos)
	}
	for l0 := lo; l0 < hi; l0 += tapSumTaps {
		nt := min(tapSumTaps, hi-l0)
		// Taps past hi repeat the last one; their sums are dropped. The
		// offsets live in the scratch memory: tapSums is called through
		// a variable, so a local array would move to the heap.
		offs := &s.offs
		for t := range offs {
			l := l0 + min(t, nt-1)
			c, ky, kx := l/taps, l%taps/g.KW, l%g.KW
			slot := (c - c0) % slots
			if s.slotOf[slot] != c {
				(*convJob)(j).padPlanes(s.planes[slot*imgs*plane:], grp*j.cg+c, n0, n1, hp, wp)
				s.slotOf[slot] = c
			}
			offs[t] = slot*imgs*plane + ky*g.DilH*wp + kx*g.DilW
		}
		sums := s.sums[:tapSumTaps*stride]
		clear(sums)
		for cb := 0; cb < stride; cb += tapSumCols {
			for t := 0; t < nt; t++ {
				for jj := range s.wl {
					s.wl[jj] = 0
					if oo := cb + jj; oo < og {
						s.wl[jj] = j.w[(grp*og+oo)*k+l0+t]
					}
				}
				slopes(s.slopes[t*tapSumCols:], s.wl, tapSumRow, &j.t.gw, &j.t.gwT)
			}
			block := s.dT[cb/tapSumCols*imgs*opos*tapSumCols:][:imgs*opos*tapSumCols]
			for n := 0; n < imgs; n += imgsPer {
				d := block[n*opos*tapSumCols:]
				for r0 := 0; r0 < j.oh; r0 += rowsPer {
					gr := grid{rows: min(rowsPer, j.oh-r0), cols: j.ow, rowStride: g.StrideH * wp, step: g.StrideW}
					tapSums(s.acc, s.slopes, s.planes[n*plane+r0*gr.rowStride:], offs, gr, min(imgsPer, imgs-n), plane, d[r0*j.ow*tapSumCols:], tapSumCols)
					for t := 0; t < nt; t++ {
						sm := sums[t*stride+cb:][:tapSumCols]
						for jj, v := range s.acc[t*tapSumCols:][:tapSumCols] {
							sm[jj] += float64(v)
						}
					}
				}
			}
		}
		for t := 0; t < nt; t++ {
			copy(j.partial[(unit*k+l0+t)*og:][:og], sums[t*stride:])
		}
	}
}
