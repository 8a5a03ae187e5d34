package dataset

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestAugmentCropFlipByHand(t *testing.T) {
	// One channel, 3x3, values 1..9; padding 1, fill value f.
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	const f = -2
	d := &Dataset{Name: "h", C: 1, H: 3, W: 3, Norm: Norm{Mean: []float32{1}, Std: []float32{0.5}}}
	g := newAugmenter(Augment{Pad: 1, Flip: true}, 0, d)
	cases := []struct {
		dy, dx int
		flip   bool
		want   []float32
	}{
		// Offset (1, 1) is the image itself.
		{1, 1, false, src},
		// Offset (0, 0): the window starts in the padding's corner.
		{0, 0, false, []float32{f, f, f, f, 1, 2, f, 4, 5}},
		// Offset (2, 1): shifted up one row, the last row from the padding.
		{2, 1, false, []float32{4, 5, 6, 7, 8, 9, f, f, f}},
		// The same window mirrored.
		{2, 1, true, []float32{6, 5, 4, 9, 8, 7, f, f, f}},
		// Offset (1, 2) mirrored: the crop is columns 2, 3, pad; mirrored
		// pad, 3, 2.
		{1, 2, true, []float32{f, 3, 2, f, 6, 5, f, 9, 8}},
		{1, 1, true, []float32{3, 2, 1, 6, 5, 4, 9, 8, 7}},
	}
	for _, c := range cases {
		dst := make([]float32, 9)
		g.applyAt(dst, src, c.dy, c.dx, c.flip)
		if !slices.Equal(dst, c.want) {
			t.Errorf("offset (%d, %d) flip %v: %v, want %v", c.dy, c.dx, c.flip, dst, c.want)
		}
	}
	// Two channels: each is cropped the same way with its own fill.
	d2 := &Dataset{Name: "h2", C: 2, H: 1, W: 2}
	g2 := newAugmenter(Augment{Pad: 1}, 0, d2)
	dst := make([]float32, 4)
	g2.applyAt(dst, []float32{1, 2, 3, 4}, 1, 0, false)
	if want := []float32{0, 1, 0, 3}; !slices.Equal(dst, want) {
		t.Errorf("two channels: %v, want %v", dst, want)
	}
}

func TestAugmentDrawsCoverTheRange(t *testing.T) {
	d := &Dataset{Name: "r", C: 1, H: 8, W: 8}
	g := newAugmenter(Augment{Pad: 4, Flip: true}, 11, d)
	ys, xs := make([]int, 9), make([]int, 9)
	flips := 0
	const n = 9000
	for i := range n {
		dy, dx, flip := g.draw(3, i)
		ys[dy]++
		xs[dx]++
		if flip {
			flips++
		}
	}
	for k := range 9 {
		// Each offset expected 1000 times; a fixed seed, so no flakiness:
		// this catches a range that is off by one or a constant draw.
		if ys[k] < 850 || ys[k] > 1150 || xs[k] < 850 || xs[k] > 1150 {
			t.Errorf("offset %d drawn %d (rows) and %d (columns) times of %d", k, ys[k], xs[k], n)
		}
	}
	if flips < 4300 || flips > 4700 {
		t.Errorf("%d flips in %d draws", flips, n)
	}
	// Turning the crop off leaves the flips unchanged, and Flip off never flips.
	noCrop := newAugmenter(Augment{Flip: true}, 11, d)
	noFlip := newAugmenter(Augment{Pad: 4}, 11, d)
	for i := range 200 {
		_, _, f1 := g.draw(3, i)
		dy, dx, f2 := noCrop.draw(3, i)
		if f1 != f2 || dy != 0 || dx != 0 {
			t.Fatalf("sample %d: flip %v with crop, %v without; offsets (%d, %d) without crop", i, f1, f2, dy, dx)
		}
		if _, _, f := noFlip.draw(3, i); f {
			t.Fatalf("sample %d flipped with Flip off", i)
		}
	}
}

