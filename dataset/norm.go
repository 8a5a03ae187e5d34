package dataset

import (
	"fmt"
	"math"
	"strings"
)

// Norm is a per-channel standardisation: pixel x of channel c becomes
// (x - Mean[c]) / Std[c]. Both slices have one entry per channel.
type Norm struct {
	Mean, Std []float32
}

// IsZero reports whether n is the zero Norm (nothing applied).
func (n Norm) IsZero() bool { return n.Mean == nil && n.Std == nil }

// Uniform is the Norm that uses the same mean and std for all c channels.
func Uniform(c int, mean, std float32) Norm {
	n := Norm{Mean: make([]float32, c), Std: make([]float32, c)}
	for i := range c {
		n.Mean[i], n.Std[i] = mean, std
	}
	return n
}

// ImageNetNorm is torchvision's ImageNet normalisation (mean 0.485, 0.456,
// 0.406; std 0.229, 0.224, 0.225), the one agn-approx applies to CIFAR-10 and
// Tiny ImageNet. The registered CIFAR norms are CIFAR's own statistics
// instead; this one is here for reproducing agn-approx's inputs exactly.
var ImageNetNorm = Norm{Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}

// Padding returns, per channel, the value a pixel of raw value 0 has after n:
// what zero padding must insert into an image that has been standardised.
func (n Norm) Padding(c int) []float32 {
	p := make([]float32, c)
	if n.IsZero() {
		return p
	}
	for i := range p {
		p[i] = -n.Mean[i] / n.Std[i]
	}
	return p
}

func (n Norm) String() string {
	f := func(v []float32) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf("%.4f", x)
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("mean (%s) std (%s)", f(n.Mean), f(n.Std))
}

func (n Norm) check(c int) error {
	if len(n.Mean) != c || len(n.Std) != c {
		return fmt.Errorf("normalisation has %d means and %d stds for %d channels", len(n.Mean), len(n.Std), c)
	}
	for i := range c {
		if !(n.Std[i] > 0) || math.IsInf(float64(n.Std[i]), 0) || math.IsNaN(float64(n.Mean[i])) || math.IsInf(float64(n.Mean[i]), 0) {
			return fmt.Errorf("normalisation of channel %d: mean %g std %g; the mean must be finite and the std positive and finite", i, n.Mean[i], n.Std[i])
		}
	}
	return nil
}

// Stats returns the mean and (population) standard deviation of each
// channel over all of d's pixels, accumulated in float64. A channel whose
// pixels are all equal gets std 1, so the Norm can always be applied.
func (d *Dataset) Stats() Norm {
	n := Norm{Mean: make([]float32, d.C), Std: make([]float32, d.C)}
	plane := d.H * d.W
	if d.Len() == 0 || plane == 0 {
		for c := range n.Std {
			n.Std[c] = 1
		}
		return n
	}
	s := d.SampleSize()
	for c := range d.C {
		var sum, sq float64
		for i := range d.Len() {
			for _, v := range d.Images[i*s+c*plane : i*s+(c+1)*plane] {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
		}
		cnt := float64(d.Len() * plane)
		mean := sum / cnt
		std := math.Sqrt(max(sq/cnt-mean*mean, 0))
		if !(std > 0) {
			std = 1
		}
		n.Mean[c], n.Std[c] = float32(mean), float32(std)
	}
	return n
}

// Normalize standardises every pixel in place with a per-channel Norm. It
// fails if d was already normalised or the Norm does not fit d's channels.
func (d *Dataset) Normalize(n Norm) error {
	if !d.Norm.IsZero() {
		return fmt.Errorf("dataset %s: already normalised with %v", d.Name, d.Norm)
	}
	if err := n.check(d.C); err != nil {
		return fmt.Errorf("dataset %s: %w", d.Name, err)
	}
	plane := d.H * d.W
	s := d.SampleSize()
	for c := range d.C {
		mean, inv := n.Mean[c], 1/n.Std[c]
		for i := range d.Len() {
			px := d.Images[i*s+c*plane : i*s+(c+1)*plane]
			for k, v := range px {
				px[k] = (v - mean) * inv
			}
		}
	}
	d.Norm = Norm{Mean: append([]float32(nil), n.Mean...), Std: append([]float32(nil), n.Std...)}
	return nil
}

// NormalizeDefault applies the registered Norm of d's data set (Info.Norm,
// the training split's statistics). Image folders have no registered Norm:
// their training split is standardised with its own Stats, and their test
// split must be given the training split's Norm (LoadSplits does both).
func (d *Dataset) NormalizeDefault() error {
	set := d.set
	if set == "" {
		set = baseName(d.Name)
	}
	if IsFolder(set) {
		if d.Part == Test {
			return fmt.Errorf("dataset %s: an image folder's test split is normalised with its training split's statistics: use LoadSplits, or Normalize(train.Norm)", d.Name)
		}
		return d.Normalize(d.Stats())
	}
	info, err := Lookup(set)
	if err != nil {
		return err
	}
	return d.Normalize(info.Norm)
}
