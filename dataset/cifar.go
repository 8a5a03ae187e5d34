package dataset

import (
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The CIFAR binary versions (https://www.cs.toronto.edu/~kriz/cifar.html):
// files of fixed-size records, each one or two label bytes followed by a
// 32x32 colour image as three 1024-byte planes (R, G, B), rows top to
// bottom. That is already the N x C x H x W layout of a Dataset.
const (
	cifarSide   = 32
	cifarPixels = 3 * cifarSide * cifarSide
	cifarPage   = "https://www.cs.toronto.edu/~kriz/cifar.html"
)

// cifarKind describes one of the registered CIFAR variants.
type cifarKind struct {
	name    string
	folder  string // the archive's top folder
	archive string // the archive's file name on cifarPage
	train   []string
	test    []string
	// labelBytes is the number of label bytes per record; label is the
	// index of the one used.
	labelBytes, label int
	classes           int
	namesFile         string // class names, one a line, when present
	names             []string
	norm              Norm
	what              string
}

var cifar10 = cifarKind{
	name: "cifar10", folder: "cifar-10-batches-bin", archive: "cifar-10-binary.tar.gz",
	train: []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
	test:  []string{"test_batch.bin"}, labelBytes: 1, label: 0, classes: 10, namesFile: "batches.meta.txt",
	names: []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"},
	// The training split's statistics (50,000 images).
	norm: Norm{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}},
	what: "a CIFAR-10 binary file",
}

var cifar100 = cifarKind{
	name: "cifar100", folder: "cifar-100-binary", archive: "cifar-100-binary.tar.gz",
	train: []string{"train.bin"}, test: []string{"test.bin"}, labelBytes: 2, label: 1, classes: 100,
	namesFile: "fine_label_names.txt", names: cifar100Fine,
	norm: Norm{Mean: []float32{0.5071, 0.4865, 0.4409}, Std: []float32{0.2673, 0.2564, 0.2762}},
	what: "a CIFAR-100 binary file",
}

// cifar100Coarse is CIFAR-100 labelled with its 20 superclasses (the
// record's first label byte).
var cifar100Coarse = func() cifarKind {
	k := cifar100
	k.name, k.label, k.classes, k.namesFile, k.names = "cifar100-coarse", 0, 20, "coarse_label_names.txt", cifar100CoarseNames
	return k
}()

var cifar100Fine = []string{
	"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
	"bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
	"chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
	"dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
	"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
	"mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
	"plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
	"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
	"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
	"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
}

var cifar100CoarseNames = []string{
	"aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
	"household_electrical_devices", "household_furniture", "insects", "large_carnivores",
	"large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
	"medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
	"vehicles_1", "vehicles_2",
}

// labelRanges is the number of classes of each label byte of a record:
// CIFAR-100's records hold the coarse (20) and then the fine (100) label.
func (k cifarKind) labelRanges() []int {
	if k.labelBytes == 2 {
		return []int{20, 100}
	}
	return []int{k.classes}
}

// labelName names label byte j of a record in errors.
func (k cifarKind) labelName(j int) string {
	if k.labelBytes == 2 {
		return [2]string{"coarse label", "fine label"}[j]
	}
	return "label"
}

func (k cifarKind) recordSize() int { return k.labelBytes + cifarPixels }

func (k cifarKind) files(split Split) []string {
	if split == Test {
		return k.test
	}
	return k.train
}

func cifarEntry(k cifarKind) entry {
	return entry{
		info: Info{Name: k.name, C: 3, H: cifarSide, W: cifarSide, Classes: k.classes, ClassNames: k.names,
			Norm: k.norm, Augment: Augment{Pad: 4, Flip: true}, TrainSize: 50000, TestSize: 10000,
			Source: k.archive + " from " + cifarPage + ", unpacked by the user"},
		dirs: func() []string {
			if root, err := CacheRoot(); err == nil {
				return []string{root}
			}
			return nil
		},
		load:    k.load,
		hint:    func() string { return k.hint("") },
		hintDir: func(dir string, _ Split) string { return k.hint(dir) },
		files: func(split Split) []string {
			var out []string
			for _, f := range k.files(split) {
				out = append(out, filepath.Join(k.folder, f))
			}
			return out
		},
	}
}

// hint says where the files go and where they come from; root is the data
// directory the user gave, or "" for the default location.
func (k cifarKind) hint(root string) string {
	if root == "" {
		var err error
		if root, err = CacheRoot(); err != nil {
			root = "DIR"
		}
	} else if st, err := os.Stat(root); err == nil && !st.IsDir() {
		return fmt.Sprintf("%s is a file, not a directory: the data directory is where the archive is unpacked, e.g.\n"+
			"  mkdir -p DIR && tar -xzf %s -C DIR\nand then give DIR", root, root)
	}
	if py := k.pythonFolder(root); py != "" {
		return fmt.Sprintf("%s holds the Python version of %s (pickles), which is not read; fetch %s, the binary version, from %s and unpack it beside it:\n"+
			"  tar -xzf %s -C %s", py, k.name, k.archive, cifarPage, k.archive, root)
	}
	return fmt.Sprintf("nothing is downloaded automatically. Fetch %s from %s (the binary version), then\n"+
		"  mkdir -p %[3]s && tar -xzf %[1]s -C %[3]s\n"+
		"which creates %[4]s/ holding %[5]s (any number of records per file is accepted, so a subset works)",
		k.archive, cifarPage, root, filepath.Join(root, k.folder),
		strings.Join(append(append([]string(nil), k.train...), k.test...), ", "))
}

// pythonFolder returns the folder of the data set's Python version under
// root (as torchvision unpacks it), or "" if there is none.
func (k cifarKind) pythonFolder(root string) string {
	py := strings.TrimSuffix(k.folder, "-bin")
	if k.labelBytes == 2 {
		py = strings.TrimSuffix(k.folder, "-binary") + "-python"
	} else {
		py += "-py"
	}
	for _, dir := range []string{filepath.Join(root, py), filepath.Join(root, k.name, py)} {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	return ""
}

// load reads one split. dirs are roots (the default cache root, or the
// user's directory and its <name>/ sub-folder); in each, the archive's
// folder and then the root itself are searched, and all the split's files
// must be in the first directory that holds the first of them.
func (k cifarKind) load(info Info, split Split, roots []string) (*Dataset, error) {
	var dirs []string
	for _, r := range roots {
		dirs = append(dirs, filepath.Join(r, k.folder), r)
	}
	names := k.files(split)
	dir, err := findDir(dirs, names[0])
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", k.name, split, err)
	}
	var missing []string
	sizes := make([]int64, len(names))
	rec := int64(k.recordSize())
	total := int64(0)
	for i, n := range names {
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, p)
			continue
		}
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file; expected %s", p, k.what)
		}
		if st.Size() > maxCIFARFileBytes {
			return nil, fmt.Errorf("%s: %d bytes is larger than %s can be (at most %d bytes): wrong file? refused without reading it",
				p, st.Size(), k.what, int64(maxCIFARFileBytes))
		}
		if st.Size()%rec != 0 {
			return nil, fmt.Errorf("%s: %d bytes is not a whole number of %d-byte records (%d records and %d bytes over): the file is truncated or not %s",
				p, st.Size(), rec, st.Size()/rec, st.Size()%rec, k.what)
		}
		sizes[i] = st.Size()
		total += st.Size() / rec
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s %s: found %s but not %s: %w", k.name, split, filepath.Join(dir, names[0]), strings.Join(missing, ", "), ErrNotFound)
	}
	if total == 0 {
		return nil, fmt.Errorf("%s %s: the files in %s hold no records", k.name, split, dir)
	}
	d := &Dataset{
		Name: k.name + "/" + string(split), C: 3, H: cifarSide, W: cifarSide, Classes: k.classes,
		Images: make([]float32, total*cifarPixels), Labels: make([]int, total),
	}
	buf := make([]byte, 0, min(sizes[0], 64<<20))
	at := 0
	for i, n := range names {
		p := filepath.Join(dir, n)
		if buf, err = readExactly(p, sizes[i], buf, k.what); err != nil {
			return nil, err
		}
		for r := int64(0); r < sizes[i]/rec; r++ {
			b := buf[r*rec : (r+1)*rec]
			// Every label byte is checked, the one not used too: a value
			// out of its range means the file is not what it should be.
			for j, classes := range k.labelRanges() {
				if lbl := int(b[j]); lbl >= classes {
					return nil, fmt.Errorf("%s: record %d has %s %d; %ss are 0..%d (not %s?)", p, r, k.labelName(j), lbl, k.labelName(j), classes-1, k.what)
				}
			}
			lbl := int(b[k.label])
			d.Labels[at] = lbl
			img := d.Images[at*cifarPixels : (at+1)*cifarPixels]
			for j, v := range b[k.labelBytes:] {
				img[j] = float32(v) / 255
			}
			at++
		}
	}
	names2, err := readClassNames(dir, k.namesFile, k.classes)
	if err != nil {
		return nil, err
	}
	if names2 == nil {
		names2 = k.names
	}
	d.ClassNames = append([]string(nil), names2...)
	return d, nil
}

