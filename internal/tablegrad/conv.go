package tablegrad

import (
	"sync"

	"github.com/goapprox/goapprox/internal/parallel"
	"github.com/goapprox/goapprox/ops/kernel"
)

// How the convolution gradients are fast: both are gather-dots (dot.go)
// without a column matrix of the whole batch.
//
// Data gradient: one task per (image, group) walks the input positions
// of the group's channels; the activation code there fixes a row of GX,
// and every valid kernel tap contributes one gather-dot over the group's
// output channels, of the output gradient at the output position the tap
// reaches (the image's output gradient transposed to position-major, scaled
// per channel) and the tap's weight codes (transposed once per call to
// one run of output channels per tap). Which taps reach an input row or
// column is listed once per call, so the walk neither divides nor tests
// bounds per product, and each input position is written once, by its
// task: no col2im scatter, no partial sums.
//
// Weight gradient: by histograms of the output gradient over activation
// codes, see histogram.go.

// convJob is one convolution gradient call: its arguments and the memory
// kept between calls (in a Workspace, or pooled).
type convJob struct {
	t       *Tables
	p       params
	g       kernel.ConvGeom
	out, dy []float32
	x, w    []byte

	k, oh, ow, opos, og, cg int

	// Data gradient: weights transposed per group (l-major, og channels
	// per tap) and, per input row and column, the taps that reach it.
	wT               []byte
	rowTaps, colTaps []tap
	rowAt, colAt     []int32 // taps of row iy are rowTaps[rowAt[iy]:rowAt[iy+1]]
	runs             bool    // kernel columns reversed in wT (see prepareData)
	// Weight gradient and fused pass: chunks of images; fused: per task
	// the weight-gradient sums (acc), the padding's shares and the
	// per-channel sums of dy (see Conv2dBoth).
	chunks int
	// Histogram weight gradient: images per chunk, taps per task, task
	// splits per chunk, and per (group, chunk, tap, channel) the
	// contracted sums.
	perChunk, tapBlock, splits int
	partial                    []float64
	dw                         []float32
	acc                        []float32
	padSum, colSum             []float64

	sw, zw []float64
}

// tap is a kernel row (or column) index and the output row (column) it
// reaches from a given input row (column).
type tap struct{ k, o int32 }

var convJobs = sync.Pool{New: func() any { return new(convJob) }}

// convScratch is one task's memory; pooled, so that tasks running at the
// same time each have their own and calls in steady state allocate nothing.
type convScratch struct {
	dT   []float32 // data gradient: output gradient of one image and group, position-major
	corr []float64 // data gradient: per output position, Σ_o dT·zw_o
	col  []byte    // weight gradient: one tap's activation codes over an image's output positions
	// fused: 2-D prefix sums of one channel's output gradient
	prefix []float64
	// histogram weight gradient: one tap's histogram, 256 codes × og
	hist []float32
}

var convScratches = sync.Pool{New: func() any { return new(convScratch) }}

