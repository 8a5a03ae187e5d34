package floatkernel

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the user+system CPU time the process has used. On a
// shared machine wall time per op depends on the other load; CPU time per
// op much less so.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start (taken after
// b.ResetTimer or before b.Loop).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N)/1e6, "cpu-ms/op")
}
