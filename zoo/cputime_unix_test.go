//go:build unix

package zoo_test

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time the process has used. On a
// shared machine wall time per step depends on the other load; CPU time
// much less so.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
