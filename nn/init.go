package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// NewRand returns a generator for the initialisers, seeded only by seed (PCG,
// whose output for a seed does not change between Go releases). Share one
// generator across a model's layers, created in a fixed order, so a seed
// reproduces the whole model.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x676f617070726f78)) // "goapprox"
}

// KaimingUniform draws from U(-b, b) with b = sqrt(6 / fanIn): He et al.'s
// initialisation for ReLU layers (PyTorch kaiming_uniform_, a=0, fan_in).
func KaimingUniform(rng *rand.Rand, shape tensor.Shape, fanIn int) (*tensor.Dense, error) {
	if fanIn <= 0 {
		return nil, fmt.Errorf("kaiming uniform: fan-in must be positive, got %d", fanIn)
	}
	return Uniform(rng, shape, math.Sqrt(6/float64(fanIn)))
}

// KaimingNormal draws from N(0, 2 / fanIn) (PyTorch kaiming_normal_, a=0, fan_in).
func KaimingNormal(rng *rand.Rand, shape tensor.Shape, fanIn int) (*tensor.Dense, error) {
	if fanIn <= 0 {
		return nil, fmt.Errorf("kaiming normal: fan-in must be positive, got %d", fanIn)
	}
	return Normal(rng, shape, math.Sqrt(2/float64(fanIn)))
}

// GlorotUniform draws from U(-b, b) with b = sqrt(6 / (fanIn + fanOut)).
func GlorotUniform(rng *rand.Rand, shape tensor.Shape, fanIn, fanOut int) (*tensor.Dense, error) {
	if fanIn <= 0 || fanOut <= 0 {
		return nil, fmt.Errorf("glorot uniform: fans must be positive, got %d, %d", fanIn, fanOut)
	}
	return Uniform(rng, shape, math.Sqrt(6/float64(fanIn+fanOut)))
}

// GlorotNormal draws from N(0, 2 / (fanIn + fanOut)).
func GlorotNormal(rng *rand.Rand, shape tensor.Shape, fanIn, fanOut int) (*tensor.Dense, error) {
	if fanIn <= 0 || fanOut <= 0 {
		return nil, fmt.Errorf("glorot normal: fans must be positive, got %d, %d", fanIn, fanOut)
	}
	return Normal(rng, shape, math.Sqrt(2/float64(fanIn+fanOut)))
}

// Uniform draws from U(-bound, bound), e.g. PyTorch's bias initialisation
// with bound = 1/sqrt(fanIn).
func Uniform(rng *rand.Rand, shape tensor.Shape, bound float64) (*tensor.Dense, error) {
	t, data, err := newWeights(rng, shape, bound, "uniform")
	if err != nil {
		return nil, err
	}
	for i := range data {
		data[i] = float32((2*rng.Float64() - 1) * bound)
	}
	return t, nil
}

// Normal draws from N(0, std²).
func Normal(rng *rand.Rand, shape tensor.Shape, std float64) (*tensor.Dense, error) {
	t, data, err := newWeights(rng, shape, std, "normal")
	if err != nil {
		return nil, err
	}
	for i := range data {
		data[i] = float32(rng.NormFloat64() * std)
	}
	return t, nil
}

// Filled returns a float32 tensor with every element v (ones for batch-norm
// scales, zeros for biases).
func Filled(shape tensor.Shape, v float32) (*tensor.Dense, error) {
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape.Clone()...))
	data := t.Float32s()
	for i := range data {
		data[i] = v
	}
	return t, nil
}

// ConvFans returns fan-in and fan-out of a convolution filter shaped
// (out, in/groups, kH, kW), as PyTorch computes them.
func ConvFans(filter tensor.Shape) (fanIn, fanOut int, err error) {
	if filter.Dims() != 4 {
		return 0, 0, fmt.Errorf("conv fans: filter shape %v; expected (out, in/groups, kH, kW)", filter)
	}
	k := filter[2] * filter[3]
	return filter[1] * k, filter[0] * k, nil
}

func newWeights(rng *rand.Rand, shape tensor.Shape, scale float64, what string) (*tensor.Dense, []float32, error) {
	if rng == nil {
		return nil, nil, fmt.Errorf("%s init: nil *rand.Rand; create one with NewRand(seed)", what)
	}
	if !(scale >= 0) || math.IsInf(scale, 0) {
		return nil, nil, fmt.Errorf("%s init: scale must be finite and non-negative, got %g", what, scale)
	}
	if err := checkShape(shape); err != nil {
		return nil, nil, err
	}
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape.Clone()...))
	return t, t.Float32s(), nil
}

func checkShape(shape tensor.Shape) error {
	if shape.Dims() == 0 {
		return fmt.Errorf("init: empty shape; weights need at least one dimension")
	}
	for _, d := range shape {
		if d <= 0 {
			return fmt.Errorf("init: shape %v has a non-positive dimension", shape)
		}
	}
	return nil
}
