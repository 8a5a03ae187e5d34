package dataset

import (
	"fmt"
	"sync"
)

// Batch is one mini-batch. Its slices belong to the Iterator and are
// overwritten after the next call to Next: copy what must be kept.
type Batch struct {
	Images  []float32 // Size x C x H x W
	Labels  []int     // Size
	Indices []int     // positions of the samples in the data set
	Size    int       // samples in this batch (the last one may be smaller)
}

// Iterator walks a data set in mini-batches, reusing its buffers.
//
//	it, _ := dataset.NewIterator(train, 64, dataset.IterOptions{
//		Shuffle: true, Seed: 1, Augment: info.Augment, Prefetch: 2})
//	defer it.Close()
//	for epoch := 0; epoch < n; epoch++ {
//		it.Start(epoch)
//		for it.Next() {
//			b := it.Batch()
//			...
//		}
//	}
//
// With Prefetch > 0 the batches are filled (and augmented) on a separate
// goroutine while the caller works on the previous ones; the batches are the
// same, value for value, as without it.
type Iterator struct {
	d     *Dataset
	size  int
	opts  IterOptions
	order []int
	epoch int
	aug   *augmenter // nil without augmentation

	// Filling inside Next.
	pos   int
	batch Batch

	// Prefetching: the producer fills buffers from free and sends them on
	// ready; the buffer the caller holds goes back to free on the next Next.
	pf *prefetch
}

// IterOptions controls an Iterator.
type IterOptions struct {
	// Shuffle visits samples in a random order that depends only on
	// (Seed, epoch), so a resumed run replays the same batches.
	Shuffle bool
	Seed    uint64
	// DropLast skips the final batch when it would be smaller than the batch
	// size (useful for graphs built for a fixed batch size).
	DropLast bool
	// Augment transforms every image as it is copied into a batch, with
	// draws that depend only on (Seed, epoch, sample index). It is for
	// training data: NewIterator refuses it on a Test split.
	Augment Augment
	// Prefetch > 0 fills up to that many batches ahead on a goroutine of
	// the Iterator's own, so filling and augmenting cost the training step
	// nothing. Call Close when done.
	Prefetch int
}

// NewIterator prepares batches of the given size. Call Start before Next.
func NewIterator(d *Dataset, batchSize int, opts IterOptions) (*Iterator, error) {
	if batchSize <= 0 {
		return nil, fmt.Errorf("dataset %s: batch size must be positive, got %d", d.Name, batchSize)
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("dataset %s: no samples", d.Name)
	}
	if opts.DropLast && d.Len() < batchSize {
		return nil, fmt.Errorf("dataset %s: %d samples are fewer than one batch of %d and DropLast is set", d.Name, d.Len(), batchSize)
	}
	if opts.Prefetch < 0 {
		return nil, fmt.Errorf("dataset %s: prefetch %d must not be negative", d.Name, opts.Prefetch)
	}
	it := &Iterator{d: d, size: batchSize, opts: opts, order: make([]int, d.Len())}
	if !opts.Augment.None() {
		if d.Part == Test {
			return nil, fmt.Errorf("dataset %s: augmentation (%v) is for training data only; evaluate the test split without it", d.Name, opts.Augment)
		}
		if err := opts.Augment.check(d.H, d.W); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		it.aug = newAugmenter(opts.Augment, opts.Seed, d)
	}
	if opts.Prefetch > 0 {
		it.pf = &prefetch{}
		for range opts.Prefetch + 2 {
			it.pf.bufs = append(it.pf.bufs, it.newBatch())
		}
	} else {
		it.batch = *it.newBatch()
	}
	it.pos = d.Len() // Next returns false until Start
	return it, nil
}

func (it *Iterator) newBatch() *Batch {
	return &Batch{
		Images:  make([]float32, it.size*it.d.SampleSize()),
		Labels:  make([]int, it.size),
		Indices: make([]int, it.size),
	}
}

