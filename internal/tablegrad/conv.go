package tablegrad

import (
	"sync"

	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/geom"
)

// How the convolution's data gradient is fast: the weights are the same
// for every input position, so the slopes a position can need are known
// before the walk. For each input channel, the slopes of every activation
// code against every weight that channel meets, less the weight's zero
// point, M[a][tap, o] = GX[a][w[o][c][tap]] − zw_o, are laid out once per
// chunk of images (256 rows of KH·KW·og floats; where the CPU has AVX2 by
// transposing the rows of the transposed GX that the weights select, see
// slopes), and the gradient of an input position with code a is then a
// plain float dot product of row M[a] with the output gradient at the
// positions its taps reach, the zero points' share included: no lookup
// per product, and eight products per vector instruction where the CPU
// has AVX2. The output gradient is laid out once per call
// position-major (og channels per output position, scaled per channel), so
// that each tap reads og contiguous floats; with unit stride and dilation
// along the width the taps of a kernel row reach consecutive output
// positions, and with the kernel columns stored reversed a kernel row is
// one run of KW·og floats in both operands. Input positions of a row a
// stride apart that are reached by the same kernel columns meet the same
// slopes against output positions one further on, so such a span is one
// call of the vector kernel (spanDots). Which taps reach an input row or
// column, and the spans of a row, are listed once per call, so the walk
// neither divides nor tests bounds per product, and each input position is
// written once, by the task of its channel and chunk of images: no col2im
// scatter, no partial sums, and sums in an order fixed by the shape.
//
// Weight gradient: by sums along the output positions of each tap's
// pre-gathered slopes (tapsums.go) for groups of more than eight output
// channels, by histograms of the output gradient over activation codes
// (histogram.go) for narrower groups, depthwise ones among them.

// convJob is one convolution gradient call: its arguments and the memory
// kept between calls (in a Workspace, or pooled).
type convJob struct {
	t       *Tables
	p       params
	g       geom.Conv
	out, dy []float32
	x, w    []byte

	k, oh, ow, opos, og, cg int

	// Data gradient: weights transposed per group (l-major, og channels
	// per tap) and, per input row and column, the taps that reach it.
	wT               []byte
	rowTaps, colTaps []tap
	rowAt, colAt     []int32 // taps of row iy are rowTaps[rowAt[iy]:rowAt[iy+1]]
	runs             bool    // kernel columns reversed in wT (see prepareData)
	// Data gradient: the spans of the input columns (see spans), the same
	// for every input row; the output gradient of every image and group,
	// position-major and scaled (N×Groups×positions×og); the weight zero
	// points as float32, one per output channel.
	spanList []span
	dT       []float32
	zw32     []float32
	// Both gradients: chunks of images, images per chunk. Weight
	// gradient: taps per task, tasks per chunk, and per (group, chunk) the
	// contracted sums (tap-major, og per tap) and the sums of dy per
	// channel.
	chunks, perChunk int
	tapBlock, splits int
	tapSums          bool // weight gradient by tap sums, not histograms
	partial, colSum  []float64

	sw, zw []float64
}

// tap is a kernel row (or column) index and the output row (column) it
// reaches from a given input row (column).
type tap struct{ k, o int32 }

var convJobs = sync.Pool{New: func() any { return new(convJob) }}

// convScratch is one task's memory; pooled, so that tasks running at the
// same time each have their own and calls in steady state allocate nothing.
type convScratch struct {
	m     []float32 // data gradient: one channel's slopes, 256 rows (see convData.task)
	segs  []seg     // data gradient: an input position's runs of terms
	dots  []float32 // data gradient: a span's dot products
	codes []byte    // data gradient: a span's activation codes
	// Weight gradient: a chunk's output gradient, position-major; the
	// chunk's padded planes of one input channel; one tap's histogram,
	// 256 codes × og.
	dT     []float32
	planes []byte
	hist   []float32
	// One tap's weight codes, one per output channel of the group, its
	// slopes against every activation code and its contracted sums, as
	// many columns as the histogram.
	wl     []byte
	slopes []float32
	sums   []float64
	// Tap sums (see tapsums.go): one walk's float32 sums, its taps'
	// offsets in the padded planes, and the channel in each slot of
	// planes.
	acc    []float32
	offs   [tapSumTaps]int
	slotOf [tapSumTaps + 1]int
}

var convScratches = sync.Pool{New: func() any { return new(convScratch) }}

