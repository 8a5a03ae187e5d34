package lut

import (
	"errors"
	"strings"
	"testing"
)

// Of the 255*255 pairs of non-zero operands, those with exactly one operand
// of index 128..255 change the sign of their product with the reading:
// 2 * 127 * 128 of them.
const (
	nonZeroPairs   = 255 * 255
	signFlipsPairs = 2 * 127 * 128
)

func TestCheckSignsRightReading(t *testing.T) {
	for _, signed := range []bool{false, true} {
		if err := CheckSigns(ExactTable(Both(SignednessOf(signed)))); err != nil {
			t.Errorf("exact table read as it was made (signed=%v): %v", signed, err)
		}
	}
	zeros, err := FromEntries("zeros", Both(Signed), make([]int32, Size))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSigns(zeros); err != nil {
		t.Errorf("an all-zero table has no product of the wrong sign: %v", err)
	}
}

func TestCheckSignsWrongReading(t *testing.T) {
	for _, made := range []bool{false, true} {
		read := ExactTable(Both(SignednessOf(made))).WithSigns(Both(SignednessOf(!made)))
		err := CheckSigns(read)
		var se *SignError
		if !errors.As(err, &se) {
			t.Fatalf("exact table made signed=%v, read the other way: error %v, want a *SignError", made, err)
		}
		if se.Wrong != signFlipsPairs || se.Checked != nonZeroPairs || se.Signs != Both(SignednessOf(!made)) || se.Wrapped {
			t.Errorf("made signed=%v: got %+v, want %d wrong of %d", made, *se, signFlipsPairs, nonZeroPairs)
		}
	}
	mixed := ExactTable(Both(Unsigned)).WithSigns(Signs{X: Unsigned, W: Signed})
	if err := CheckSigns(mixed); err == nil || !strings.Contains(err.Error(), "unsigned activation and signed weight operands") {
		t.Errorf("unsigned table read with signed weights: error %v, want it to name both readings", err)
	}
}

// TestCheckSignsThreshold flips the sign of the first n non-zero products of
// the exact unsigned table: 10% of 65,025 is 6502.5, so 6502 flips pass and
// 6503 do not.
func TestCheckSignsThreshold(t *testing.T) {
	for _, tc := range []struct {
		flips   int
		refused bool
	}{{0, false}, {6502, false}, {6503, true}} {
		n := 0
		tab, err := Tabulate("flipped", Both(Unsigned), func(x, w int) int {
			p := x * w
			if p != 0 && n < tc.flips {
				n++
				return -p
			}
			return p
		})
		if err != nil {
			t.Fatal(err)
		}
		err = CheckSigns(tab)
		if (err != nil) != tc.refused {
			t.Errorf("%d of %d products flipped: error %v, want refused=%v", tc.flips, nonZeroPairs, err, tc.refused)
		}
	}
}
