package tablegrad

import "github.com/goapprox/goapprox/internal/parallel"

// How the convolution's weight gradient is fast for groups of few output
// channels (wider groups take the tap sums, tapsums.go, which share the
// chunks, tasks and final sums below): for a weight tap l of
// output channel o the weight code is fixed, so the gradient
//
//	Σ_positions dy[o][q]·GW[a_q][w_ol] = Σ_a GW[a][w_ol]·H[a][o]
//
// where H[a][o] is the sum of dy[o] over the positions at which tap l reads
// activation code a. The histogram H of a tap (256 codes × the group's
// output channels) is built by adding, for each output position, the
// position's row of output gradients (one per channel, contiguous in the
// position-major layout) to the row of the code the tap reads there: a
// run of plain float adds, no table lookup and no multiplication. The
// codes a tap reads over the output positions are a strided grid in the
// input plane padded with the pad code, so they are read in place, the
// plane padded once per input channel and chunk. One
// contraction of 256 terms per (tap, channel) then takes the slopes: the
// tap's slopes are first laid out as the histogram is, a row per
// activation code and a column per channel (where the CPU has AVX2, by
// transposing blocks of the rows of the transposed GW that the channels'
// weight codes select, which reads whole rows instead of gathering), so
// that the contraction is a column-wise sum of products, each channel's
// sum an independent chain and eight channels per vector instruction. The
// histogram is contracted once per chunk of images of at least
// minChunkPositions output positions, which keeps the contraction a small
// fraction of the adds; chunks are fixed by the shape, each chunk's
// contractions summed in float64 and the chunks added in order, so the
// result does not depend on the thread count.

// minChunkPositions is the fewest output positions a chunk of images has
// (unless the batch has fewer).
const minChunkPositions = 2048

// grid says where a run of positions finds its activation codes: position
// q = r*cols + c (rows×cols of them) reads codes[r*rowStride + c*step].
// A tap's codes over the output positions are such a grid in a padded
// plane, so they need not be copied out.
type grid struct{ rows, cols, rowStride, step int }

// last is the index of the last code the grid reads.
func (gr grid) last() int { return (gr.rows-1)*gr.rowStride + (gr.cols-1)*gr.step }

// histAdd adds, for every position q of the grid gr, the row
// d[q*width:(q+1)*width] to the histogram row of the position's code,
// h[code*width:]: the positions in order, the adds of one position in
// order, so any implementation gives the same sums.
var histAdd = histAddGo

func histAddGo(h []float32, codes []byte, gr grid, d []float32, width int) {
	q := 0
	for r := 0; r < gr.rows; r++ {
		for c := 0; c < gr.cols; c++ {
			row := h[int(codes[r*gr.rowStride+c*gr.step])*width:][:width]
			for o, v := range d[q*width:][:width] {
				row[o] += v
			}
			q++
		}
	}
}

// conv2dWeightHist computes what Conv2dWeight computes, by histograms or
// tap sums (see tapsums.go) by the shape: both share the chunks, the tasks
// and the final sums.
func conv2dWeightHist(j *convJob, threads int) {
	g := &j.g
	k := j.k
	j.tapSums = useTapSums(j.og)
	minPositions := minChunkPositions
	if j.tapSums {
		minPositions = minTapSumPositions
	}
	perChunk := max(1, min(g.N, ceilDiv(minPositions, j.opos)))
	if j.tapSums {
		// Very wide groups: a task's copy of the chunk's output
		// gradient stays bounded, down to one image.
		stride := ceilDiv(j.og, tapSumCols) * tapSumCols
		perChunk = max(1, min(perChunk, maxTapSumFloats/(j.opos*stride)))
	}
	j.chunks = ceilDiv(g.N, perChunk)
	j.perChunk = perChunk
	// Split each chunk's taps so that there are about four tasks per
	// thread; a task builds its chunk's position-major gradient itself.
	split := max(1, min(k, ceilDiv(4*parallel.Threads(threads), j.chunks*g.Groups)))
	j.tapBlock = ceilDiv(k, split)
	if j.tapSums {
		// Whole walks of taps per task, but for the last.
		j.tapBlock = ceilDiv(j.tapBlock, tapSumTaps) * tapSumTaps
	}
	split = ceilDiv(k, j.tapBlock)
	j.splits = split
	units := g.Groups * j.chunks
	j.partial = grow(j.partial, units*k*j.og)
	j.colSum = grow(j.colSum, units*j.og)
	tasks := units * split
	parallel.RunParts(tasks, tasks, threads, (*convHist)(j))
	// Add the chunks in order, take the zero point's share and scale.
	for o := 0; o < g.O; o++ {
		grp, oo := o/j.og, o%j.og
		var sum float64
		for c := 0; c < j.chunks; c++ {
			sum += j.colSum[(grp*j.chunks+c)*j.og+oo]
		}
		corr := j.p.zx * sum
		for l := 0; l < k; l++ {
			var s float64
			for c := 0; c < j.chunks; c++ {
				s += j.partial[((grp*j.chunks+c)*k+l)*j.og+oo]
			}
			j.out[o*k+l] = float32(j.p.sx * (s - corr))
		}
	}
}

type convHist convJob

// Run computes tasks [lo, hi): task (grp*chunks+c)*splits+b is tap block b
// of chunk c of group grp.
func (j *convHist) Run(_, lo, hi int) {
	s := convScratches.Get().(*convScratch)
	for task := lo; task < hi; task++ {
		unit, b := task/j.splits, task%j.splits
		j.task(s, unit, b)
	}
	convScratches.Put(s)
}

