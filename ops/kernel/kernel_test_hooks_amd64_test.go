//go:build amd64 && !purego

package kernel

import (
	"flag"
	"os"
	"testing"
)

// TestMain turns on the SIMD kernels' argument checks for the tests, and
// leaves them off when benchmarks are asked for, so that the figures are
// those of the kernels as users run them.
func TestMain(m *testing.M) {
	flag.Parse()
	debugChecks = flag.Lookup("test.bench").Value.String() == ""
	os.Exit(m.Run())
}
