package kernel

import (
	"sync"

	"github.com/goapprox/goapprox/internal/parallel"
)

// scratch is one task's reusable memory. Tasks take one from scratchPool
// (sync.Pool keeps one per core at hand), so steady-state calls allocate
// nothing.
type scratch struct {
	src  []byte  // packed lane operand: im2col panel or padded rows
	offs []int32 // per selector step, the offset of lane 0 in src
	runs []run   // where the lanes' sums go in acc
	taps []int32 // direct conv: offset of each fan-in step for lane 0 of a span
	tmp  []byte  // direct conv, stride 2: padded rows before their column split
	// pre-gathered path: the selector rows' offsets in src, their sums, the
	// block of P they read and the source rows of its lanes
	pgBases []int32
	pgAcc   []uint32
	pgP     []byte // a block of steps of P
	pgRows  [pgMaxWidth]int64
	out     [maxLanes]int32
}

// run is a stretch of lanes whose sums go to consecutive places in acc.
type run struct{ lane, dst, n int }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func growBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func growInt32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

// tasker is a kernel call split into independent tasks. Each task writes a
// disjoint part of the output and computes it in a fixed order, so results
// do not depend on how tasks are spread over threads.
type tasker interface {
	runTask(t int, s *scratch)
}

// resolveThreads applies the "threads <= 0 means every core" convention.
func resolveThreads(threads int) int { return parallel.Threads(threads) }

// runTasks runs tasks 0..n-1 of a call on up to threads goroutines of the
// module's shared pool (package parallel), one part per task so that the
// tasks are handed out one at a time. loop is the call's job, whose Run
// calls tasks (below); passing the pooled job itself keeps calls free of
// allocations.
func runTasks(loop parallel.Loop, n, threads int) {
	parallel.RunParts(n, n, threads, loop)
}

// tasks runs tasks [lo, hi) of t with one scratch.
func tasks(t tasker, lo, hi int) {
	s := scratchPool.Get().(*scratch)
	for i := lo; i < hi; i++ {
		t.runTask(i, s)
	}
	scratchPool.Put(s)
}
