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
