package dataset

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarPixel is the test files' pixel at channel c, row y, column x of
// the image with global number n: a formula, so any misplaced byte shows.
func cifarPixel(n, c, y, x int) byte { return byte(n*37 + c*101 + y*7 + x*3) }

// cifarRecords builds records byte by byte: the label bytes, then the R,
// G and B planes, each 32 rows of 32 bytes. first is the global number of
// the first image.
func cifarRecords(labels [][]byte, first int) []byte {
	var b []byte
	for k, l := range labels {
		b = append(b, l...)
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					b = append(b, cifarPixel(first+k, c, y, x))
				}
			}
		}
	}
	return b
}

func oneByte(ls ...int) [][]byte {
	out := make([][]byte, len(ls))
	for i, l := range ls {
		out[i] = []byte{byte(l)}
	}
	return out
}

// checkCIFARImages compares every pixel of d with cifarPixel.
func checkCIFARImages(t *testing.T, d *Dataset) {
	t.Helper()
	if d.C != 3 || d.H != 32 || d.W != 32 || len(d.Images) != d.Len()*3072 {
		t.Fatalf("%s: %dx%dx%d, %d pixels for %d images", d.Name, d.C, d.H, d.W, len(d.Images), d.Len())
	}
	for n := range d.Len() {
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					got := d.Images[n*3072+c*1024+y*32+x]
					if want := float32(cifarPixel(n, c, y, x)) / 255; got != want {
						t.Fatalf("%s: image %d channel %d (%d, %d) = %g, want %g", d.Name, n, c, y, x, got, want)
					}
				}
			}
		}
	}
}

// writeCIFAR10 writes a small CIFAR-10 set into dir: the five training
// files hold 1, 0, 2, 1 and 3 records, the test file 2.
func writeCIFAR10(t *testing.T, dir string) (train, test []int) {
	counts := []int{1, 0, 2, 1, 3}
	train = []int{3, 9, 0, 5, 1, 2, 7}
	at := 0
	for i, n := range counts {
		writeFile(t, filepath.Join(dir, cifar10.train[i]), cifarRecords(oneByte(train[at:at+n]...), at))
		at += n
	}
	test = []int{4, 8}
	writeFile(t, filepath.Join(dir, "test_batch.bin"), cifarRecords(oneByte(test...), 0))
	return train, test
}

