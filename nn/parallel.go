package nn

import "github.com/goapprox/goapprox/internal/parallel"

// minPerPart is the least number of values an op hands to a thread of its
// own: about 10µs of ReLU or batch norm work, several times what waking a
// worker and joining it cost. LeNet-5's conv activations (64×6×28×28 and
// 64×16×10×10) split in two; its fully connected ones stay on one thread.
const minPerPart = 32 << 10

// Every parallel loop below splits its work by element, channel or plane
// and computes each of those exactly as the serial loop does, so results
// do not depend on the number of threads. The loops live in the ops (one
// per op, reused by every run) so that a run allocates nothing.

// mapLoop runs f over matching ranges of y and x.
type mapLoop struct {
	f    func(y, x []float32)
	y, x []float32
}

func (l *mapLoop) Run(_, lo, hi int) { l.f(l.y[lo:hi], l.x[lo:hi]) }

// run computes f(y, x) on the shared workers.
func (l *mapLoop) run(f func(y, x []float32), y, x []float32) {
	l.f, l.y, l.x = f, y, x[:len(y)]
	parallel.Run(len(y), 0, minPerPart, l)
	l.y, l.x = nil, nil
}

// gradLoop runs f over matching ranges of dx, x and dy.
type gradLoop struct {
	f         func(dx, x, dy []float32)
	dx, x, dy []float32
}

func (l *gradLoop) Run(_, lo, hi int) { l.f(l.dx[lo:hi], l.x[lo:hi], l.dy[lo:hi]) }

// run computes f(dx, x, dy) on the shared workers.
func (l *gradLoop) run(f func(dx, x, dy []float32), dx, x, dy []float32) {
	l.f, l.dx, l.x, l.dy = f, dx, x[:len(dx)], dy[:len(dx)]
	parallel.Run(len(dx), 0, minPerPart, l)
	l.dx, l.x, l.dy = nil, nil, nil
}

// unitsPerPart is how many units (channels, planes) of size values each
// make up minPerPart values.
func unitsPerPart(size int) int { return max(1, minPerPart/max(size, 1)) }
