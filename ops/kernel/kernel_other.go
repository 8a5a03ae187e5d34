//go:build !amd64 || purego

package kernel

// splitBytesSIMD has no vector version here: splitBytes does all of it.
func splitBytesSIMD(even, odd, in []byte) int { return 0 }