// findDir returns the first directory holding a regular file called name.
func findDir(dirs []string, name string) (string, error) {
	var tried []string
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return dir, nil
		}
		tried = append(tried, p)
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("%s: %w (no location to search)", name, ErrNotFound)
	}
	return "", fmt.Errorf("%s: %w; looked for %s", name, ErrNotFound, strings.Join(tried, ", "))
}

// readExactly reads a file whose size was checked by Stat into buf
// (reusing its memory), failing if the file is now shorter or longer.
func readExactly(path string, size int64, buf []byte, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if int64(cap(buf)) < size+1 {
		buf = make([]byte, size+1)
	}
	buf = buf[:size+1]
	n, err := io.ReadFull(io.LimitReader(f, size+1), buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(n) != size {
		return nil, fmt.Errorf("%s: changed while being read (%d bytes, expected %d); expected %s", path, n, size, what)
	}
	return buf[:size], nil
}

// readClassNames reads a label-names file (one name a line, blank lines
// ignored) from dir if it exists; nil means it does not.
func readClassNames(dir, file string, classes int) ([]string, error) {
	p := filepath.Join(dir, file)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	raw, err := boundedfile.ReadFile(p, maxLabelFileBytes, "a class-name file")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(raw), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			names = append(names, s)
		}
	}
	if len(names) != classes {
		return nil, fmt.Errorf("%s: %d class names, expected %d (one a line)", p, len(names), classes)
	}
	return names, nil
}

