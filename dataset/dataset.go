package dataset

import (
	"fmt"
	"math/rand/v2"
)

// Dataset is one split of an image-classification data set held in memory.
// Images is N x C x H x W float32 in row-major order; Labels[i] is the class
// of image i, in [0, Classes).
type Dataset struct {
	Name    string // registered name, e.g. "mnist", with the split: "mnist/train"
	Images  []float32
	Labels  []int
	C, H, W int
	Classes int
	// ClassNames names the classes when the files say (CIFAR's label
	// files, an image folder's sub-folders); it may be nil.
	ClassNames []string
	// Part is the split the samples came from (Train or Test; empty for a
	// Dataset built by hand). An Iterator refuses to augment the Test part.
	Part Split
	// Norm records what Normalize applied, so it is not applied twice and
	// augmentation pads with the value a black pixel has; a zero Norm
	// means pixels are still in [0, 1].
	Norm Norm

	// set is the data set's name as Load knew it ("cifar10",
	// "folder:DIR"), which Name cannot carry unambiguously.
	set string
}

// Len is the number of samples.
func (d *Dataset) Len() int { return len(d.Labels) }

// SampleSize is the number of float32 values per image (C*H*W).
func (d *Dataset) SampleSize() int { return d.C * d.H * d.W }

// Image returns image i (C*H*W values), sharing memory with d.
func (d *Dataset) Image(i int) []float32 {
	s := d.SampleSize()
	return d.Images[i*s : (i+1)*s : (i+1)*s]
}

// Limit returns the first n samples of d (all of them if n <= 0 or n >= Len).
// The result shares memory with d.
func (d *Dataset) Limit(n int) *Dataset {
	if n <= 0 || n >= d.Len() {
		return d
	}
	out := *d
	out.Images = d.Images[: n*d.SampleSize() : n*d.SampleSize()]
	out.Labels = d.Labels[:n:n]
	return &out
}

// Subset returns a copy of d holding the samples at the given indices, in
// that order. Indices must be in range.
func (d *Dataset) Subset(indices []int, name string) (*Dataset, error) {
	s := d.SampleSize()
	out := *d
	out.Name = name
	out.Images = make([]float32, len(indices)*s)
	out.Labels = make([]int, len(indices))
	for j, i := range indices {
		if i < 0 || i >= d.Len() {
			return nil, fmt.Errorf("dataset %s: index %d out of range [0, %d)", d.Name, i, d.Len())
		}
		copy(out.Images[j*s:(j+1)*s], d.Images[i*s:(i+1)*s])
		out.Labels[j] = d.Labels[i]
	}
	return &out, nil
}

// Split divides d into training and validation sets: a seeded random
// permutation puts round(valFraction*Len) samples into validation and the rest
// into training. Both are copies; d is unchanged. The same seed always gives
// the same split.
func (d *Dataset) Split(valFraction float64, seed uint64) (train, val *Dataset, err error) {
	if !(valFraction > 0 && valFraction < 1) {
		return nil, nil, fmt.Errorf("dataset %s: validation fraction must be in (0, 1), got %g", d.Name, valFraction)
	}
	nVal := int(valFraction*float64(d.Len()) + 0.5)
	if nVal == 0 || nVal == d.Len() {
		return nil, nil, fmt.Errorf("dataset %s: validation fraction %g of %d samples leaves one side empty", d.Name, valFraction, d.Len())
	}
	perm := permutation(d.Len(), seed, splitStream)
	if val, err = d.Subset(perm[:nVal], d.Name+"-val"); err != nil {
		return nil, nil, err
	}
	if train, err = d.Subset(perm[nVal:], d.Name+"-train"); err != nil {
		return nil, nil, err
	}
	return train, val, nil
}

// Streams keep the random sequences of different uses apart even when callers
// pass the same seed. Epoch streams are epochStream+epoch.
const (
	splitStream = 1 << 62
	epochStream = 0
)

// permutation is a seeded Fisher-Yates permutation of 0..n-1 (PCG generator,
// whose output is fixed by its seed across Go releases).
func permutation(n int, seed, stream uint64) []int {
	p := make([]int, n)
	permuteInto(p, seed, stream)
	return p
}

func permuteInto(p []int, seed, stream uint64) {
	for i := range p {
		p[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, stream))
	rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
}
