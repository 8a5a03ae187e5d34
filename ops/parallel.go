package ops

import "github.com/goapprox/goapprox/internal/parallel"

// resolveThreads applies the "threads <= 0 means one per core" rule.
func resolveThreads(threads int) int { return parallel.Threads(threads) }

// parallelRanges splits [0, n) into contiguous ranges, at most one per
// thread and each of at least minPer elements, and runs f(t, lo, hi) on
// them on the module's shared workers (internal/parallel), t numbering
// the range. The ranges do not overlap, so elementwise work gives the same
// result for any split.
func parallelRanges(n, threads, minPer int, f func(t, lo, hi int)) {
	parallel.Run(n, threads, minPer, parallel.Func(f))
}
