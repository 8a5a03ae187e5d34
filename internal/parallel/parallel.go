package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A Loop is the body of a loop with independent iterations: Run does
// iterations [lo, hi), which form part number part of the call (parts
// are numbered from 0, so a loop may keep per-part scratch). Run may be
// called concurrently for different parts.
type Loop interface {
	Run(part, lo, hi int)
}

// Func adapts a function to a Loop. A closure that captures variables is
// allocated once per call when it is used this way; loops run on every
// training step implement Loop on a long-lived struct instead.
type Func func(part, lo, hi int)

// Run calls f(part, lo, hi).
func (f Func) Run(part, lo, hi int) { f(part, lo, hi) }

// Threads applies the module's convention "threads <= 0 means one per
// core" (runtime.GOMAXPROCS).
func Threads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}

// Parts is the number of parts Run splits n iterations into: one per
// thread, but no more than leaves each part minPer iterations, and at
// least one.
func Parts(n, threads, minPer int) int {
	return max(1, min(Threads(threads), n/max(minPer, 1)))
}

// Bounds returns the iterations [lo, hi) of part t of n iterations split
// into parts parts.
func Bounds(n, parts, t int) (lo, hi int) {
	return t * n / parts, (t + 1) * n / parts
}

// Run runs loop over [0, n) split into Parts(n, threads, minPer) parts
// and returns when every part is done. With one part, or one core, it
// runs the parts in order on the calling goroutine.
func Run(n, threads, minPer int, loop Loop) {
	RunParts(n, Parts(n, threads, minPer), threads, loop)
}

// RunParts runs loop over [0, n) split into exactly parts parts (at least
// one, at most n) on at most threads goroutines (threads <= 0: one per
// core), the caller's included. Parts are handed out one at a time, so
// more parts than threads balance uneven parts: a kernel that splits its
// work into tasks passes one part per task. Like Run, it runs everything
// on the calling goroutine when only one goroutine may work.
func RunParts(n, parts, threads int, loop Loop) {
	if n <= 0 {
		return
	}
	parts = max(1, min(parts, n))
	helpers := min(parts, Threads(threads), runtime.GOMAXPROCS(0)) - 1
	if helpers <= 0 {
		for t := range parts {
			lo, hi := Bounds(n, parts, t)
			loop.Run(t, lo, hi)
		}
		return
	}
	startHelpers(helpers)
	j := jobPool.Get().(*job)
	j.loop, j.n, j.parts = loop, n, int64(parts)
	j.next.Store(0)
	j.left.Store(int64(parts))
	j.refs.Store(int64(1 + helpers))
	j.state.Store(jobRunning)
	for range helpers {
		select {
		case work <- j:
		default: // the queue is full: the parts are run without this helper
			j.release()
		}
	}
	if !j.drain() {
		j.wait()
	}
	j.release()
}

// job is one Run call as the helpers see it.
type job struct {
	loop  Loop
	n     int
	parts int64
	next  atomic.Int64  // the next part to hand out
	left  atomic.Int64  // parts not finished yet
	refs  atomic.Int64  // the caller and the helpers it was sent to
	state atomic.Int32  // jobRunning, jobCallerAsleep or jobDone
	done  chan struct{} // a helper that finishes the last part wakes an asleep caller here
}

const (
	jobRunning int32 = iota
	jobCallerAsleep
	jobDone
)

// Waking a blocked goroutine can take tens of microseconds when its CPU
// has gone idle (on a virtual machine the host must first schedule the
// idle virtual CPU again): as long as a whole parallel loop of a LeNet-5
// step takes. So both sides poll for a while before they block. A caller
// whose parts are done polls for the helpers' parts (parts are even, so
// the wait is short), and an idle helper polls the queue for the next
// loop, which in a training step comes within microseconds. Polling buys
// wall time for a little more CPU time (docs/performance.md has figures).
const (
	waitSpin = 100 * time.Microsecond
	idleSpin = 200 * time.Microsecond
)

// wait returns when every part is finished: it polls for waitSpin, then
// blocks until the helper that finishes the last part wakes it (finish).
func (j *job) wait() {
	deadline := time.Now().Add(waitSpin)
	for i := 0; j.state.Load() != jobDone; i++ {
		if i&31 == 31 && time.Now().After(deadline) {
			if j.state.CompareAndSwap(jobRunning, jobCallerAsleep) {
				<-j.done
			}
			return
		}
		runtime.Gosched()
	}
}

// finish marks the job done, waking the caller if it sleeps.
func (j *job) finish() {
	if j.state.Swap(jobDone) == jobCallerAsleep {
		j.done <- struct{}{}
	}
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

// drain runs parts until none is left to take and reports whether it
// finished the call's last part.
func (j *job) drain() (last bool) {
	for {
		t := j.next.Add(1) - 1
		if t >= j.parts {
			return last
		}
		lo, hi := Bounds(j.n, int(j.parts), int(t))
		j.loop.Run(int(t), lo, hi)
		if j.left.Add(-1) == 0 {
			last = true
		}
	}
}

// release drops one reference; the last one recycles the job. A helper
// may take a job from the queue after its call has returned (it finds no
// part left), so the job is not reused until that helper is done with it.
func (j *job) release() {
	if j.refs.Add(-1) == 0 {
		j.loop = nil
		jobPool.Put(j)
	}
}

var (
	// work queues jobs for the helpers; it is large enough that a
	// caller never blocks on it in practice, and a caller that finds it
	// full runs the parts itself.
	work      = make(chan *job, 256)
	helpersMu sync.Mutex
	started   atomic.Int64
)

// startHelpers makes sure at least want helpers run. They live for the
// rest of the process; an idle one polls the queue for a while, then
// blocks on it (nextJob).
func startHelpers(want int) {
	if started.Load() >= int64(want) {
		return
	}
	helpersMu.Lock()
	defer helpersMu.Unlock()
	for started.Load() < int64(want) {
		go helper()
		started.Add(1)
	}
}

func helper() {
	for {
		j := nextJob()
		if j.drain() {
			j.finish()
		}
		j.release()
	}
}

// nextJob returns the next job from the queue, polling it for idleSpin
// before it blocks.
func nextJob() *job {
	deadline := time.Now().Add(idleSpin)
	for i := 0; ; i++ {
		select {
		case j := <-work:
			return j
		default:
		}
		if i&15 == 15 && time.Now().After(deadline) {
			return <-work
		}
		runtime.Gosched()
	}
}
