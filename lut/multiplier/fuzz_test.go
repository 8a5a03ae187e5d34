package multiplier

import "testing"

// FuzzParseSpec checks that no spec panics the parser, and that an accepted
// spec's canonical form parses back to itself and gives a working function.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"exact", "trunc:t=4", "bam:h=2,v=8,signed=true", "drum:k=4", "loa:l=3",
		"roba:signed=false", "kulkarni", "mitchell:signed=true", "trunc:t=4,t=5", "bam:h==2", ":", "drum:k=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSpec(spec)
		if err != nil {
			return
		}
		again, err := ParseSpec(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("canonical form %q of %q does not parse back: %v", s.String(), spec, err)
		}
		mul := s.Func()
		lo, hi := 0, 255
		if s.Signed {
			lo, hi = -128, 127
		}
		for _, p := range [][2]int{{lo, lo}, {lo, hi}, {hi, hi}, {0, hi}, {3, 3}} {
			mul(p[0], p[1])
		}
	})
}
