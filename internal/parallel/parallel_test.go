package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPartsAndBounds(t *testing.T) {
	cases := []struct{ n, threads, minPer, want int }{
		{10, 4, 1, 4},
		{10, 4, 3, 3},  // 10/3 = 3 parts of at least 3
		{10, 4, 11, 1}, // too small to split
		{0, 4, 1, 1},
		{100, 1, 1, 1},
		{5, 8, 0, 5}, // minPer 0 counts as 1
	}
	for _, c := range cases {
		if got := Parts(c.n, c.threads, c.minPer); got != c.want {
			t.Errorf("Parts(%d, %d, %d) = %d, want %d", c.n, c.threads, c.minPer, got, c.want)
		}
	}
	// 10 split in 3: [0,3) [3,6) [6,10).
	for part, want := range [][2]int{{0, 3}, {3, 6}, {6, 10}} {
		if lo, hi := Bounds(10, 3, part); lo != want[0] || hi != want[1] {
			t.Errorf("Bounds(10, 3, %d) = [%d, %d), want [%d, %d)", part, lo, hi, want[0], want[1])
		}
	}
}

// recordLoop records which part ran each iteration.
type recordLoop struct {
	part  []int32
	calls atomic.Int32
}

func (l *recordLoop) Run(part, lo, hi int) {
	l.calls.Add(1)
	for i := lo; i < hi; i++ {
		if l.part[i] != -1 {
			panic("iteration run twice")
		}
		l.part[i] = int32(part)
	}
}

// check runs n iterations and checks that each ran once, in the part
// Bounds gives it.
func check(t *testing.T, n, threads, minPer int) {
	t.Helper()
	l := &recordLoop{part: make([]int32, n)}
	for i := range l.part {
		l.part[i] = -1
	}
	Run(n, threads, minPer, l)
	parts := Parts(n, threads, minPer)
	if n > 0 && int(l.calls.Load()) != parts {
		t.Fatalf("n=%d threads=%d minPer=%d: %d calls, want %d parts", n, threads, minPer, l.calls.Load(), parts)
	}
	for p := 0; p < parts && n > 0; p++ {
		lo, hi := Bounds(n, parts, p)
		for i := lo; i < hi; i++ {
			if l.part[i] != int32(p) {
				t.Fatalf("n=%d threads=%d minPer=%d: iteration %d ran in part %d, want %d", n, threads, minPer, i, l.part[i], p)
			}
		}
	}
}

func TestRunCoversEveryIterationOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 7, 100, 1000} {
			for _, threads := range []int{0, 1, 2, 3, 8} {
				for _, minPer := range []int{1, 10} {
					check(t, n, threads, minPer)
				}
			}
		}
	}
}

// Many goroutines calling Run at once share the helpers; nested calls
// (a part that calls Run) must not deadlock either.
func TestRunConcurrentAndNested(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				check(t, 50+g, 4, 1)
			}
		}()
	}
	var total atomic.Int64
	Run(16, 4, 1, Func(func(_, lo, hi int) {
		for range hi - lo {
			Run(100, 4, 1, Func(func(_, lo, hi int) { total.Add(int64(hi - lo)) }))
		}
	}))
	wg.Wait()
	if total.Load() != 1600 {
		t.Fatalf("nested runs did %d iterations, want 1600", total.Load())
	}
}

type nopLoop struct{}

func (nopLoop) Run(int, int, int) {}

func TestRunDoesNotAllocate(t *testing.T) {
	var l nopLoop
	Run(1000, 2, 1, &l) // start the helpers
	if a := testing.AllocsPerRun(100, func() { Run(1000, 2, 1, &l) }); a != 0 {
		t.Fatalf("Run allocated %v times per call", a)
	}
}

// concurrencyLoop records the most parts that ran at the same time.
type concurrencyLoop struct {
	running, most atomic.Int32
	bounds        [][2]int
}

func (l *concurrencyLoop) Run(part, lo, hi int) {
	now := l.running.Add(1)
	for {
		most := l.most.Load()
		if now <= most || l.most.CompareAndSwap(most, now) {
			break
		}
	}
	l.bounds[part] = [2]int{lo, hi}
	// Long enough that helpers, once awake, overlap with the caller.
	for i := 0; i < 20000; i++ {
		runtime.Gosched()
		if i%1000 == 0 && l.running.Load() > 1 {
			break
		}
	}
	l.running.Add(-1)
}

// RunParts splits into exactly the parts asked for (capped at n) and never
// runs more of them at once than threads allows.
func TestRunPartsSplitsAndLimitsThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(4)
	for _, c := range []struct{ n, parts, threads, wantParts int }{
		{10, 10, 2, 10}, {10, 3, 1, 3}, {5, 8, 3, 5}, {7, 0, 2, 1}, {40, 12, 4, 12},
	} {
		l := &concurrencyLoop{bounds: make([][2]int, c.wantParts)}
		RunParts(c.n, c.parts, c.threads, l)
		for p, b := range l.bounds {
			if lo, hi := Bounds(c.n, c.wantParts, p); b != [2]int{lo, hi} {
				t.Errorf("%+v: part %d ran [%d, %d), want [%d, %d)", c, p, b[0], b[1], lo, hi)
			}
		}
		if most := int(l.most.Load()); most > c.threads {
			t.Errorf("%+v: %d parts ran at once, threads allows %d", c, most, c.threads)
		}
	}
}

// slowPart is a loop whose parts sleep for the given durations and count
// the parts finished.
type slowPart struct {
	sleep []time.Duration
	done  atomic.Int64
}

func (l *slowPart) Run(part, lo, hi int) {
	time.Sleep(l.sleep[part])
	l.done.Add(1)
}

// TestRunWaitsForSlowParts checks that Run returns only after every part
// is finished both when the helpers finish while the caller still polls
// and when they finish long after it has gone to sleep (parts much longer
// than waitSpin), and that the jobs reused afterwards are not woken by a
// stale signal.
func TestRunWaitsForSlowParts(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2 for a helper to run a part")
	}
	for _, d := range []time.Duration{0, 10 * time.Microsecond, 3 * waitSpin, 20 * waitSpin} {
		for range 20 {
			l := &slowPart{sleep: []time.Duration{0, d, 0, d}}
			RunParts(4, 4, 2, l)
			if got := l.done.Load(); got != 4 {
				t.Fatalf("parts sleeping %v: Run returned after %d of 4 parts", d, got)
			}
		}
	}
}
