package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// scratch is one worker's reusable memory. Workers take one from
// scratchPool per call, so steady-state calls allocate nothing.
type scratch struct {
	src  []byte  // packed lane operand: GEMM panel, im2col panel or padded rows
	offs []int32 // per selector step, the offset of lane 0 in src
	runs []run   // where the lanes' sums go in acc
	taps []int32 // direct conv: offset of each fan-in step for lane 0 of a span
	tmp  []byte  // direct conv, stride 2: padded rows before their column split
	out  [maxLanes]int32
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

// parJob hands one call's tasks to the worker goroutines.
type parJob struct {
	t    tasker
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

var (
	jobPool   = sync.Pool{New: func() any { return new(parJob) }}
	jobs      = make(chan *parJob)
	workersMu sync.Mutex
	workers   int
)

// resolveThreads applies the "threads <= 0 means every core" convention.
func resolveThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}

// parallel runs tasks 0..n-1 of t on up to threads goroutines: the caller's
// and threads-1 long-lived workers, which are started on first need and then
// reused, so a call costs no goroutine creation.
func parallel(t tasker, n, threads int) {
	threads = min(threads, n)
	if threads <= 1 {
		s := scratchPool.Get().(*scratch)
		for i := 0; i < n; i++ {
			t.runTask(i, s)
		}
		scratchPool.Put(s)
		return
	}
	startWorkers(threads - 1)
	j := jobPool.Get().(*parJob)
	j.t, j.n = t, int64(n)
	j.next.Store(0)
	j.wg.Add(threads - 1)
	for i := 0; i < threads-1; i++ {
		jobs <- j
	}
	j.drain()
	j.wg.Wait()
	j.t = nil
	jobPool.Put(j)
}

func (j *parJob) drain() {
	s := scratchPool.Get().(*scratch)
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			break
		}
		j.t.runTask(int(i), s)
	}
	scratchPool.Put(s)
}

func startWorkers(want int) {
	workersMu.Lock()
	defer workersMu.Unlock()
	for ; workers < want; workers++ {
		go func() {
			for j := range jobs {
				j.drain()
				j.wg.Done()
			}
		}()
	}
}
