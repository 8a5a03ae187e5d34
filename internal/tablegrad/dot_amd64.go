//go:build amd64 && !purego

package tablegrad

import "golang.org/x/sys/cpu"

// hasVector: dotBlocksVector needs AVX2's gathers.
var hasVector = cpu.X86.HasAVX2

// dotBlocksVector is dotBlocks with AVX2 gathers (see dot_amd64.s).
//
//go:noescape
func dotBlocksVector(d *float32, idx *byte, row *[256]float32, blocks int, acc *[8]float32)
