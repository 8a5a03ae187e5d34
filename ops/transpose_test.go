package ops

import (
	"math/rand"
	"testing"
)

// TestTransposeBytes checks the blocked transpose against the definition
// on sizes around and across its block size.
func TestTransposeBytes(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, rows := range []int{1, 3, 16, 17, 40, 400} {
		for _, cols := range []int{1, 15, 16, 33, 120} {
			src := make([]byte, rows*cols)
			r.Read(src)
			dst := make([]byte, len(src)+1)
			dst[len(src)] = 7 // must stay untouched
			transposeBytes(dst[:len(src)], src, rows, cols)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					if dst[j*rows+i] != src[i*cols+j] {
						t.Fatalf("%dx%d: dst[%d][%d] = %d, want %d", rows, cols, j, i, dst[j*rows+i], src[i*cols+j])
					}
				}
			}
			if dst[len(src)] != 7 {
				t.Fatalf("%dx%d: wrote past the end", rows, cols)
			}
		}
	}
}