func (j *convJob) setup(t *Tables, p params, g geom.Conv, out, dy []float32, x, w []byte) {
	j.t, j.p, j.g, j.out, j.dy, j.x, j.w = t, p, g, out, dy, x, w
	j.k, j.oh, j.ow = g.FanIn(), g.OutH(), g.OutW()
	j.opos, j.og, j.cg = j.oh*j.ow, g.OutPerGroup(), g.InPerGroup()
}

// workThreads is threads, or 1 when the call is too small to share.
func workThreads(products, threads int) int {
	if products < minParallelProducts {
		return 1
	}
	return threads
}

// Conv2dData computes the data gradient of the approximate convolution
// kernel.Conv2d computes (activation codes x N×C×H×W, weight codes w
// O×C/Groups×KH×KW, grouped and depthwise included) from the output
// gradient dy (N×O×OutH×OutW), with the table's slope GX in place of the
// weight's value: input position p of channel c receives, from every output
// (o, position) whose receptive field reads p through weight tap (c', ky,
// kx),
//
//	dy·sw_o·(GX[x_p][w[o][c'][ky][kx]] − zw_o)
//
// with the scales and zero points of q (nil: 1 and 0). It returns what
// Conv2dDataRef returns up to float32 rounding, the same bits for every
// thread count (threads <= 0: one per core). Buffers may be longer than
// needed; only dx[:N*C*H*W] is written.
func Conv2dData(dx, dy []float32, x, w []byte, g geom.Conv, t *Tables, q *Quant, threads int, ws *Workspace) error {
	if err := checkConv("Conv2dData", dx, g.XLen(), "N*C*H*W", dy, x, w, g, t != nil); err != nil {
		return err
	}
	j := ws.convJob()
	defer ws.doneConv(j)
	p, err := resolve(q, g.O, j.sw, j.zw)
	j.sw, j.zw = p.sw, p.zw
	if err != nil {
		return err
	}
	j.setup(t, p, g, dx, dy, x, w)
	threads = workThreads(g.YLen()*j.k, threads)
	j.prepareData()
	j.dT = grow(j.dT, g.YLen())
	parallel.Run(g.N*g.Groups, threads, 1, (*convPositions)(j))
	// Chunks of images with at least minChunkPixels input positions per
	// channel, so that laying out a channel's slopes stays a small part of
	// a task, unless that leaves fewer than four tasks per thread. Each
	// input position is computed alone, so the chunks do not change the
	// result.
	j.perChunk = max(1, min(g.N, ceilDiv(minChunkPixels, g.H*g.W)))
	if want := 4 * parallel.Threads(threads); g.C*ceilDiv(g.N, j.perChunk) < want {
		j.perChunk = ceilDiv(g.N, min(g.N, ceilDiv(want, g.C)))
	}
	j.chunks = ceilDiv(g.N, j.perChunk)
	tasks := g.C * j.chunks
	parallel.RunParts(tasks, tasks, threads, (*convData)(j))
	return nil
}

// minChunkPixels is the fewest input positions per channel a data-gradient
// task walks (unless the batch has fewer): laying out the channel's slopes
// costs 256 rows, one per activation code.
const minChunkPixels = 8192

type convPositions convJob

// Run lays out, for images and groups [lo, hi) (index n*Groups+grp), the
// output gradient position-major and scaled per channel.
func (j *convPositions) Run(_, lo, hi int) {
	g := &j.g
	og, opos := j.og, j.opos
	for task := lo; task < hi; task++ {
		n, grp := task/g.Groups, task%g.Groups
		dT := j.dT[task*opos*og:][:opos*og]
		for oo := 0; oo < og; oo++ {
			o := grp*og + oo
			sw := j.p.scale(o)
			for q, d := range j.dy[(n*g.O+o)*opos:][:opos] {
				dT[q*og+oo] = float32(float64(d) * sw)
			}
		}
	}
}