func (j *convJob) setup(t *Tables, p params, g kernel.ConvGeom, out, dy []float32, x, w []byte) {
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
func Conv2dData(dx, dy []float32, x, w []byte, g kernel.ConvGeom, t *Tables, q *Quant, threads int, ws *Workspace) error {
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
	j.prepareData()
	tasks := g.N * g.Groups
	parallel.RunParts(tasks, tasks, workThreads(g.YLen()*j.k, threads), (*convData)(j))
	return nil
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
}

// tapAt is where the data gradient's layout (prepareData) keeps tap l =
// (c, ky, kx).
func (j *convJob) tapAt(l int) int {
	if !j.runs {
		return l
	}
	kx := l % j.g.KW
	return l - kx + j.g.KW - 1 - kx
}

// pixel returns the data gradient at an input position of channel c (its
// index in the group) whose code is a, reached by the taps rows × cols,
// from the image's position-major output gradient in s and the group's
// weights wT. With acc it also adds each product's weight-gradient term
// there (tap-major as wT).
func (j *convJob) pixel(s *convScratch, wT []byte, c int, a byte, rows, cols []tap, acc []float32) float64 {
	if len(cols) == 0 {
		return 0
	}
	g := &j.g
	og := j.og
	var sum float64
	if j.runs {
		// The taps of a kernel row: kernel columns cols[n-1].k down to
		// cols[0].k, output columns from cols[n-1].o up.
		last := cols[len(cols)-1]
		kr, ox, cnt := g.KW-1-int(last.k), int(last.o), len(cols)
		for _, r := range rows {
			l := (c*g.KH+int(r.k))*g.KW + kr
			q := int(r.o)*j.ow + ox
			d, ws := s.dT[q*og:(q+cnt)*og], wT[l*og:(l+cnt)*og]
			var v float32
			if acc != nil {
				v = dotAxpy(d, ws, &j.t.gx[a], &j.t.gw[a], acc[l*og:(l+cnt)*og])
			} else {
				v = dot(d, ws, &j.t.gx[a])
			}
			sum += float64(v)
			for _, cr := range s.corr[q : q+cnt] {
				sum -= cr
			}
		}
		return sum
	}
	for _, r := range rows {
		lrow := (c*g.KH + int(r.k)) * g.KW
		qrow := int(r.o) * j.ow
		for _, cl := range cols {
			l, q := lrow+int(cl.k), qrow+int(cl.o)
			d, ws := s.dT[q*og:(q+1)*og], wT[l*og:(l+1)*og]
			var v float32
			if acc != nil {
				v = dotAxpy(d, ws, &j.t.gx[a], &j.t.gw[a], acc[l*og:(l+1)*og])
			} else {
				v = dot(d, ws, &j.t.gx[a])
			}
			sum += float64(v) - s.corr[q]
		}
	}
	return sum
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

// Run computes tasks [lo, hi): task n*Groups+grp is image n, group grp.
func (j *convData) Run(_, lo, hi int) {
	s := convScratches.Get().(*convScratch)
	for task := lo; task < hi; task++ {
		j.task(s, task/j.g.Groups, task%j.g.Groups)
	}
	convScratches.Put(s)
}

func (j *convData) task(s *convScratch, n, grp int) {
	g := &j.g
	og, k := j.og, j.k
	j.gradientPositions(s, n, grp)
	wT := j.wT[grp*k*og:][:k*og]
	hw := g.H * g.W
	for c := 0; c < j.cg; c++ {
		ci := grp*j.cg + c
		xs := j.x[(n*g.C+ci)*hw:][:hw]
		out := j.out[(n*g.C+ci)*hw:][:hw]
		for iy := 0; iy < g.H; iy++ {
			rows := j.rowTaps[j.rowAt[iy]:j.rowAt[iy+1]]
			for ix := 0; ix < g.W; ix++ {
				cols := j.colTaps[j.colAt[ix]:j.colAt[ix+1]]
				out[iy*g.W+ix] = float32((*convJob)(j).pixel(s, wT, c, xs[iy*g.W+ix], rows, cols, nil))
			}
		}
	}
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
func Conv2dWeight(dw, dy []float32, x, w []byte, g kernel.ConvGeom, t *Tables, q *Quant, threads int, ws *Workspace) error {
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

// tapCodes writes into dst, for every output position, the activation code
// kernel position (ky, kx) reads there from one input channel's plane, the
// pad code where it falls outside the input.
func (j *convJob) tapCodes(dst, plane []byte, ky, kx int) {
	g := &j.g
	pad := j.p.pad
	ow := j.ow
	// Output columns [lo, hi) read inside the row.
	ix0 := kx*g.DilW - g.PadW
	lo, hi := inside(ow, g.W, g.StrideW, g.PadW, kx*g.DilW)
	for oy := 0; oy < j.oh; oy++ {
		seg := dst[oy*ow : (oy+1)*ow]
		iy := oy*g.StrideH - g.PadH + ky*g.DilH
		if iy < 0 || iy >= g.H {
			for i := range seg {
				seg[i] = pad
			}
			continue
		}
		xrow := plane[iy*g.W : (iy+1)*g.W]
		for i := range seg[:lo] {
			seg[i] = pad
		}
		if g.StrideW == 1 {
			copy(seg[lo:hi], xrow[ix0+lo:])
		} else {
			for ox := lo; ox < hi; ox++ {
				seg[ox] = xrow[ix0+ox*g.StrideW]
			}
		}
		for i := hi; i < ow; i++ {
			seg[i] = pad
		}
	}
}