func TestCIFAR10ValueForValue(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	wantTrain, wantTest := writeCIFAR10(t, dir)
	meta := "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte(meta))

	// The data directory may be the archive's parent (torchvision's root)
	// or the archive's folder itself.
	for _, d := range []string{root, dir} {
		train, err := Load("cifar10", Train, Options{Dir: d})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(train.Labels, wantTrain) || train.Classes != 10 || train.Name != "cifar10/train" || train.Part != Train {
			t.Errorf("train: labels %v classes %d name %s part %s", train.Labels, train.Classes, train.Name, train.Part)
		}
		checkCIFARImages(t, train)
		if train.ClassNames[0] != "plane" || train.ClassNames[9] != "truck" || len(train.ClassNames) != 10 {
			t.Errorf("class names %v, want those of batches.meta.txt", train.ClassNames)
		}
		test, err := Load("cifar10", Test, Options{Dir: d})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(test.Labels, wantTest) || test.Part != Test {
			t.Errorf("test labels %v part %s", test.Labels, test.Part)
		}
		checkCIFARImages(t, test)
	}

	// Without batches.meta.txt the official names are used.
	if err := os.Remove(filepath.Join(dir, "batches.meta.txt")); err != nil {
		t.Fatal(err)
	}
	test, err := Load("cifar10", Test, Options{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if test.ClassNames[0] != "airplane" || test.ClassNames[1] != "automobile" {
		t.Errorf("class names %v", test.ClassNames)
	}
}

func TestCIFARDefaultLocation(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	root, err := CacheRoot()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "goapprox", "datasets"); root != want {
		t.Fatalf("CacheRoot %s, want %s", root, want)
	}
	_, err = Load("cifar10", Test, Options{})
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, want := range []string{
		filepath.Join(root, "cifar-10-batches-bin", "test_batch.bin"),
		"https://www.cs.toronto.edu/~kriz/cifar.html", "cifar-10-binary.tar.gz",
		"tar -xzf cifar-10-binary.tar.gz -C " + root, "nothing is downloaded",
	} {
		if !errors.Is(err, ErrNotFound) || !strings.Contains(msg, want) {
			t.Errorf("missing CIFAR-10 error does not mention %q:\n%v", want, err)
		}
	}
	writeCIFAR10(t, filepath.Join(root, "cifar-10-batches-bin"))
	d, err := Load("cifar10", Test, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCIFARImages(t, d)
}

func TestCIFAR100FineAndCoarse(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-100-binary")
	// (coarse, fine) label pairs.
	train := [][]byte{{19, 99}, {0, 4}, {7, 50}}
	test := [][]byte{{3, 0}}
	writeFile(t, filepath.Join(dir, "train.bin"), cifarRecords(train, 0))
	writeFile(t, filepath.Join(dir, "test.bin"), cifarRecords(test, 0))

	fine, err := Load("cifar100", Train, Options{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fine.Labels, []int{99, 4, 50}) || fine.Classes != 100 || fine.ClassNames[99] != "worm" || fine.ClassNames[4] != "beaver" {
		t.Errorf("fine labels %v, classes %d, names %q %q", fine.Labels, fine.Classes, fine.ClassNames[99], fine.ClassNames[4])
	}
	checkCIFARImages(t, fine)
	coarse, err := Load("cifar100-coarse", Train, Options{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(coarse.Labels, []int{19, 0, 7}) || coarse.Classes != 20 || coarse.ClassNames[19] != "vehicles_2" {
		t.Errorf("coarse labels %v, classes %d", coarse.Labels, coarse.Classes)
	}
	checkCIFARImages(t, coarse)
	te, err := Load("cifar100", Test, Options{Dir: filepath.Join(root, "cifar-100-binary")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(te.Labels, []int{0}) {
		t.Errorf("test labels %v", te.Labels)
	}
	checkCIFARImages(t, te)

	// A label-names file replaces the built-in names and must have the
	// right number of lines.
	writeFile(t, filepath.Join(dir, "coarse_label_names.txt"), []byte(strings.Repeat("x\n", 19)))
	if _, err := Load("cifar100-coarse", Test, Options{Dir: root}); err == nil || !strings.Contains(err.Error(), "19 class names, expected 20") {
		t.Errorf("short coarse names file: %v", err)
	}
}

func TestCIFARRegistered(t *testing.T) {
	for name, want := range map[string]struct {
		classes int
		mean0   float32
	}{"cifar10": {10, 0.4914}, "cifar100": {100, 0.5071}, "cifar100-coarse": {20, 0.5071}} {
		info, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if info.C != 3 || info.H != 32 || info.W != 32 || info.Classes != want.classes || len(info.ClassNames) != want.classes ||
			info.Norm.Mean[0] != want.mean0 || len(info.Norm.Std) != 3 || info.Augment != (Augment{Pad: 4, Flip: true}) {
			t.Errorf("%s: %+v", name, info)
		}
		seen := map[string]bool{}
		for _, n := range info.ClassNames {
			if seen[n] || n == "" {
				t.Errorf("%s: class name %q repeated or empty", name, n)
			}
			seen[n] = true
		}
	}
	if !slices.IsSorted(cifar100Fine) || !slices.IsSorted(cifar100CoarseNames) {
		t.Error("CIFAR-100's label names files list the names alphabetically")
	}
}

func TestCIFARErrors(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR10(t, dir)
	load := func() error { _, err := Load("cifar10", Train, Options{Dir: dir}); return err }
	expect := func(what string, err error, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v does not mention %q", what, err, w)
			}
		}
	}

	// One training file missing: named, with where the archive comes from.
	p3 := filepath.Join(dir, "data_batch_3.bin")
	good3, _ := os.ReadFile(p3)
	os.Remove(p3)
	err := load()
	expect("missing batch", err, p3, "cifar-10-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar.html")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing batch: %v is not ErrNotFound", err)
	}

	// A truncated file: the size is not a whole number of records.
	writeFile(t, p3, good3[:len(good3)-5])
	expect("truncated", load(), p3, "not a whole number of 3073-byte records", "1 records and 3068 bytes over")

	// A label out of range.
	bad := append([]byte(nil), good3...)
	bad[3073] = 10
	writeFile(t, p3, bad)
	expect("label", load(), p3, "record 1 has label 10; labels are 0..9")

	// CIFAR-100 fine and coarse ranges: both label bytes are checked,
	// whichever of them is used.
	d100 := t.TempDir()
	writeFile(t, filepath.Join(d100, "train.bin"), cifarRecords([][]byte{{19, 99}, {20, 3}}, 0))
	writeFile(t, filepath.Join(d100, "test.bin"), cifarRecords([][]byte{{2, 100}}, 0))
	for _, name := range []string{"cifar100", "cifar100-coarse"} {
		_, err = Load(name, Train, Options{Dir: d100})
		expect(name+" coarse label", err, "record 1 has coarse label 20; coarse labels are 0..19")
		_, err = Load(name, Test, Options{Dir: d100})
		expect(name+" fine label", err, "record 0 has fine label 100; fine labels are 0..99")
	}
	writeFile(t, filepath.Join(d100, "train.bin"), cifarRecords([][]byte{{19, 99}}, 0))
	if d, err := Load("cifar100", Train, Options{Dir: d100}); err != nil || d.Labels[0] != 99 {
		t.Errorf("labels 19 and 99: %v", err)
	}

	// The data directory given as the archive, or holding the Python
	// version: the hint says so.
	archive := filepath.Join(t.TempDir(), "cifar-10-binary.tar.gz")
	writeFile(t, archive, []byte("gzip"))
	_, err = Load("cifar10", Train, Options{Dir: archive})
	expect("archive as directory", err, archive+" is a file, not a directory")
	py := t.TempDir()
	writeFile(t, filepath.Join(py, "cifar-10-batches-py", "data_batch_1"), []byte("pickle"))
	_, err = Load("cifar10", Train, Options{Dir: py})
	expect("python version", err, filepath.Join(py, "cifar-10-batches-py")+" holds the Python version", "cifar-10-binary.tar.gz")
	writeFile(t, filepath.Join(py, "cifar-100-python", "train"), []byte("pickle"))
	_, err = Load("cifar100", Train, Options{Dir: py})
	expect("python version", err, filepath.Join(py, "cifar-100-python")+" holds the Python version", "cifar-100-binary.tar.gz")

	// A huge sparse file is refused by its size, before any read.
	writeFile(t, p3, good3)
	if err := os.Truncate(p3, 1<<40); err != nil {
		t.Skip("no sparse files here:", err)
	}
	expect("huge", load(), p3, "1099511627776 bytes is larger than", "refused without reading it")

	// Empty files everywhere: no records.
	e := t.TempDir()
	writeFile(t, filepath.Join(e, "test_batch.bin"), nil)
	_, err = Load("cifar10", Test, Options{Dir: e})
	expect("empty", err, "hold no records")
}

func TestCIFARLoadSplitsNormalises(t *testing.T) {
	root := t.TempDir()
	writeCIFAR10(t, filepath.Join(root, "cifar-10-batches-bin"))
	train, test, err := LoadSplits("cifar10", Options{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	mean := []float64{0.4914, 0.4822, 0.4465}
	std := []float64{0.2470, 0.2435, 0.2616}
	for _, d := range []*Dataset{train, test} {
		for n := range d.Len() {
			for c := range 3 {
				for _, yx := range [][2]int{{0, 0}, {5, 17}, {31, 31}} {
					got := float64(d.Images[n*3072+c*1024+yx[0]*32+yx[1]])
					want := (float64(cifarPixel(n, c, yx[0], yx[1]))/255 - mean[c]) / std[c]
					if math.Abs(got-want) > 1e-5 {
						t.Fatalf("%s image %d channel %d %v: %g, want %g", d.Name, n, c, yx, got, want)
					}
				}
			}
		}
	}
	if err := test.NormalizeDefault(); err == nil {
		t.Error("a second normalisation was accepted")
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"mnist/train": "mnist", "cifar100-coarse/test": "cifar100-coarse", "digits": "digits",
		"folder:/data/tiny/train": "folder:/data/tiny", "folder:rel/val": "folder:rel", "folder:x": "folder:x",
	} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteCIFARMatchesHandMade(t *testing.T) {
	pixels := func(n int) []byte {
		var p []byte
		for k := range n {
			for c := range 3 {
				for y := range 32 {
					for x := range 32 {
						p = append(p, cifarPixel(k, c, y, x))
					}
				}
			}
		}
		return p
	}
	var b10 bytes.Buffer
	if err := WriteCIFAR10(&b10, []byte{3, 9}, pixels(2)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b10.Bytes(), cifarRecords(oneByte(3, 9), 0)) {
		t.Error("WriteCIFAR10 differs from the hand-made records")
	}
	var b100 bytes.Buffer
	if err := WriteCIFAR100(&b100, []byte{19, 0}, []byte{99, 4}, pixels(2)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b100.Bytes(), cifarRecords([][]byte{{19, 99}, {0, 4}}, 0)) {
		t.Error("WriteCIFAR100 differs from the hand-made records")
	}
	for name, err := range map[string]error{
		"label 10":      WriteCIFAR10(io.Discard, []byte{10}, pixels(1)),
		"short pixels":  WriteCIFAR10(io.Discard, []byte{1, 2}, pixels(1)),
		"coarse 20":     WriteCIFAR100(io.Discard, []byte{20}, []byte{1}, pixels(1)),
		"fine 100":      WriteCIFAR100(io.Discard, []byte{1}, []byte{100}, pixels(1)),
		"label lengths": WriteCIFAR100(io.Discard, []byte{1, 2}, []byte{1}, pixels(1)),
	} {
		if err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
