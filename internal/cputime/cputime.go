package cputime

import (
	"testing"
	"time"
)

// Report reports the CPU time per op since start (taken with Process after
// b.ResetTimer or before b.Loop) as the metric "cpu-ms/op".
func Report(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(Process()-start)/float64(b.N)/1e6, "cpu-ms/op")
}
