package errmodel

import (
	"fmt"
	"math/rand"

	"github.com/goapprox/goapprox/ops/geom"
)

// sample returns the indices of the fields to read: all of them when
// total <= limit or limit <= 0, otherwise limit distinct indices chosen by a
// generator seeded with seed.
func sample(total, limit int, seed int64) []int {
	if limit <= 0 || total <= limit {
		idx := make([]int, total)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rand.New(rand.NewSource(seed)).Perm(total)[:limit]
}

// LinearFields returns the receptive fields of a linear layer: each row of
// the (batch, in) activation codes is one field of in codes. At most limit
// rows are sampled (all when limit <= 0), with a generator seeded by seed.
func LinearFields(codes []int32, batch, in int, limit int, seed int64) ([]Field, error) {
	if batch <= 0 || in <= 0 || len(codes) != batch*in {
		return nil, fmt.Errorf("errmodel: %d activation codes for a (%d, %d) input", len(codes), batch, in)
	}
	idx := sample(batch, limit, seed)
	fields := make([]Field, len(idx))
	for i, r := range idx {
		for _, c := range codes[r*in : (r+1)*in] {
			fields[i].Hist[c&0xFF]++
		}
	}
	return fields, nil
}

// ConvFields returns the receptive fields of a convolution: for each image,
// group and output position, the (C/groups)·KH·KW input codes the kernel
// sees, padding counted as the activation zero point zx (the code the
// Approximate kernel multiplies there). At most limit fields are sampled
// (all when limit <= 0), with a generator seeded by seed; a grouped
// convolution samples ceil(limit/groups) fields in each group instead, so
// that every group, whose output channels see only its fields, has some
// (a depthwise layer has more groups than a batch's sample of fields).
func ConvFields(codes []int32, g geom.Conv, zx int32, limit int, seed int64) ([]Field, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("errmodel: %w", err)
	}
	if len(codes) != g.XLen() {
		return nil, fmt.Errorf("errmodel: %d activation codes for a %dx%dx%dx%d input", len(codes), g.N, g.C, g.H, g.W)
	}
	groups := max(g.Groups, 1)
	oh, ow := g.OutH(), g.OutW()
	// Field r of a group is image r/(oh·ow), output position r%(oh·ow).
	perGroup := g.N * oh * ow
	var fields []Field
	if groups == 1 {
		for _, r := range sample(perGroup, limit, seed) {
			fields = append(fields, convField(codes, g, zx, 0, r))
		}
		return fields, nil
	}
	k := limit
	if limit > 0 {
		k = (limit + groups - 1) / groups
	}
	for grp := range groups {
		for _, r := range sample(perGroup, k, seed+int64(grp)) {
			fields = append(fields, convField(codes, g, zx, grp, r))
		}
	}
	return fields, nil
}

// convField is field r (image r/(OutH·OutW), output position r%(OutH·OutW))
// of group grp.
func convField(codes []int32, g geom.Conv, zx int32, grp, r int) Field {
	sh, sw := max(g.StrideH, 1), max(g.StrideW, 1)
	dh, dw := max(g.DilH, 1), max(g.DilW, 1)
	oh, ow := g.OutH(), g.OutW()
	cg := g.InPerGroup()
	x := r % ow
	y := r / ow % oh
	n := r / (ow * oh)
	f := Field{Group: grp}
	for c := grp * cg; c < (grp+1)*cg; c++ {
		for ky := range g.KH {
			iy := y*sh - g.PadH + ky*dh
			for kx := range g.KW {
				ix := x*sw - g.PadW + kx*dw
				code := zx
				if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
					code = codes[((n*g.C+c)*g.H+iy)*g.W+ix]
				}
				f.Hist[code&0xFF]++
			}
		}
	}
	return f
}

// ChannelHists counts the weight codes of each output channel: codes is a
// weight tensor of the given shape, axis its output-channel axis (0 for
// conv and OutIn linear weights, 1 for InOut).
func ChannelHists(codes []int32, shape []int, axis int) ([][]float64, error) {
	if axis < 0 || axis >= len(shape) {
		return nil, fmt.Errorf("errmodel: channel axis %d of a %d-D weight", axis, len(shape))
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(codes) || n == 0 {
		return nil, fmt.Errorf("errmodel: %d weight codes for shape %v", len(codes), shape)
	}
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	out := make([][]float64, shape[axis])
	for o := range out {
		out[o] = make([]float64, 256)
	}
	for i, c := range codes {
		out[i/inner%shape[axis]][c&0xFF]++
	}
	return out, nil
}
