package quantize_test

import (
	"fmt"

	"github.com/goapprox/goapprox/quantize"
)

// Quantize a layer's activations with the reference library's preset: pick
// the preset, check it against the table's signedness, observe a batch,
// freeze, and fake-quantize.
func Example() {
	preset := quantize.TorchApprox // or, from a flag, quantize.PresetByName("torchapprox")
	// A table with signed activation and weight operands (like EvoApprox mul8s).
	if err := preset.Check(true, true); err != nil {
		panic(err)
	}
	// The unsigned mul8u tables cannot take its signed weights.
	fmt.Println(preset.Check(false, false) != nil)

	obs, err := quantize.NewObserver(quantize.KindMinMax, preset.Activation)
	if err != nil {
		panic(err)
	}
	batch := []float32{0, 0.5, 1.27, 0.3, 0.9, 0.01}
	obs.Observe(batch, []int{2, 3})
	obs.Freeze() // later batches no longer move the range
	params, err := obs.Params()
	if err != nil {
		panic(err)
	}
	fmt.Printf("scale %.4f, zero point %d, codes %d..%d\n", params.Scale[0], params.ZeroPoint[0], params.QMin, params.QMax)

	codes := make([]int32, len(batch))
	params.Codes(codes, batch, []int{2, 3})
	fmt.Println(codes)

	// Negative values clamp to real 0, values above 1.27 to 1.27.
	out := make([]float32, 3)
	params.FakeQuant(out, []float32{-1, 0.5, 2}, nil, []int{3})
	fmt.Println(out)
	// Output:
	// true
	// scale 0.0100, zero point 0, codes 0..127
	// [0 50 127 30 90 1]
	// [0 0.5 1.27]
}
