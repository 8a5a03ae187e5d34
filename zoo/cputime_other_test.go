//go:build !unix

package zoo_test

import "time"

// processCPU is not measured outside Unix; the benchmarks report 0.
func processCPU() time.Duration { return 0 }
