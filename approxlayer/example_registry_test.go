package approxlayer_test

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/ops"
)

// A registry holds a model's approximate layers in order and switches them
// by name pattern: here the dense layers run on an approximate multiplier
// while the convolution stays quantized with exact products.
func ExampleRegistry() {
	g := G.NewGraph()
	conv, err := approxlayer.NewConv2d(g, "conv1", 1, 4, 3, 3, ops.ConvArgs{Pad: [2]int{1, 1}}, approxlayer.WithPreset("unsigned"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fc1, err := approxlayer.NewLinear(g, "fc1", 64, 16, approxlayer.WithPreset("unsigned"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fc2, err := approxlayer.NewLinear(g, "fc2", 16, 2, approxlayer.WithPreset("unsigned"))
	if err != nil {
		fmt.Println(err)
		return
	}
	layers, err := approxlayer.NewRegistry(conv, fc1, fc2)
	if err != nil {
		fmt.Println(err)
		return
	}

	// An unsigned truncated multiplier, for the unsigned preset's codes.
	trunc, err := multiplier.Parse("trunc:t=4")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := layers.SetMode(ops.Quantized); err != nil { // every layer
		fmt.Println(err)
		return
	}
	if err := layers.SetTable(trunc, "fc*"); err != nil {
		fmt.Println(err)
		return
	}
	if err := layers.SetMode(ops.Approximate, "fc*"); err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range layers.Layers() {
		table := "none"
		if l.Table() != nil {
			table = l.Table().Name()
		}
		fmt.Printf("%-5s %-11v table %s\n", l.Name(), l.Mode(), table)
	}

	// A pattern that matches no layer is an error, not a silent no-op.
	fmt.Println(layers.SetMode(ops.Approximate, "conv2") != nil)
	// Output:
	// conv1 quantized   table none
	// fc1   approximate table trunc:t=4
	// fc2   approximate table trunc:t=4
	// true
}
