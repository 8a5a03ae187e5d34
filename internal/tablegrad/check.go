package tablegrad

import (
	"fmt"

	"github.com/goapprox/goapprox/ops/geom"
)

// checkGEMM reports arguments of a GEMM gradient that cannot be computed:
// out must hold need (named needName) results.
func checkGEMM(fn string, out []float32, need int, needName string, dy []float32, x, w []byte, m, n, k int, haveTable bool) error {
	switch {
	case !haveTable:
		return fmt.Errorf("tablegrad: %s needs gradient tables, got nil", fn)
	case m < 0 || n < 0 || k < 0:
		return fmt.Errorf("tablegrad: %s sizes m=%d, n=%d, k=%d must not be negative", fn, m, n, k)
	case len(x) < m*k:
		return fmt.Errorf("tablegrad: %s activations hold %d codes, need m*k = %d*%d = %d", fn, len(x), m, k, m*k)
	case len(w) < n*k:
		return fmt.Errorf("tablegrad: %s weights hold %d codes, need n*k = %d*%d = %d", fn, len(w), n, k, n*k)
	case len(dy) < m*n:
		return fmt.Errorf("tablegrad: %s output gradient holds %d values, need m*n = %d*%d = %d", fn, len(dy), m, n, m*n)
	case len(out) < need:
		return fmt.Errorf("tablegrad: %s result holds %d values, need %s = %d", fn, len(out), needName, need)
	}
	return nil
}

// checkConv is checkGEMM for a convolution of geometry g.
func checkConv(fn string, out []float32, need int, needName string, dy []float32, x, w []byte, g geom.Conv, haveTable bool) error {
	if !haveTable {
		return fmt.Errorf("tablegrad: %s needs gradient tables, got nil", fn)
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("tablegrad: %s: %w", fn, err)
	}
	switch {
	case len(x) < g.XLen():
		return fmt.Errorf("tablegrad: %s input holds %d codes, need N*C*H*W = %d", fn, len(x), g.XLen())
	case len(w) < g.WLen():
		return fmt.Errorf("tablegrad: %s weights hold %d codes, need O*(C/Groups)*KH*KW = %d", fn, len(w), g.WLen())
	case len(dy) < g.YLen():
		return fmt.Errorf("tablegrad: %s output gradient holds %d values, need N*O*OutH*OutW = %d", fn, len(dy), g.YLen())
	case len(out) < need:
		return fmt.Errorf("tablegrad: %s result holds %d values, need %s = %d", fn, len(out), needName, need)
	}
	return nil
}