// epochImages returns the augmented image of every sample in one epoch,
// indexed by sample.
func epochImages(t *testing.T, d *Dataset, batch int, opts IterOptions, epoch int) [][]float32 {
	t.Helper()
	it, err := NewIterator(d, batch, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := make([][]float32, d.Len())
	it.Start(epoch)
	for it.Next() {
		b := it.Batch()
		s := d.SampleSize()
		for j, i := range b.Indices {
			out[i] = slices.Clone(b.Images[j*s : (j+1)*s])
			if b.Labels[j] != d.Labels[i] {
				t.Fatalf("sample %d: label %d, want %d", i, b.Labels[j], d.Labels[i])
			}
		}
	}
	return out
}

// colourful makes n 3x6x6 images with distinct pixels.
func colourful(n int) *Dataset {
	d := &Dataset{Name: "c/train", C: 3, H: 6, W: 6, Classes: 4, Part: Train,
		Images: make([]float32, n*108), Labels: make([]int, n)}
	for i := range d.Images {
		d.Images[i] = float32(i%251) / 251
	}
	for i := range d.Labels {
		d.Labels[i] = i % 4
	}
	return d
}

func TestAugmentedEpochsDeterministic(t *testing.T) {
	d := colourful(37)
	aug := IterOptions{Shuffle: true, Seed: 5, Augment: Augment{Pad: 2, Flip: true}}
	ref := epochImages(t, d, 8, aug, 4)

	// The same seed and epoch give the same images whatever the batch
	// size, prefetching depth or number of threads.
	variants := []struct {
		batch, prefetch, procs int
	}{{8, 0, 0}, {5, 0, 0}, {37, 0, 0}, {8, 1, 0}, {3, 4, 1}, {8, 2, 4}}
	for _, v := range variants {
		o := aug
		o.Prefetch = v.prefetch
		if v.procs > 0 {
			old := runtime.GOMAXPROCS(v.procs)
			got := epochImages(t, d, v.batch, o, 4)
			runtime.GOMAXPROCS(old)
			if !slices.EqualFunc(got, ref, slices.Equal) {
				t.Errorf("batch %d prefetch %d threads %d: different images", v.batch, v.prefetch, v.procs)
			}
			continue
		}
		if got := epochImages(t, d, v.batch, o, 4); !slices.EqualFunc(got, ref, slices.Equal) {
			t.Errorf("batch %d prefetch %d: different images", v.batch, v.prefetch)
		}
	}

	// Another epoch or seed changes them; without augmentation the images
	// are the data set's own.
	changed := func(a, b [][]float32) int {
		n := 0
		for i := range a {
			if !slices.Equal(a[i], b[i]) {
				n++
			}
		}
		return n
	}
	if n := changed(epochImages(t, d, 8, aug, 5), ref); n < d.Len()/2 {
		t.Errorf("epoch 5 changed only %d of %d images from epoch 4", n, d.Len())
	}
	other := aug
	other.Seed = 6
	if n := changed(epochImages(t, d, 8, other, 4), ref); n < d.Len()/2 {
		t.Errorf("seed 6 changed only %d of %d images from seed 5", n, d.Len())
	}
	plain := epochImages(t, d, 8, IterOptions{Shuffle: true, Seed: 5, Prefetch: 2}, 4)
	for i := range plain {
		if !slices.Equal(plain[i], d.Image(i)) {
			t.Fatalf("sample %d changed without augmentation", i)
		}
	}
	// Every augmented image is the crop-and-flip the augmenter draws for it.
	g := newAugmenter(aug.Augment, aug.Seed, d)
	want := make([]float32, d.SampleSize())
	for i := range ref {
		g.apply(want, d.Image(i), 4, i)
		if !slices.Equal(ref[i], want) {
			t.Fatalf("sample %d is not its drawn crop", i)
		}
	}
}

func TestAugmentRefusedOnTestData(t *testing.T) {
	d := colourful(4)
	d.Part = Test
	if _, err := NewIterator(d, 2, IterOptions{Augment: Augment{Flip: true}}); err == nil || !strings.Contains(err.Error(), "training data only") {
		t.Errorf("augmenting a test split: %v", err)
	}
	if _, err := NewIterator(d, 2, IterOptions{Prefetch: 1}); err != nil {
		t.Errorf("plain iterator on a test split: %v", err)
	}
	d.Part = Train
	if _, err := NewIterator(d, 2, IterOptions{Augment: Augment{Pad: 7}}); err == nil || !strings.Contains(err.Error(), "larger than the 6x6 image") {
		t.Errorf("padding 7 on 6x6: %v", err)
	}
	if _, err := NewIterator(d, 2, IterOptions{Prefetch: -1}); err == nil {
		t.Error("negative prefetch accepted")
	}
}

func TestAugmentPadsWithNormalisedBlack(t *testing.T) {
	// A normalised image padded by its whole size in every direction: with
	// the draw that lands fully in the padding, every pixel is -mean/std.
	d := &Dataset{Name: "n/train", C: 2, H: 2, W: 2, Classes: 2, Part: Train,
		Images: []float32{0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1}, Labels: []int{1}}
	if err := d.Normalize(Norm{Mean: []float32{0.5, 0.25}, Std: []float32{0.25, 0.5}}); err != nil {
		t.Fatal(err)
	}
	g := newAugmenter(Augment{Pad: 2}, 0, d)
	dst := make([]float32, 8)
	g.applyAt(dst, d.Images, 0, 0, false)
	if want := []float32{-2, -2, -2, -2, -0.5, -0.5, -0.5, -0.5}; !slices.Equal(dst, want) {
		t.Errorf("padding %v, want %v", dst, want)
	}
}

func TestParseAugment(t *testing.T) {
	cifar, _ := Lookup("cifar10")
	mnist, _ := Lookup("mnist")
	folder := Info{Name: "folder:x", C: 3, H: 64, W: 64, Augment: Augment{Pad: 8, Flip: true}}
	cases := []struct {
		spec string
		info Info
		want Augment
	}{
		{"default", cifar, Augment{Pad: 4, Flip: true}},
		{"", mnist, Augment{}},
		{"default", folder, Augment{Pad: 8, Flip: true}},
		{"none", cifar, Augment{}},
		{"crop", cifar, Augment{Pad: 4}},
		{"crop", mnist, Augment{Pad: 3}}, // 28/8
		{"flip", mnist, Augment{Flip: true}},
		{"crop+flip", folder, Augment{Pad: 8, Flip: true}},
		{" Flip + crop=2 ", cifar, Augment{Pad: 2, Flip: true}},
		{"crop=4+flip", cifar, Augment{Pad: 4, Flip: true}},
	}
	for _, c := range cases {
		got, err := ParseAugment(c.spec, c.info)
		if err != nil || got != c.want {
			t.Errorf("ParseAugment(%q, %s) = %v, %v; want %v", c.spec, c.info.Name, got, err, c.want)
			continue
		}
		// String is a spec that gives the same Augment back.
		if back, err := ParseAugment(got.String(), c.info); err != nil || back != got {
			t.Errorf("%v: String %q parses to %v, %v", got, got.String(), back, err)
		}
	}
	for spec, want := range map[string]string{
		"rotate":      `unknown augmentation "rotate"`,
		"crop=0":      "positive whole number",
		"crop=x":      "positive whole number",
		"flip+flip":   "names flip twice",
		"crop=40":     "larger than the 32x32 image",
		"crop+":       `unknown augmentation ""`,
		"flip=1":      `unknown augmentation "flip=1"`,
		"none+crop=1": `unknown augmentation "none"`,
	} {
		if _, err := ParseAugment(spec, cifar); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAugment(%q): %v, want %q", spec, err, want)
		}
	}
	if s := (Augment{}).String(); s != "none" {
		t.Errorf("zero Augment is %q", s)
	}
}

