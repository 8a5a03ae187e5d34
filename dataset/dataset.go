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
	// Mean and Std record what Normalize applied, so it is not applied
	// twice; zero values mean pixels are still in [0, 1].
	Mean, Std float32
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

// Normalize standardises every pixel in place: x = (x - mean) / std. It fails
// if d was already normalised or std is not positive.
func (d *Dataset) Normalize(mean, std float32) error {
	if d.Std != 0 {
		return fmt.Errorf("dataset %s: already normalised with mean %g std %g", d.Name, d.Mean, d.Std)
	}
	if !(std > 0) {
		return fmt.Errorf("dataset %s: normalisation std must be positive, got %g", d.Name, std)
	}
	inv := 1 / std
	for i, v := range d.Images {
		d.Images[i] = (v - mean) * inv
	}
	d.Mean, d.Std = mean, std
	return nil
}

// NormalizeDefault applies the registered mean and std of d's data set
// (Info.Mean, Info.Std; computed on its training split).
func (d *Dataset) NormalizeDefault() error {
	info, err := Lookup(baseName(d.Name))
	if err != nil {
		return err
	}
	return d.Normalize(info.Mean, info.Std)
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
