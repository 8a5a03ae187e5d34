package dataset

import (
	"strings"
	"testing"
)

// FuzzParseDigits: any text is the digits data set (1,797 samples of 64
// pixels in [0, 1] and a label 0..9) or an error; never a panic.
func FuzzParseDigits(f *testing.F) {
	row := strings.Repeat("16,", 64) + "9\n"
	f.Add(row)
	f.Add(strings.Repeat(row, 3))
	f.Add(strings.Repeat("0,", 64) + "10\n")
	f.Add(strings.Repeat("NaN,", 64) + "1\n")
	f.Add(strings.Repeat("1e300,", 64) + "1\n")
	info, err := Lookup("digits")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, err := parseDigits(strings.NewReader(text), info)
		if err != nil {
			return
		}
		if d.Len() != digitsTotal || len(d.Images) != d.Len()*64 {
			t.Fatalf("accepted %d samples, %d pixels", d.Len(), len(d.Images))
		}
		for _, v := range d.Images {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("pixel %v outside [0, 1]", v)
			}
		}
		for _, l := range d.Labels {
			if l < 0 || l >= info.Classes {
				t.Fatalf("label %d", l)
			}
		}
	})
}