func TestPrefetchCloseAndRestart(t *testing.T) {
	d := toy(10)
	it, err := NewIterator(d, 3, IterOptions{Shuffle: true, Seed: 2, Prefetch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if it.Next() {
		t.Fatal("Next before Start returned a batch")
	}
	it.Start(0)
	if !it.Next() {
		t.Fatal("no first batch")
	}
	first := slices.Clone(it.Batch().Indices)
	// Abandon the epoch midway and start it again: the same batches.
	it.Start(0)
	var seen []int
	for it.Next() {
		seen = append(seen, it.Batch().Indices...)
	}
	if !slices.Equal(seen[:3], first) || len(seen) != 10 {
		t.Errorf("restarted epoch: %v (first batch before %v)", seen, first)
	}
	sorted := slices.Sorted(slices.Values(seen))
	if !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("epoch visited %v", seen)
	}
	it.Start(1)
	it.Next()
	it.Close()
	it.Close()
	if it.Next() {
		t.Error("Next after Close returned a batch")
	}
	if b := it.Batch(); b.Size != 0 {
		t.Errorf("Batch after Close has %d samples", b.Size)
	}
	it.Start(1)
	n := 0
	for it.Next() {
		n += it.Batch().Size
	}
	it.Close()
	if n != 10 {
		t.Errorf("epoch after Close and Start gave %d samples", n)
	}
	// DropLast with prefetching: three full batches of 10 samples.
	dl, _ := NewIterator(d, 3, IterOptions{DropLast: true, Prefetch: 1})
	dl.Start(0)
	var sizes []int
	for dl.Next() {
		sizes = append(sizes, dl.Batch().Size)
	}
	dl.Close()
	if !slices.Equal(sizes, []int{3, 3, 3}) || dl.Batches() != 3 {
		t.Errorf("DropLast with prefetch: batches %v, Batches() %d", sizes, dl.Batches())
	}
	// Without Prefetch, Close ends the epoch too.
	plain, _ := NewIterator(d, 3, IterOptions{})
	plain.Start(0)
	plain.Close()
	if plain.Next() {
		t.Error("Next after Close returned a batch without prefetch")
	}
}

// TestAugmentMatchesPixelFormula compares the row-wise crop and flip with
// the definition pixel by pixel, on odd shapes, every offset and both flips.
func TestAugmentMatchesPixelFormula(t *testing.T) {
	for _, s := range []struct{ c, h, w, pad int }{{1, 1, 1, 1}, {3, 5, 7, 2}, {2, 4, 3, 3}, {1, 6, 6, 6}, {3, 32, 32, 4}} {
		d := &Dataset{Name: "f", C: s.c, H: s.h, W: s.w, Norm: Uniform(s.c, 0.25, 0.5)}
		src := make([]float32, s.c*s.h*s.w)
		for i := range src {
			src[i] = float32(i%97) + 0.5
		}
		g := newAugmenter(Augment{Pad: s.pad, Flip: true}, 0, d)
		dst := make([]float32, len(src))
		for dy := 0; dy <= 2*s.pad; dy++ {
			for dx := 0; dx <= 2*s.pad; dx++ {
				for _, flip := range []bool{false, true} {
					g.applyAt(dst, src, dy, dx, flip)
					for c := range s.c {
						for y := range s.h {
							for x := range s.w {
								cx := x
								if flip {
									cx = s.w - 1 - x
								}
								sy, sx := y+dy-s.pad, cx+dx-s.pad
								want := float32(-0.5) // (0 - 0.25) / 0.5
								if sy >= 0 && sy < s.h && sx >= 0 && sx < s.w {
									want = src[(c*s.h+sy)*s.w+sx]
								}
								if got := dst[(c*s.h+y)*s.w+x]; got != want {
									t.Fatalf("%+v offset (%d, %d) flip %v: (%d, %d, %d) = %g, want %g", s, dy, dx, flip, c, y, x, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
}
