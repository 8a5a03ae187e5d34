package dataset

import "fmt"

// Batch is one mini-batch. Its slices belong to the Iterator and are
// overwritten by the next call to Next: copy what must be kept.
type Batch struct {
	Images  []float32 // Size x C x H x W
	Labels  []int     // Size
	Indices []int     // positions of the samples in the data set
	Size    int       // samples in this batch (the last one may be smaller)
}

// Iterator walks a data set in mini-batches, reusing one buffer.
//
//	it, _ := dataset.NewIterator(train, 64, dataset.IterOptions{Shuffle: true, Seed: 1})
//	for epoch := 0; epoch < n; epoch++ {
//		it.Start(epoch)
//		for it.Next() {
//			b := it.Batch()
//			...
//		}
//	}
type Iterator struct {
	d     *Dataset
	size  int
	opts  IterOptions
	order []int
	pos   int
	batch Batch
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
	it := &Iterator{d: d, size: batchSize, opts: opts, order: make([]int, d.Len())}
	it.batch.Images = make([]float32, batchSize*d.SampleSize())
	it.batch.Labels = make([]int, batchSize)
	it.batch.Indices = make([]int, batchSize)
	it.pos = d.Len() // Next returns false until Start
	return it, nil
}

// Start begins an epoch: it resets the position and, when shuffling, draws the
// order for this epoch.
func (it *Iterator) Start(epoch int) {
	if it.opts.Shuffle {
		permuteInto(it.order, it.opts.Seed, epochStream+uint64(epoch))
	} else {
		for i := range it.order {
			it.order[i] = i
		}
	}
	it.pos = 0
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
	left := len(it.order) - it.pos
	if left <= 0 || (it.opts.DropLast && left < it.size) {
		return false
	}
	n := min(left, it.size)
	s := it.d.SampleSize()
	for j := 0; j < n; j++ {
		i := it.order[it.pos+j]
		copy(it.batch.Images[j*s:(j+1)*s], it.d.Images[i*s:(i+1)*s])
		it.batch.Labels[j] = it.d.Labels[i]
		it.batch.Indices[j] = i
	}
	it.pos += n
	it.batch.Size = n
	return true
}

// Batch returns the batch filled by the last Next. For a short final batch the
// slices are cut to its size.
func (it *Iterator) Batch() Batch {
	b := it.batch
	n := b.Size
	b.Images = b.Images[:n*it.d.SampleSize()]
	b.Labels = b.Labels[:n]
	b.Indices = b.Indices[:n]
	return b
}
