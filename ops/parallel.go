package ops

import (
	"runtime"
	"sync"
)

// resolveThreads applies the "threads <= 0 means one per core" rule.
func resolveThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}

// parallelRanges splits [0, n) into contiguous ranges, at most one per
// thread and each of at least minPer elements, and runs f(t, lo, hi) on
// them concurrently (worker t = 0 on the calling goroutine). The ranges do
// not overlap, so elementwise work gives the same result for any split.
func parallelRanges(n, threads, minPer int, f func(t, lo, hi int)) {
	workers := max(1, min(resolveThreads(threads), n/max(minPer, 1)))
	if workers == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for t := 1; t < workers; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(t, t*n/workers, (t+1)*n/workers)
		}()
	}
	f(0, 0, n/workers)
	wg.Wait()
}
