package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestWindows adds up, for every code, the window bytes whose window holds
// it (the codes below 16j for block j-1, the high nibbles at least 16-j for
// block 7+j) and compares the sums with the byte planes.
func TestWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	var l layout
	for s := range l.planes {
		for v := range l.planes[s] {
			l.planes[s][v] = byte(rng.Uint32())
		}
	}
	l.planes[3][7] = 0xFF
	l.fillWindows()
	for s := range l.planes {
		for p := 0; p < 512; p += 256 {
			for x := range 256 {
				var sum byte
				for j := 1; j <= 8; j++ {
					if x < 16*j {
						sum += l.windows[s][p+16*(j-1)+x%16]
					}
					if x>>4 >= 16-j {
						sum += l.windows[s][p+16*(7+j)+x%16]
					}
				}
				if want := l.planes[s][p+x]; sum != want {
					t.Fatalf("row %d plane %d code %d: windows add up to %d, want %d", s, p/256, x, sum, want)
				}
			}
		}
	}
}