func (j *convHist) task(s *convScratch, unit, b int) {
	g := &j.g
	k, og, opos := j.k, j.og, j.opos
	grp, c := unit/j.chunks, unit%j.chunks
	n0, n1 := c*j.perChunk, min((c+1)*j.perChunk, g.N)
	// The chunk's output gradient, position-major per image, stride
	// floats per position: og rounded up to whole vector blocks (the extra
	// columns zero, their histogram sums unused) unless that would more
	// than double the adds.
	stride := og
	switch {
	case j.tapSums:
		stride = ceilDiv(og, tapSumCols) * tapSumCols
	case og >= 4:
		stride = (og + 7) &^ 7
	}
	s.dT = grow(s.dT, (n1-n0)*opos*stride)
	if stride != og {
		clear(s.dT)
	}
	// The tap sums read a column block at a time: their layout is
	// block-major, each block position-major, so that a walk reads
	// contiguous memory.
	width, blockSize := stride, 0
	if j.tapSums {
		width, blockSize = tapSumCols, (n1-n0)*opos*tapSumCols
	}
	for n := n0; n < n1; n++ {
		for oo := 0; oo < og; oo++ {
			d := s.dT[oo/width*blockSize+(n-n0)*opos*width+oo%width:]
			for q, v := range j.dy[(n*g.O+grp*og+oo)*opos:][:opos] {
				d[q*width] = v
			}
		}
	}
	if b == 0 {
		// Each channel's sum over the chunk's positions: per image four
		// chains of adds in registers, the positions taken in turn,
		// then added as (0+1)+(2+3) to the sum of the images before.
		sums := j.colSum[unit*og:][:og]
		clear(sums)
		for n := n0; n < n1; n++ {
			for oo := range sums {
				sums[oo] += sum4(j.dy[(n*g.O+grp*og+oo)*opos:][:opos])
			}
		}
	}
	if j.tapSums {
		j.tapSumTask(s, unit, grp, n0, n1, b*j.tapBlock, min((b+1)*j.tapBlock, k), stride)
		return
	}
	s.hist = grow(s.hist, 256*stride)
	s.wl = grow(s.wl, stride)
	clear(s.wl)
	s.sums = grow(s.sums, stride)
	s.slopes = grow(s.slopes, 256*stride)
	taps := g.KH * g.KW
	// The chunk's planes of the current input channel, padded with the
	// pad code far enough that every tap's codes are a grid in them.
	hp := max(g.PadH+g.H, (j.oh-1)*g.StrideH+(g.KH-1)*g.DilH+1)
	wp := max(g.PadW+g.W, (j.ow-1)*g.StrideW+(g.KW-1)*g.DilW+1)
	s.planes = grow(s.planes, (n1-n0)*hp*wp)
	tg := grid{rows: j.oh, cols: j.ow, rowStride: g.StrideH * wp, step: g.StrideW}
	planeOf := -1
	for l := b * j.tapBlock; l < min((b+1)*j.tapBlock, k); l++ {
		ci := grp*j.cg + l/taps
		ky, kx := l%taps/g.KW, l%g.KW
		if ci != planeOf {
			(*convJob)(j).padPlanes(s.planes, ci, n0, n1, hp, wp)
			planeOf = ci
		}
		clear(s.hist)
		at := ky*g.DilH*wp + kx*g.DilW
		for n := n0; n < n1; n++ {
			histAdd(s.hist, s.planes[(n-n0)*hp*wp+at:], tg, s.dT[(n-n0)*opos*stride:][:opos*stride], stride)
		}
		// The padding columns (code 0) sum the zero columns of the
		// histogram; their sums are dropped.
		for oo := range s.wl[:og] {
			s.wl[oo] = j.w[(grp*og+oo)*k+l]
		}
		slopes(s.slopes, s.wl, stride, &j.t.gw, &j.t.gwT)
		contract(s.sums, s.slopes, s.hist, stride)
		copy(j.partial[(unit*k+l)*og:][:og], s.sums)
	}
}

// slopes writes the slopes of the weight codes wl against every
// activation code, row by row: p[a*stride+j] = byAct[a][wl[j]] for j <
// len(wl), where byWeight is byAct transposed (byWeight[b][a] =
// byAct[a][b]), which the vector form reads.
var slopes = slopesGo

func slopesGo(p []float32, wl []byte, stride int, byAct, _ *[256][256]float32) {
	for a := range 256 {
		row := &byAct[a]
		pp := p[a*stride:][:len(wl)]
		for j, b := range wl {
			pp[j] = row[b]
		}
	}
}

// contract sets out[j] = Σ_a p[a*stride+j]·h[a*stride+j] for j < len(out),
// each sum over the activation codes a in order, in float64 (a product of
// two float32 is exact there). The codes run in the outer loop, so the
// columns' sums are independent chains of adds, and every implementation
// gives the same bits.
var contract = contractGo

func contractGo(out []float64, p, h []float32, stride int) {
	clear(out)
	for a := range 256 {
		pp, hh := p[a*stride:][:len(out)], h[a*stride:][:len(out)]
		for j := range out {
			out[j] += float64(pp[j]) * float64(hh[j])
		}
	}
}

// sum4 returns the sum of v in float64, in four chains of adds (element i
// in chain i mod 4), added as (0+1)+(2+3).
func sum4(v []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		w := v[i : i+4 : i+4]
		s0 += float64(w[0])
		s1 += float64(w[1])
		s2 += float64(w[2])
		s3 += float64(w[3])
	}
	for ; i < len(v); i++ {
		s0 += float64(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}