// WriteCIFAR10 writes records in CIFAR-10's binary layout: for each image
// its label byte, then its 3,072 pixel bytes (pixels holds the images one
// after another, each as R, G and B planes of 32 rows of 32 bytes). It
// exists for tests and for users preparing their own subsets.
func WriteCIFAR10(w io.Writer, labels, pixels []uint8) error {
	return writeCIFAR(w, [][]uint8{labels}, 10, pixels)
}

// WriteCIFAR100 writes records in CIFAR-100's binary layout: coarse label,
// fine label, then the 3,072 pixel bytes of each image.
func WriteCIFAR100(w io.Writer, coarse, fine, pixels []uint8) error {
	if len(coarse) != len(fine) {
		return fmt.Errorf("cifar: %d coarse and %d fine labels", len(coarse), len(fine))
	}
	for i, c := range coarse {
		if c >= 20 {
			return fmt.Errorf("cifar: coarse label %d of image %d is not in 0..19", c, i)
		}
	}
	return writeCIFAR(w, [][]uint8{coarse, fine}, 100, pixels)
}

func writeCIFAR(w io.Writer, labels [][]uint8, classes int, pixels []uint8) error {
	n := len(labels[len(labels)-1])
	if len(pixels) != n*cifarPixels {
		return fmt.Errorf("cifar: %d labels need %d pixel bytes, got %d", n, n*cifarPixels, len(pixels))
	}
	for i, l := range labels[len(labels)-1] {
		if int(l) >= classes {
			return fmt.Errorf("cifar: label %d of image %d is not in 0..%d", l, i, classes-1)
		}
	}
	rec := make([]byte, 0, len(labels)+cifarPixels)
	for i := range n {
		rec = rec[:0]
		for _, l := range labels {
			rec = append(rec, l[i])
		}
		rec = append(rec, pixels[i*cifarPixels:(i+1)*cifarPixels]...)
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}
