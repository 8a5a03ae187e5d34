package dataset

import (
	"math"
	"slices"
	"testing"
)

// toy makes n 1x2x2 images whose pixels all equal the sample index, with
// label index%3, so every batch can be checked against its indices.
func toy(n int) *Dataset {
	d := &Dataset{Name: "toy/train", C: 1, H: 2, W: 2, Classes: 3,
		Images: make([]float32, 4*n), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		for k := 0; k < 4; k++ {
			d.Images[4*i+k] = float32(i)
		}
		d.Labels[i] = i % 3
	}
	return d
}

func TestNormalize(t *testing.T) {
	// Two 2-channel 1x2 images; channel 0 standardised with 0.5/0.25,
	// channel 1 with 1/2.
	d := &Dataset{Name: "x", C: 2, H: 1, W: 2, Images: []float32{0, 0.5, 1, 3, 1, 0.25, 5, -1}, Labels: []int{0, 1}}
	if err := d.Normalize(Norm{Mean: []float32{0.5, 1}, Std: []float32{0.25, 2}}); err != nil {
		t.Fatal(err)
	}
	if want := []float32{-2, 0, 0, 1, 2, -1, 2, -1}; !slices.Equal(d.Images, want) {
		t.Errorf("normalised %v, want %v", d.Images, want)
	}
	if err := d.Normalize(Uniform(2, 0, 1)); err == nil {
		t.Error("second Normalize accepted")
	}
	for _, n := range []Norm{Uniform(1, 0, 0), Uniform(1, 0, -1), {Mean: []float32{0}}, Uniform(2, 0, 1)} {
		e := &Dataset{Name: "y", C: 1, H: 1, W: 1, Images: []float32{1}, Labels: []int{0}}
		if err := e.Normalize(n); err == nil {
			t.Errorf("Normalize(%v) accepted for one channel", n)
		}
	}
}

func TestStatsPerChannel(t *testing.T) {
	// Channel 0 holds 0, 1, 2, 3 (mean 1.5, population std sqrt(1.25));
	// channel 1 is constant 7, whose std is replaced by 1.
	d := &Dataset{Name: "s", C: 2, H: 1, W: 2, Images: []float32{0, 1, 7, 7, 2, 3, 7, 7}, Labels: []int{0, 0}}
	n := d.Stats()
	if math.Abs(float64(n.Mean[0])-1.5) > 1e-7 || math.Abs(float64(n.Std[0])-math.Sqrt(1.25)) > 1e-6 || n.Mean[1] != 7 || n.Std[1] != 1 {
		t.Errorf("Stats %v", n)
	}
	if got := (Norm{Mean: []float32{0.5, 1}, Std: []float32{0.25, 2}}).Padding(2); !slices.Equal(got, []float32{-2, -0.5}) {
		t.Errorf("Padding %v, want [-2 -0.5]", got)
	}
}

func TestLimitSharesMemory(t *testing.T) {
	d := toy(10)
	l := d.Limit(4)
	if l.Len() != 4 || len(l.Images) != 16 || l.Image(3)[0] != 3 {
		t.Fatalf("Limit(4): len %d, %d pixels", l.Len(), len(l.Images))
	}
	if d.Limit(0) != d || d.Limit(10) != d || d.Limit(11) != d {
		t.Error("Limit with n <= 0 or n >= Len should return the data set itself")
	}
	if cap(l.Labels) != 4 {
		t.Error("Limit result can append into the parent's labels")
	}
}