// Start begins an epoch: it resets the position and, when shuffling, draws the
// order for this epoch. With Prefetch it stops the previous epoch's
// producer, if any, and starts this epoch's.
func (it *Iterator) Start(epoch int) {
	if it.pf != nil {
		it.pf.stop()
	}
	if it.opts.Shuffle {
		permuteInto(it.order, it.opts.Seed, epochStream+uint64(epoch))
	} else {
		for i := range it.order {
			it.order[i] = i
		}
	}
	it.epoch = epoch
	it.pos = 0
	if it.pf != nil {
		it.pf.start(it)
	}
}

// Batches is the number of batches per epoch.
func (it *Iterator) Batches() int {
	n := it.d.Len() / it.size
	if !it.opts.DropLast && it.d.Len()%it.size != 0 {
		n++
	}
	return n
}

// Next fills the next batch and reports whether there was one.
func (it *Iterator) Next() bool {
	if it.pf != nil {
		return it.pf.next()
	}
	n := it.take()
	if n == 0 {
		return false
	}
	it.fill(&it.batch, it.pos-n, n)
	return true
}

// take advances the position by one batch and returns its size (0: the
// epoch is over).
func (it *Iterator) take() int {
	left := len(it.order) - it.pos
	if left <= 0 || (it.opts.DropLast && left < it.size) {
		return 0
	}
	n := min(left, it.size)
	it.pos += n
	return n
}

// fill copies the n samples at order[from:] into b, augmenting them.
func (it *Iterator) fill(b *Batch, from, n int) {
	s := it.d.SampleSize()
	for j := range n {
		i := it.order[from+j]
		dst, src := b.Images[j*s:(j+1)*s], it.d.Images[i*s:(i+1)*s]
		if it.aug != nil {
			it.aug.apply(dst, src, it.epoch, i)
		} else {
			copy(dst, src)
		}
		b.Labels[j] = it.d.Labels[i]
		b.Indices[j] = i
	}
	b.Size = n
}

// Batch returns the batch filled by the last Next. For a short final batch the
// slices are cut to its size.
func (it *Iterator) Batch() Batch {
	var b Batch
	if it.pf != nil {
		if it.pf.cur == nil {
			return Batch{}
		}
		b = *it.pf.cur
	} else {
		b = it.batch
	}
	n := b.Size
	b.Images = b.Images[:n*it.d.SampleSize()]
	b.Labels = b.Labels[:n]
	b.Indices = b.Indices[:n]
	return b
}

// Close stops the prefetching goroutine, if any, and waits for it to end.
// Next then returns false until the next Start. Close may be called more
// than once, and on an Iterator without Prefetch.
func (it *Iterator) Close() {
	if it.pf != nil {
		it.pf.stop()
	}
	it.pos = len(it.order)
}

// prefetch runs one epoch's producer at a time.
type prefetch struct {
	bufs    []*Batch
	free    chan *Batch
	ready   chan *Batch
	quit    chan struct{}
	done    sync.WaitGroup
	cur     *Batch // held by the caller since the last Next
	running bool
}

func (p *prefetch) start(it *Iterator) {
	p.free = make(chan *Batch, len(p.bufs))
	for _, b := range p.bufs {
		p.free <- b
	}
	p.ready = make(chan *Batch, len(p.bufs))
	p.quit = make(chan struct{})
	p.cur = nil
	p.running = true
	p.done.Add(1)
	// The producer owns it.order, it.pos and it.aug until stop returns.
	go func(free, ready chan *Batch, quit chan struct{}) {
		defer p.done.Done()
		defer close(ready)
		for {
			n := it.take()
			if n == 0 {
				return
			}
			var b *Batch
			select {
			case b = <-free:
			case <-quit:
				return
			}
			it.fill(b, it.pos-n, n)
			select {
			case ready <- b:
			case <-quit:
				return
			}
		}
	}(p.free, p.ready, p.quit)
}

func (p *prefetch) next() bool {
	if !p.running {
		return false
	}
	if p.cur != nil {
		p.free <- p.cur // never blocks: free holds every buffer
		p.cur = nil
	}
	b, ok := <-p.ready
	if !ok {
		return false
	}
	p.cur = b
	return true
}

func (p *prefetch) stop() {
	if !p.running {
		return
	}
	close(p.quit)
	p.done.Wait()
	p.running = false
	p.cur = nil
}
