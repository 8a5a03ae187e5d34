//go:build !amd64 || purego

package optimizer

// Without amd64 assembly the whole update is the plain Go loop.
func adamVector(u *paramUpdate, w, g, m, v []float32, check *float32) int { return 0 }