func TestSplitSeededAndDisjoint(t *testing.T) {
	d := toy(100)
	tr, va, err := d.Split(0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 80 || va.Len() != 20 {
		t.Fatalf("sizes %d/%d, want 80/20", tr.Len(), va.Len())
	}
	var seen []int
	for _, part := range []*Dataset{tr, va} {
		for i := 0; i < part.Len(); i++ {
			idx := int(part.Image(i)[0])
			if part.Labels[i] != idx%3 {
				t.Fatalf("sample %d lost its label", idx)
			}
			seen = append(seen, idx)
		}
	}
	slices.Sort(seen)
	for i, v := range seen {
		if v != i {
			t.Fatalf("split is not a partition: sorted indices %v", seen)
		}
	}
	tr2, va2, _ := d.Split(0.2, 7)
	if !slices.Equal(va.Images, va2.Images) || !slices.Equal(tr.Labels, tr2.Labels) {
		t.Error("same seed gave a different split")
	}
	_, va3, _ := d.Split(0.2, 8)
	if slices.Equal(va.Images, va3.Images) {
		t.Error("different seeds gave the same split")
	}
	if first := va.Images[0]; first == 0 && va.Images[4] == 1 {
		t.Error("validation set looks unshuffled")
	}
	for _, f := range []float64{0, 1, -0.1, 0.001} {
		if _, _, err := d.Split(f, 1); err == nil {
			t.Errorf("fraction %g accepted", f)
		}
	}
}

func TestIteratorCoversEachSampleOnce(t *testing.T) {
	d := toy(10)
	it, err := NewIterator(d, 4, IterOptions{Shuffle: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if it.Batches() != 3 {
		t.Errorf("Batches() = %d, want 3", it.Batches())
	}
	if it.Next() {
		t.Error("Next before Start returned a batch")
	}
	orders := map[int][]int{}
	for epoch := 0; epoch < 3; epoch++ {
		it.Start(epoch)
		var order, sizes []int
		var firstBuf *float32
		for it.Next() {
			b := it.Batch()
			if firstBuf == nil {
				firstBuf = &b.Images[0]
			} else if &b.Images[0] != firstBuf {
				t.Error("iterator allocated a new image buffer")
			}
			sizes = append(sizes, b.Size)
			for j := 0; j < b.Size; j++ {
				i := b.Indices[j]
				if b.Images[4*j] != float32(i) || b.Images[4*j+3] != float32(i) || b.Labels[j] != i%3 {
					t.Fatalf("batch slot %d does not hold sample %d", j, i)
				}
				order = append(order, i)
			}
		}
		if !slices.Equal(sizes, []int{4, 4, 2}) {
			t.Errorf("batch sizes %v, want [4 4 2]", sizes)
		}
		sorted := slices.Sorted(slices.Values(order))
		if !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Errorf("epoch %d visited %v", epoch, order)
		}
		orders[epoch] = order
	}
	if slices.Equal(orders[0], orders[1]) && slices.Equal(orders[1], orders[2]) {
		t.Error("all epochs have the same order")
	}
	// A fresh iterator replays epoch 1 exactly: resumed runs see the same batches.
	it2, _ := NewIterator(d, 4, IterOptions{Shuffle: true, Seed: 3})
	it2.Start(1)
	var replay []int
	for it2.Next() {
		replay = append(replay, it2.Batch().Indices...)
	}
	if !slices.Equal(replay, orders[1]) {
		t.Errorf("replayed epoch 1 as %v, want %v", replay, orders[1])
	}
}

func TestIteratorDropLastAndOrder(t *testing.T) {
	d := toy(10)
	it, _ := NewIterator(d, 4, IterOptions{DropLast: true})
	if it.Batches() != 2 {
		t.Errorf("Batches() = %d, want 2", it.Batches())
	}
	it.Start(0)
	var order []int
	for it.Next() {
		if it.Batch().Size != 4 {
			t.Errorf("DropLast gave a batch of %d", it.Batch().Size)
		}
		order = append(order, it.Batch().Indices...)
	}
	if !slices.Equal(order, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("unshuffled order %v", order)
	}
	if _, err := NewIterator(d, 0, IterOptions{}); err == nil {
		t.Error("batch size 0 accepted")
	}
	if _, err := NewIterator(d, 11, IterOptions{DropLast: true}); err == nil {
		t.Error("DropLast with fewer samples than a batch accepted")
	}
}
