//go:build !amd64 || purego

package tablegrad

// useVector is false: this build has no vector forms.
var useVector = false

func dotDenseBlocks(d, m *float32, blocks int, acc *[8]float32) {
	panic("tablegrad: no vector dot product in this build")
}
