package kernel

import (
	"fmt"
	"sync"
)

// Conv2d computes exactly what Conv2dRef computes, fast: the grouped NCHW
// convolution (stride, padding, dilation, groups including depthwise) of
// activation codes x (N×C×H×W) with weight codes w (O×C/Groups×KH×KW), where
// every product is table[x<<8|w], positions outside the input read the code
// pad, and acc (N×O×OutH×OutW) receives the int32 sums. threads and buffer
// rules are those of GEMM.
//
// im2col is fused into the kernel: each task builds the columns of at most
// maxLanes output positions in a per-thread panel, never the full column
// matrix. Output positions of all images of a group are the SIMD lanes, so
// a depthwise layer with its one input channel per group keeps the lanes as
// full as a dense one. For stride 1 the kernel can also read shifted windows
// of a padded copy of the input rows directly (no column panel at all); a
// cost estimate picks whichever moves fewer bytes per lookup.
func Conv2d(acc []int32, x, w []byte, pad byte, g ConvGeom, p *Prepared, threads int) error {
	return convWith(current(), convAuto, acc, x, w, pad, g, p, threads)
}

// convMode chooses how lanes read activations; tests force each one.
type convMode int

const (
	convAuto   convMode = iota
	convIm2col          // lanes over (image, output position) of a column panel
	convDirect          // stride 1 only: lanes over padded-width positions of one image
)

func checkConv(acc []int32, x, w []byte, g ConvGeom, p *Prepared) error {
	if p == nil {
		return fmt.Errorf("kernel: Conv2d needs a prepared table (kernel.Prepare), got nil")
	}
	if err := g.Validate(); err != nil {
		return err
	}
	switch {
	case len(x) < g.XLen():
		return fmt.Errorf("kernel: conv2d input holds %d codes, need N*C*H*W = %d", len(x), g.XLen())
	case len(w) < g.WLen():
		return fmt.Errorf("kernel: conv2d weights hold %d codes, need O*(C/Groups)*KH*KW = %d", len(w), g.WLen())
	case len(acc) < g.YLen():
		return fmt.Errorf("kernel: conv2d output holds %d sums, need N*O*OutH*OutW = %d", len(acc), g.YLen())
	}
	return nil
}

type convJob struct {
	im   *impl
	lay  *layout
	acc  []int32
	x, w []byte
	pad  byte
	g    ConvGeom
	bias int32

	direct       bool
	k            int // fan-in, the length of one weight row
	oh, ow, opos int // output height, width, positions per image
	wp           int // padded input width (direct mode)
	// lane blocks per group; in direct mode blocksPerImage per image.
	blocks, blocksPerImage int
	ochunk, ochunks        int
}

var convJobs = sync.Pool{New: func() any { return new(convJob) }}

func convWith(im *impl, mode convMode, acc []int32, x, w []byte, pad byte, g ConvGeom, p *Prepared, threads int) error {
	if err := checkConv(acc, x, w, g, p); err != nil {
		return err
	}
	stride1 := g.StrideH == 1 && g.StrideW == 1
	if mode == convDirect && !stride1 {
		return fmt.Errorf("kernel: direct conv2d needs stride 1, got (%d, %d)", g.StrideH, g.StrideW)
	}
	im = im.forTable(p)
	j := convJobs.Get().(*convJob)
	*j = convJob{im: im, lay: &p.byW, acc: acc, x: x, w: w, pad: pad, g: g}
	j.k, j.oh, j.ow = g.FanIn(), g.OutH(), g.OutW()
	j.opos = j.oh * j.ow
	j.wp = g.W + 2*g.PadW
	if im.biased {
		j.bias = int32(j.k) * p.base
	}
	og := g.OutPerGroup()
	switch mode {
	case convDirect:
		j.direct = true
	case convAuto:
		if stride1 {
			// Cost in lookups: the column panel costs about two lookups'
			// time per gathered byte; the direct form wastes the lanes of
			// the padding columns instead.
			im2col := og*j.k*roundLanes(g.N*j.opos) + 2*j.k*g.N*j.opos
			direct := og*j.k*g.N*roundLanes(j.oh*j.wp) + g.C*g.N*(g.H+2*g.PadH)*j.wp
			j.direct = direct < im2col
		}
	}
	if j.direct {
		j.blocksPerImage = ceilDiv(j.oh*j.wp, maxLanes)
		j.blocks = g.N * j.blocksPerImage
	} else {
		j.blocks = ceilDiv(g.N*j.opos, maxLanes)
	}
	threads = resolveThreads(threads)
	threads = min(threads, 1+g.YLen()*j.k/minParallelWork)
	j.ochunks = 1
	if tasks := g.Groups * j.blocks; tasks < 4*threads {
		j.ochunks = min(og, ceilDiv(4*threads, tasks))
	}
	j.ochunk = ceilDiv(og, j.ochunks)
	j.ochunks = ceilDiv(og, j.ochunk)
	parallel(j, g.Groups*j.blocks*j.ochunks, threads)
	*j = convJob{}
	convJobs.Put(j)
	return nil
}

