//go:build !amd64 || purego

package tablegrad

const hasVector = false

func dotBlocksVector(d *float32, idx *byte, row *[256]float32, blocks int, acc *[8]float32) {
	panic("tablegrad: no vector gather-dot in this build")
}