// prepareData lays out the weights and tap lists the data gradient's walk
// reads: per group, tap-major weights (og output channels per tap), and
// per input row and column the taps that reach it.
//
// With unit stride and dilation along the width, the taps that reach an
// input column reach consecutive output columns, in descending kernel
// column order; the weights are then stored with the kernel columns
// reversed, so that all of a kernel row's taps at an input position are one
// run of (kernel column, channel) pairs in both the weights and the
// position-major output gradient: one gather-dot of KW·og terms instead of
// KW of og.
func (j *convJob) prepareData() {
	g := &j.g
	k, og := j.k, j.og
	j.runs = g.StrideW == 1 && g.DilW == 1
	j.wT = grow(j.wT, g.WLen())
	for grp := 0; grp < g.Groups; grp++ {
		for oo := 0; oo < og; oo++ {
			for l, b := range j.w[(grp*og+oo)*k:][:k] {
				j.wT[(grp*k+j.tapAt(l))*og+oo] = b
			}
		}
	}
	j.rowTaps, j.rowAt = reach(j.rowTaps, j.rowAt, g.H, g.KH, j.oh, g.StrideH, g.PadH, g.DilH)
	j.colTaps, j.colAt = reach(j.colTaps, j.colAt, g.W, g.KW, j.ow, g.StrideW, g.PadW, g.DilW)
	j.spanList = j.spanList[:0]
	step := g.StrideW
	if j.runs {
		step = 1
	}
	for rho := 0; rho < step; rho++ {
		for ix0 := rho; ix0 < g.W; {
			n := 1
			for prev, ix := j.colTaps[j.colAt[ix0]:j.colAt[ix0+1]], ix0+step; ix < g.W; ix += step {
				next := j.colTaps[j.colAt[ix]:j.colAt[ix+1]]
				if !shifted(prev, next) {
					break
				}
				prev = next
				n++
			}
			j.spanList = append(j.spanList, span{ix0: int32(ix0), n: int32(n)})
			ix0 += n * step
		}
	}
	j.zw32 = grow(j.zw32, g.O)
	for o := range j.zw32 {
		j.zw32[o] = float32(j.p.zero(o))
	}
}

// span is a run of input columns of a row, n of them from ix0 a step apart
// (one apart in runs mode), that are reached by the same kernel columns,
// each from the next output column (see spans).
type span struct{ ix0, n int32 }

// tapAt is where the data gradient's layout (prepareData) keeps tap l =
// (c, ky, kx).
func (j *convJob) tapAt(l int) int {
	if !j.runs {
		return l
	}
	kx := l % j.g.KW
	return l - kx + j.g.KW - 1 - kx
}

// reach lists, for each of size input rows (or columns), the kernel taps
// that reach it and the output rows they reach it from, in tap order.
func reach(taps []tap, at []int32, size, kernelSize, outSize, stride, pad, dil int) ([]tap, []int32) {
	taps = taps[:0]
	at = grow(at, size+1)
	for i := 0; i < size; i++ {
		at[i] = int32(len(taps))
		for kk := 0; kk < kernelSize; kk++ {
			// Output o reads input o*stride - pad + kk*dil.
			t := i + pad - kk*dil
			if t < 0 || t%stride != 0 || t/stride >= outSize {
				continue
			}
			taps = append(taps, tap{k: int32(kk), o: int32(t / stride)})
		}
	}
	at[size] = int32(len(taps))
	return taps, at
}

type convData convJob

// Run computes tasks [lo, hi): task ci*chunks+c is input channel ci of the
// images of chunk c.
func (j *convData) Run(_, lo, hi int) {
	s := convScratches.Get().(*convScratch)
	for task := lo; task < hi; task++ {
		j.task(s, task/j.chunks, task%j.chunks)
	}
	convScratches.Put(s)
}

func (j *convData) task(s *convScratch, ci, chunk int) {
	g := &j.g
	og, k, opos := j.og, j.k, j.opos
	grp, c := ci/j.cg, ci%j.cg
	taps := g.KH * g.KW
	width := taps * og
	// The channel's slopes: row a holds GX[a][w] − zw for each of its
	// weights, in the order of the transposed weights, so that a position's
	// dot product takes the zero points' share with the slopes.
	wc := j.wT[(grp*k+c*taps)*og:][:width]
	s.m = grow(s.m, 256*width)
	s.segs = grow(s.segs, taps)
	slopes(s.m, wc, width, &j.t.gx, &j.t.gxT)
	if zw := j.zw32[grp*og : (grp+1)*og]; anyNonZero(zw) {
		for a := range 256 {
			m := s.m[a*width:][:width]
			for i := 0; i < width; i += og {
				for oo, z := range zw {
					m[i+oo] -= z
				}
			}
		}
	}
	hw := g.H * g.W
	for n := chunk * j.perChunk; n < min((chunk+1)*j.perChunk, g.N); n++ {
		task := n*g.Groups + grp
		dT := j.dT[task*opos*og:][:opos*og]
		xs := j.x[(n*g.C+ci)*hw:][:hw]
		out := j.out[(n*g.C+ci)*hw:][:hw]
		for iy := 0; iy < g.H; iy++ {
			rows := j.rowTaps[j.rowAt[iy]:j.rowAt[iy+1]]
			(*convJob)(j).spans(s, width, rows, xs[iy*g.W:][:g.W], dT, out[iy*g.W:][:g.W])
		}
	}
}

func anyNonZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return true
		}
	}
	return false
}

