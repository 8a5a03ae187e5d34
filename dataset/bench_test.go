package dataset

import "testing"

// BenchmarkIterator times one shuffled epoch of MNIST-sized samples in
// batches of 64 (copying into the reused batch buffer).
func BenchmarkIterator(b *testing.B) {
	d := &Dataset{Name: "bench", C: 1, H: 28, W: 28, Classes: 10,
		Images: make([]float32, 10000*784), Labels: make([]int, 10000)}
	it, err := NewIterator(d, 64, IterOptions{Shuffle: true, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	epoch := 0
	for b.Loop() {
		it.Start(epoch)
		for it.Next() {
		}
		epoch++
	}
}

func BenchmarkLoadMNISTTest(b *testing.B) {
	for b.Loop() {
		if _, err := Load("mnist", Test, Options{}); err != nil {
			b.Skip(err)
		}
	}
}

// BenchmarkIteratorCIFARAugmented times one epoch of 2,048 CIFAR-sized
// images in batches of 128 with CIFAR's crop and flip, filled inside Next
// (no prefetch): the work a prefetching iterator moves off the training
// step.
func BenchmarkIteratorCIFARAugmented(b *testing.B) {
	d := &Dataset{Name: "bench/train", C: 3, H: 32, W: 32, Classes: 10, Part: Train,
		Images: make([]float32, 2048*3072), Labels: make([]int, 2048)}
	it, err := NewIterator(d, 128, IterOptions{Shuffle: true, Seed: 1, Augment: Augment{Pad: 4, Flip: true}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	epoch := 0
	for b.Loop() {
		it.Start(epoch)
		for it.Next() {
		}
		epoch++
	}
}
