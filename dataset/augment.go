package dataset

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Augment is the random transformation an Iterator applies to each
// training image as it fills a batch: the standard CIFAR recipe of a random
// crop from the image padded with zeros, then a random horizontal flip.
// The zero Augment changes nothing.
type Augment struct {
	// Pad > 0 pads every side with Pad pixels of value 0 (the value a
	// black pixel has: -mean/std per channel once normalised) and crops an
	// H x W window at a uniformly drawn offset in [0, 2*Pad] on each axis.
	Pad int
	// Flip mirrors the (cropped) image left to right with probability 1/2.
	Flip bool
}

// None reports whether a changes nothing.
func (a Augment) None() bool { return a.Pad == 0 && !a.Flip }

// String is the flag form ParseAugment reads: "none", "crop=4", "flip",
// "crop=4+flip".
func (a Augment) String() string {
	var parts []string
	if a.Pad > 0 {
		parts = append(parts, "crop="+strconv.Itoa(a.Pad))
	}
	if a.Flip {
		parts = append(parts, "flip")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// AugmentHelp describes ParseAugment's syntax, for a flag's usage text.
const AugmentHelp = `training augmentation: "default" (the data set's own: crop=4+flip for CIFAR, ` +
	`crop=SIZE/8+flip for image folders, none for the MNIST-like sets), "none", or "+"-joined parts: ` +
	`"crop" (random crop with zero padding, the data set's padding or SIZE/8), "crop=N" (padding N), "flip" (random horizontal flip)`

// ParseAugment reads an augmentation spec for a data set: "default" (or
// "") gives info.Augment; "none" turns augmentation off; otherwise the spec
// is "+"-joined parts among "crop", "crop=N" and "flip" (e.g. "crop+flip",
// "crop=2", "flip"). A bare "crop" uses the data set's own padding, or
// H/8 (at least 1) when it has none.
func ParseAugment(spec string, info Info) (Augment, error) {
	spec = strings.ToLower(strings.TrimSpace(spec))
	switch spec {
	case "", "default":
		return info.Augment, nil
	case "none", "off":
		return Augment{}, nil
	}
	var a Augment
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, "+") {
		part = strings.TrimSpace(part)
		key, val, hasVal := strings.Cut(part, "=")
		if seen[key] {
			return Augment{}, fmt.Errorf("augmentation %q names %s twice", spec, key)
		}
		seen[key] = true
		switch {
		case key == "flip" && !hasVal:
			a.Flip = true
		case key == "crop" && !hasVal:
			a.Pad = info.Augment.Pad
			if a.Pad == 0 {
				a.Pad = max(1, info.H/8)
			}
		case key == "crop":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return Augment{}, fmt.Errorf("augmentation %q: crop padding %q must be a positive whole number of pixels", spec, val)
			}
			a.Pad = n
		default:
			return Augment{}, fmt.Errorf("unknown augmentation %q in %q; use default, none, crop, crop=N, flip or crop+flip", part, spec)
		}
	}
	if err := a.check(info.H, info.W); err != nil {
		return Augment{}, fmt.Errorf("augmentation %q for %s: %w", spec, info.Name, err)
	}
	return a, nil
}

func (a Augment) check(h, w int) error {
	if a.Pad < 0 {
		return fmt.Errorf("crop padding %d is negative", a.Pad)
	}
	if a.Pad > h || a.Pad > w {
		return fmt.Errorf("crop padding %d is larger than the %dx%d image", a.Pad, h, w)
	}
	return nil
}

// augStream keeps augmentation draws apart from the shuffle and split
// streams of the same seed.
const augStream = 0x6a09e667f3bcc909

// augmenter applies an Augment to single images. Each image's draws come
// from a generator seeded by (seed, epoch, sample index) alone, so the
// result does not depend on which goroutine fills which batch, on the
// batch size or on the order of the samples.
type augmenter struct {
	a       Augment
	seed    uint64
	c, h, w int
	fill    []float32 // per channel: the padding value
	pcg     rand.PCG
}

func newAugmenter(a Augment, seed uint64, d *Dataset) *augmenter {
	return &augmenter{a: a, seed: seed, c: d.C, h: d.H, w: d.W, fill: d.Norm.Padding(d.C)}
}

// draw returns the crop offsets (each in [0, 2*Pad]) and the flip of
// sample i in epoch. Three values are always drawn in this order, so
// turning one transformation off leaves the others' draws unchanged.
func (g *augmenter) draw(epoch, i int) (dy, dx int, flip bool) {
	g.pcg.Seed(g.seed^augStream, uint64(uint32(epoch))<<32|uint64(uint32(i)))
	span := uint64(2*g.a.Pad + 1)
	hy, _ := bits.Mul64(g.pcg.Uint64(), span)
	hx, _ := bits.Mul64(g.pcg.Uint64(), span)
	f := g.pcg.Uint64()>>63 == 1
	return int(hy), int(hx), f && g.a.Flip
}

// apply writes sample i of epoch, src (C x H x W), augmented into dst.
func (g *augmenter) apply(dst, src []float32, epoch, i int) {
	dy, dx, flip := g.draw(epoch, i)
	g.applyAt(dst, src, dy, dx, flip)
}

// applyAt crops src padded by Pad at offset (dy, dx) and flips the crop.
func (g *augmenter) applyAt(dst, src []float32, dy, dx int, flip bool) {
	p := g.a.Pad
	h, w := g.h, g.w
	for c := range g.c {
		in := src[c*h*w : (c+1)*h*w]
		out := dst[c*h*w : (c+1)*h*w]
		fill := g.fill[c]
		for y := range h {
			row := out[y*w : (y+1)*w]
			sy := y + dy - p
			if sy < 0 || sy >= h {
				for x := range row {
					row[x] = fill
				}
				continue
			}
			// The crop's column x is source column x+shift; columns whose
			// source lies outside the image are padding. A flip then
			// mirrors the finished row.
			shift := dx - p
			lo, hi := max(0, -shift), min(w, w-shift)
			srow := in[sy*w : (sy+1)*w]
			for x := range lo {
				row[x] = fill
			}
			copy(row[lo:hi], srow[lo+shift:hi+shift])
			for x := hi; x < w; x++ {
				row[x] = fill
			}
			if flip {
				slices.Reverse(row)
			}
		}
	}
}
