//go:build !amd64 || purego

package tablegrad

// useVector is false: this build has no vector forms.
func useVector() bool { return false }

// vectorOff turns the vector forms off in tests; here there are none.
var vectorOff bool

func denseSegsBlocks(a, b *float32, segs *seg, nseg, blocks int, acc *[8]float32) {
	panic("tablegrad: no vector dot product in this build")
}

func spanDotsBlocks(m *float32, rowWidth int, codes *byte, d *float32, step int, segs *seg, nseg, blocks, n int, out *float32) {
	panic("tablegrad: no vector dot product in this build")
}
