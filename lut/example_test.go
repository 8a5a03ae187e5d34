package lut_test

import (
	"fmt"

	"github.com/goapprox/goapprox/lut"
)

func ExampleTable_At() {
	t := lut.ExactTable(lut.Both(lut.Signed))
	// Codes index by their low byte: -1 is row 255.
	fmt.Println(t.At(-1, 3), t.Entries()[255*256+3], t.At(-128, -128))
	// Output: -3 -3 16384
}
