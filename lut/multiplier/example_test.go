package multiplier_test

import (
	"fmt"

	"github.com/goapprox/goapprox/lut/multiplier"
)

func ExampleParse() {
	drum, err := multiplier.Parse("drum:k=4")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(drum.Name(), drum.At(255, 255))

	signed, _ := multiplier.Parse("mitchell:signed=true")
	fmt.Println(signed.Name(), signed.At(-3, 3))

	_, err = multiplier.Parse("drum")
	fmt.Println(err)
	// Output:
	// drum:k=4 57600
	// mitchell:signed=true -8
	// multiplier: "drum": drum needs k=N (1..8: bits kept per operand; 8 is exact); usage: drum:k=N
}

func ExampleList() {
	for _, d := range multiplier.List() {
		fmt.Println(d.Usage())
	}
	// Output:
	// exact
	// trunc:t=N
	// bam:h=N,v=N
	// kulkarni
	// mitchell
	// drum:k=N
	// roba
	// loa:l=N
}
