package kernel

import (
	"encoding/binary"
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
// The column matrix is never materialised. Output positions are the SIMD
// lanes, and each task builds, in a per-thread buffer, what one block of at
// most maxLanes positions reads, in one of two forms chosen by a cost
// estimate:
//   - a column panel (im2col of the block only), lanes over the positions of
//     all images, so small feature maps still fill the lanes;
//   - direct: the padded input rows of one image split into stride phases,
//     so that for every kernel tap the block's lanes read one contiguous
//     window and the buffer costs about one byte per input pixel instead of
//     one per product. It wastes the lanes of a few padding columns.
//
// Depthwise and grouped layers use the same lanes as dense ones (positions,
// not channels), so they run at the same speed per product.
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
	// direct mode: the padded input of one channel is split into
	// StrideH×StrideW phase planes of wq columns; lane y*wq+x is output
	// position (y, x), wasted for x >= OW.
	wq int
	// Work units per group: lane blocks in im2col mode; in direct mode
	// spans of up to spanBlocks lane blocks of one image, spansPerImage of
	// them per image, which share one build of the input rows.
	blocks                    int
	spanBlocks, spansPerImage int
	ochunk, ochunks           int
}

var convJobs = sync.Pool{New: func() any { return new(convJob) }}

func convWith(im *impl, mode convMode, acc []int32, x, w []byte, pad byte, g ConvGeom, p *Prepared, threads int) error {
	if err := checkConv(acc, x, w, g, p); err != nil {
		return err
	}
	im = im.forTable(p)
	j := convJobs.Get().(*convJob)
	*j = convJob{im: im, lay: &p.byW, acc: acc, x: x, w: w, pad: pad, g: g}
	j.k, j.oh, j.ow = g.FanIn(), g.OutH(), g.OutW()
	j.opos = j.oh * j.ow
	j.wq = ceilDiv(g.W+2*g.PadW, g.StrideW)
	if im.biased {
		j.bias = int32(j.k) * p.base
	}
	og := g.OutPerGroup()
	switch mode {
	case convDirect:
		j.direct = true
	case convAuto:
		// Cost in lookups, counting a gathered byte as two lookups: the
		// panel gathers one byte per product of a block, the direct form
		// about one per input pixel but wastes the padding columns' lanes.
		im2col := og*j.k*roundLanes(g.N*j.opos) + 2*j.k*g.N*j.opos
		direct := og*j.k*g.N*roundLanes(j.oh*j.wq) + 2*g.InPerGroup()*g.N*(g.H+2*g.PadH)*(g.W+2*g.PadW)
		j.direct = direct < im2col
	}
	if j.direct {
		// A span's buffer holds about planes*(maxLanes+wq) bytes per block;
		// keep it within about 48 KiB so it stays in the L1/L2 caches.
		planes := g.InPerGroup() * g.StrideH * g.StrideW
		perImage := ceilDiv(j.oh*j.wq, maxLanes)
		j.spanBlocks = min(perImage, max(1, 48<<10/(planes*(maxLanes+j.wq))))
		j.spansPerImage = ceilDiv(perImage, j.spanBlocks)
		j.blocks = g.N * j.spansPerImage
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
	og := j.g.OutPerGroup()
	o0 := grp*og + oc*j.ochunk
	o1 := min(o0+j.ochunk, (grp+1)*og)
	if !j.direct {
		nl := j.buildIm2col(s, grp, b)
		j.outputs(s, o0, o1, nl)
		return
	}
	n, span := b/j.spansPerImage, b%j.spansPerImage
	q0 := span * j.spanBlocks * maxLanes
	q1 := min(q0+j.spanBlocks*maxLanes, j.oh*j.wq)
	y0 := j.buildDirect(s, grp, n, q0, q1)
	for ; q0 < q1; q0 += maxLanes {
		nl := j.directBlock(s, n, y0, q0, min(maxLanes, q1-q0))
		j.outputs(s, o0, o1, nl)
	}
}

// outputs computes output channels o0..o1 for the block of nl lanes that s
// describes and writes them to acc.
func (j *convJob) outputs(s *scratch, o0, o1, nl int) {
	for o := o0; o < o1; o++ {
		j.im.row(j.lay, j.w[o*j.k:][:j.k], s.offs, s.src, nl, j.bias, &s.out)
		at := o * j.opos
		for _, r := range s.runs {
			copy(j.acc[at+r.dst:][:r.n], s.out[r.lane:r.lane+r.n])
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
	s.runs = s.runs[:0]
	for q := 0; q < nl; {
		n, pos := (q0+q)/j.opos, (q0+q)%j.opos
		r := run{lane: q, dst: n*g.O*j.opos + pos, n: min(j.opos-pos, nl-q)}
		s.runs = append(s.runs, r)
		q += r.n
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

// buildDirect fills s.src for lanes q0..q1 of image n in direct mode and
// returns the first output row they cover. The padded input of each channel
// of the group is split into phase planes: plane (ph, pw) holds padded
// pixel (r*StrideH+ph, c*StrideW+pw) at row r, column c; s.src keeps the
// rows the lanes read, rows*wq bytes per plane. Tap (ky, kx) then reads,
// for output (y, x), plane ((ky*DilH)%StrideH, (kx*DilW)%StrideW) at
// (y + ky*DilH/StrideH, x + kx*DilW/StrideW): a fixed shift of lane y*wq+x.
func (j *convJob) buildDirect(s *scratch, grp, n, q0, q1 int) (y0 int) {
	g := j.g
	wq, sh, sw := j.wq, g.StrideH, g.StrideW
	y0 = q0 / wq
	rows := (q1-1)/wq + (g.KH-1)*g.DilH/sh - y0 + 1
	cg := g.InPerGroup()
	planes := cg * sh * sw
	// The largest offset a block uses is below planes*rows*wq + wq, and the
	// kernel reads up to maxLanes bytes from it; the slack bytes feed only
	// lanes whose sums are dropped, so they are not initialised.
	s.src = growBytes(s.src, planes*rows*wq+wq+maxLanes)
	s.offs = growInt32(s.offs, j.k)
	s.taps = growInt32(s.taps, j.k)
	for c := 0; c < cg; c++ {
		xc := j.x[(n*g.C+grp*cg+c)*g.H*g.W:][:g.H*g.W]
		for ph := 0; ph < sh; ph++ {
			for r := 0; r < rows; r++ {
				iy := (y0+r)*sh + ph - g.PadH
				for pw := 0; pw < sw; pw++ {
					buf := s.src[(((c*sh+ph)*sw+pw)*rows+r)*wq:][:wq]
					if iy < 0 || iy >= g.H {
						fill(buf, j.pad)
					} else {
						gather(buf, xc[iy*g.W:][:g.W], pw-g.PadW, sw, j.pad)
					}
				}
			}
		}
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				dy, dx := ky*g.DilH, kx*g.DilW
				plane := (c*sh+dy%sh)*sw + dx%sw
				s.taps[(c*g.KH+ky)*g.KW+kx] = int32((plane*rows+dy/sh)*wq + dx/sw)
			}
		}
	}
	return y0
}

// directBlock sets the offsets and output runs of the nl lanes from q0 of a
// span whose rows buildDirect put in s.src from output row y0.
func (j *convJob) directBlock(s *scratch, n, y0, q0, nl int) int {
	shift := int32(q0 - y0*j.wq)
	for l, t := range s.taps {
		s.offs[l] = t + shift
	}
	s.runs = s.runs[:0]
	y := q0 / j.wq
	for lo := q0; lo < q0+nl; y++ {
		hi := min(q0+nl, y*j.wq+j.ow)
		if lo < hi {
			s.runs = append(s.runs, run{lane: lo - q0, dst: n*j.g.O*j.opos + lo - y*j.wq + y*j.ow, n: hi - lo})
		}
		lo = (y + 1) * j.wq
	}
	return nl
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// gather sets seg[t] = xrow[ix0+t*stride], or pad where that index falls
// outside the row.
func gather(seg, xrow []byte, ix0, stride int, pad byte) {
	// seg[lo:hi] are the positions inside the row.
	lo := min(ceilDiv(max(-ix0, 0), stride), len(seg))
	hi := lo
	if last := len(xrow) - 1 - ix0; last >= 0 {
		hi = min(max(last/stride+1, lo), len(seg))
	}
	fill(seg[:lo], pad)
	if hi > lo {
		switch stride {
		case 1:
			copy(seg[lo:hi], xrow[ix0+lo:])
		case 2:
			evenBytes(seg[lo:hi], xrow[ix0+lo*2:])
		default:
			in := xrow[ix0+lo*stride:]
			for t := range seg[lo:hi] {
				seg[lo+t] = in[t*stride]
			}
		}
	}
	fill(seg[hi:], pad)
}

// evenBytes sets out[t] = in[2t], eight bytes per step (stride-2 layers
// spend most of their input gathering here).
func evenBytes(out, in []byte) {
	t := 0
	for ; t+8 <= len(out) && 2*t+16 <= len(in); t += 8 {
		a := binary.LittleEndian.Uint64(in[2*t:])
		b := binary.LittleEndian.Uint64(in[2*t+8:])
		binary.LittleEndian.PutUint64(out[t:], packEven(a)|packEven(b)<<32)
	}
	for ; t < len(out); t++ {
		out[t] = in[2*t]
	}
}

// packEven moves bytes 0, 2, 4, 6 of v to bytes 0..3.
func packEven(v uint64) uint64 {
	v &= 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	return (v | v>>16) & 0xFFFFFFFF
}