func (j *convJob) runTask(t int, s *scratch) {
	oc := t % j.ochunks
	b := t / j.ochunks % j.blocks
	grp := t / j.ochunks / j.blocks
	var nl int
	if j.direct {
		nl = j.buildDirect(s, grp, b)
	} else {
		nl = j.buildIm2col(s, grp, b)
	}
	og := j.g.OutPerGroup()
	o0 := grp*og + oc*j.ochunk
	o1 := min(o0+j.ochunk, (grp+1)*og)
	perm := j.im.perm
	dst := s.dst[:nl]
	for o := o0; o < o1; o++ {
		j.im.row(j.lay, j.w[o*j.k:][:j.k], s.offs, s.src, nl, &s.out)
		at := o * j.opos
		for q, d := range dst {
			if d >= 0 {
				j.acc[at+d] = s.out[perm[q]] + j.bias
			}
		}
	}
}

// buildIm2col fills s with the column panel of lane block b of group grp:
// lanes are output positions counted over all images (image-major), the
// panel row of fan-in step l = (c, ky, kx) holds at lane q the activation
// that weight (c, ky, kx) multiplies for that position.
func (j *convJob) buildIm2col(s *scratch, grp, b int) int {
	g := j.g
	q0 := b * maxLanes
	nl := min(maxLanes, g.N*j.opos-q0)
	s.src = growBytes(s.src, j.k*maxLanes)
	s.offs = growInt32(s.offs, j.k)
	s.dst = growInts(s.dst, maxLanes)
	n, pos := q0/j.opos, q0%j.opos
	for q := 0; q < nl; q++ {
		s.dst[q] = n*g.O*j.opos + pos
		if pos++; pos == j.opos {
			n, pos = n+1, 0
		}
	}
	cg := g.InPerGroup()
	for c := 0; c < cg; c++ {
		ci := grp*cg + c
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				l := (c*g.KH+ky)*g.KW + kx
				s.offs[l] = int32(l * maxLanes)
				row := s.src[l*maxLanes:][:nl]
				n, pos := q0/j.opos, q0%j.opos
				oy, ox := pos/j.ow, pos%j.ow
				for q := 0; q < nl; {
					run := min(j.ow-ox, nl-q)
					seg := row[q : q+run]
					iy := oy*g.StrideH - g.PadH + ky*g.DilH
					if iy < 0 || iy >= g.H {
						fill(seg, j.pad)
					} else {
						xrow := j.x[((n*g.C+ci)*g.H+iy)*g.W:][:g.W]
						gather(seg, xrow, ox*g.StrideW-g.PadW+kx*g.DilW, g.StrideW, j.pad)
					}
					q += run
					if ox += run; ox == j.ow {
						ox = 0
						if oy++; oy == j.oh {
							oy, n = 0, n+1
						}
					}
				}
			}
		}
	}
	return nl
}

// buildDirect fills s for lane block b of one image in direct mode: lanes
// are positions y*wp+x of the output in padded-width coordinates (x >= OW
// are wasted lanes), and src holds the padded input rows the block reads,
// so fan-in step (c, ky, kx) is a plain shift of the block's window.
func (j *convJob) buildDirect(s *scratch, grp, b int) int {
	g := j.g
	n, bb := b/j.blocksPerImage, b%j.blocksPerImage
	wp := j.wp
	q0 := bb * maxLanes
	nl := min(maxLanes, j.oh*wp-q0)
	y0 := q0 / wp
	rows := (q0+nl-1)/wp + (g.KH-1)*g.DilH - y0 + 1
	cg := g.InPerGroup()
	// The largest offset is below cg*rows*wp + wp, and the kernel reads up
	// to maxLanes bytes from it.
	s.src = growBytes(s.src, cg*rows*wp+wp+maxLanes)
	s.offs = growInt32(s.offs, j.k)
	s.dst = growInts(s.dst, maxLanes)
	fill(s.src[cg*rows*wp:], j.pad)
	for c := 0; c < cg; c++ {
		ci := grp*cg + c
		for r := 0; r < rows; r++ {
			buf := s.src[(c*rows+r)*wp:][:wp]
			iy := y0 + r - g.PadH
			if iy < 0 || iy >= g.H {
				fill(buf, j.pad)
				continue
			}
			fill(buf[:g.PadW], j.pad)
			copy(buf[g.PadW:], j.x[((n*g.C+ci)*g.H+iy)*g.W:][:g.W])
			fill(buf[g.PadW+g.W:], j.pad)
		}
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				l := (c*g.KH+ky)*g.KW + kx
				s.offs[l] = int32(c*rows*wp + ky*g.DilH*wp + kx*g.DilW + q0 - y0*wp)
			}
		}
	}
	y, x := y0, q0-y0*wp
	for q := 0; q < nl; q++ {
		s.dst[q] = -1
		if x < j.ow {
			s.dst[q] = n*g.O*j.opos + y*j.ow + x
		}
		if x++; x == wp {
			x, y = 0, y+1
		}
	}
	return nl
}

func growInts(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// gather sets seg[t] = xrow[ix0+t*stride], or pad where that index falls
// outside the row.
func gather(seg, xrow []byte, ix0, stride int, pad byte) {
	if stride == 1 {
		lo := min(max(-ix0, 0), len(seg))
		hi := min(max(len(xrow)-ix0, lo), len(seg))
		fill(seg[:lo], pad)
		if hi > lo {
			copy(seg[lo:hi], xrow[ix0+lo:])
		}
		fill(seg[hi:], pad)
		return
	}
	for t := range seg {
		ix := ix0 + t*stride
		if ix >= 0 && ix < len(xrow) {
			seg[t] = xrow[ix]
		} else {
			seg[t] = pad
		}
	}
}