// spans computes one input row's data gradients, a span of columns (see
// prepareData) at a time. The members of a span meet the same segments of
// terms, each one output position further on than the one before, so a
// span is one spanDots call. A segment is a kernel row's run of taps in
// runs mode (where the stride and dilation along the width are 1), one tap
// otherwise.
func (j *convJob) spans(s *convScratch, width int, rows []tap, xs []byte, dT []float32, out []float32) {
	g := &j.g
	og, ow := j.og, j.ow
	step := g.StrideW
	if j.runs {
		step = 1
	}
	s.dots = grow(s.dots, g.W)
	s.codes = grow(s.codes, g.W)
	for _, sp := range j.spanList {
		ix0, n := int(sp.ix0), int(sp.n)
		cols := j.colTaps[j.colAt[ix0]:j.colAt[ix0+1]]
		if len(cols) == 0 || len(rows) == 0 {
			for p := 0; p < n; p++ {
				out[ix0+p*step] = 0
			}
			continue
		}
		segs := s.segs[:0]
		runWidth := og
		if j.runs {
			last := cols[len(cols)-1]
			kr, ox := g.KW-1-int(last.k), int(last.o)
			runWidth = len(cols) * og
			for _, r := range rows {
				segs = append(segs, seg{a: int32((int(r.k)*g.KW + kr) * og), b: int32((int(r.o)*ow + ox) * og)})
			}
			// Consecutive columns: their codes and results are
			// contiguous.
			spanDots(s.m, width, xs[ix0:ix0+n], dT, og, segs, runWidth, out[ix0:ix0+n])
			continue
		}
		for _, r := range rows {
			for _, cl := range cols {
				segs = append(segs, seg{a: int32((int(r.k)*g.KW + int(cl.k)) * og), b: int32((int(r.o)*ow + int(cl.o)) * og)})
			}
		}
		codes := s.codes[:n]
		for p := range codes {
			codes[p] = xs[ix0+p*step]
		}
		dots := s.dots[:n]
		spanDots(s.m, width, codes, dT, og, segs, runWidth, dots)
		for p, v := range dots {
			out[ix0+p*step] = v
		}
	}
}

// shifted reports whether input column b is reached by the same kernel
// columns as a, each from the next output column.
func shifted(a, b []tap) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if b[i].k != a[i].k || b[i].o != a[i].o+1 {
			return false
		}
	}
	return true
}

// Conv2dWeight computes the weight gradient of the convolution
// Conv2dData differentiates, with the table's slope GW in place of the
// activation's value: weight tap (c, ky, kx) of output channel o receives,
// over every image and output position,
//
//	sx·dy·(GW[a][w[o][c][ky][kx]] − zx)
//
// where a is the activation code the tap reads there, and outside the input
// the code of q's activation zero point (what the forward pass reads). dw
// has the layout of w. Threads and buffers as Conv2dData.
func Conv2dWeight(dw, dy []float32, x, w []byte, g geom.Conv, t *Tables, q *Quant, threads int, ws *Workspace) error {
	if err := checkConv("Conv2dWeight", dw, g.WLen(), "O*(C/Groups)*KH*KW", dy, x, w, g, t != nil); err != nil {
		return err
	}
	j := ws.convJob()
	defer ws.doneConv(j)
	p, err := resolve(q, g.O, j.sw, j.zw)
	j.sw, j.zw = p.sw, p.zw
	if err != nil {
		return err
	}
	j.setup(t, p, g, dw, dy, x, w)
	conv2dWeightHist(j, workThreads(g.YLen()*j.k, threads))
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// padPlanes writes into planes the planes of input channel ci of images
// [n0, n1), each hp×wp, the input at row PadH and column PadW and the pad
// code around it.
func (j *convJob) padPlanes(planes []byte, ci, n0, n1, hp, wp int) {
	g := &j.g
	hw := g.H * g.W
	// Only the border takes the pad code: the rows above and below the
	// input, and the columns left and right of each input row.
	fill := func(b []byte) {
		for i := range b {
			b[i] = j.p.pad
		}
	}
	for n := n0; n < n1; n++ {
		p := planes[(n-n0)*hp*wp:][:hp*wp]
		fill(p[:g.PadH*wp])
		fill(p[(g.PadH+g.H)*wp:])
		x := j.x[(n*g.C+ci)*hw:][:hw]
		for iy := 0; iy < g.H; iy++ {
			row := p[(g.PadH+iy)*wp:][:wp]
			fill(row[:g.PadW])
			copy(row[g.PadW:], x[iy*g.W:(iy+1)*g.W])
			fill(row[g.PadW+g.W:])
		}
	}
}
