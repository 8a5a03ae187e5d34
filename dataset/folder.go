package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"image"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/image/draw"
)

// An image folder is named "folder:DIR". DIR holds train/ and val/ (or
// test/), each with one sub-folder per class; the images of a class may sit
// anywhere below its folder (Tiny ImageNet keeps them in train/<class>/images/,
// and agn-approx's format script moves val/images/* to val/<class>/). Files
// other than .png, .jpg and .jpeg are ignored (the *_boxes.txt files).
const folderPrefix = "folder:"

// FolderDefaultSize is the image side an image folder is resized to when
// Options.Size is 0: Tiny ImageNet's own 64x64.
const FolderDefaultSize = 64

// maxImagePixels bounds a decoded image (width x height), checked from
// the header before the pixels are decoded.
const maxImagePixels = 1 << 26

// maxFolderSide bounds the size an image folder can be resized to.
const maxFolderSide = 4096

// IsFolder reports whether a data set name names an image folder
// (folder:DIR) rather than a registered set.
func IsFolder(name string) bool { return strings.HasPrefix(name, folderPrefix) }

// folderSplitDirs are the directory names tried for each split, in order.
func folderSplitDirs(split Split) []string {
	if split == Test {
		return []string{"val", "test"}
	}
	return []string{"train"}
}

// folderLayout is what listing an image folder finds.
type folderLayout struct {
	root    string
	classes []string
	// files[split][class] lists the class's images in sorted path order.
	files map[Split][][]string
	dirs  map[Split]string
}

func folderRoot(name string) (string, error) {
	root := strings.TrimPrefix(name, folderPrefix)
	if root == "" {
		return "", errors.New("image folder name \"folder:\" has no directory; use folder:DIR")
	}
	return root, nil
}

func folderSide(opts Options) (int, error) {
	s := opts.Size
	if s == 0 {
		s = FolderDefaultSize
	}
	if s < 1 || s > maxFolderSide {
		return 0, fmt.Errorf("image size %d must be between 1 and %d", opts.Size, maxFolderSide)
	}
	return s, nil
}

// listFolder finds the classes of both splits and their image files. The
// splits must have the same classes, and every class images in both.
func listFolder(name string) (*folderLayout, error) {
	root, err := folderRoot(name)
	if err != nil {
		return nil, err
	}
	l := &folderLayout{root: root, files: map[Split][][]string{}, dirs: map[Split]string{}}
	classesOf := map[Split][]string{}
	for _, split := range []Split{Train, Test} {
		var dir string
		var tried []string
		for _, n := range folderSplitDirs(split) {
			p := filepath.Join(root, n)
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				dir = p
				break
			}
			tried = append(tried, p)
		}
		if dir == "" {
			return nil, fmt.Errorf("image folder %s: no %s split: %s is not a directory; an image folder holds train/ and val/, "+
				"each with one sub-folder of PNG or JPEG images per class: %w", root, split, strings.Join(tried, " or "), ErrNotFound)
		}
		classes, err := classDirs(dir)
		if err != nil {
			return nil, fmt.Errorf("image folder %s: %w", root, err)
		}
		if len(classes) < 2 {
			if hint := unformattedHint(dir); hint != "" {
				return nil, fmt.Errorf("image folder %s: %s has its images in images/ with their classes in val_annotations.txt: %s", root, dir, hint)
			}
			return nil, fmt.Errorf("image folder %s: %s has %d class sub-folders; a classification set needs at least 2", root, dir, len(classes))
		}
		classesOf[split], l.dirs[split] = classes, dir
	}
	tr, te := classesOf[Train], classesOf[Test]
	if miss := missingFrom(tr, te); len(miss) > 0 {
		return nil, fmt.Errorf("image folder %s: %s lacks the classes %s that %s has; both splits need the same class folders",
			root, l.dirs[Test], strings.Join(miss, ", "), l.dirs[Train])
	}
	if miss := missingFrom(te, tr); len(miss) > 0 {
		return nil, fmt.Errorf("image folder %s: %s lacks the classes %s that %s has; both splits need the same class folders",
			root, l.dirs[Train], strings.Join(miss, ", "), l.dirs[Test])
	}
	l.classes = tr
	for _, split := range []Split{Train, Test} {
		perClass := make([][]string, len(l.classes))
		for c, class := range l.classes {
			cdir := filepath.Join(l.dirs[split], class)
			files, err := imageFiles(cdir)
			if err != nil {
				return nil, fmt.Errorf("image folder %s: %w", root, err)
			}
			perClass[c] = files
			if len(perClass[c]) == 0 {
				return nil, fmt.Errorf("image folder %s: class %q has no .png, .jpg or .jpeg files in %s", root, class, cdir)
			}
		}
		l.files[split] = perClass
	}
	return l, nil
}

// classDirs lists the class folders of a split's directory in sorted
// order: its sub-directories, or links to directories, whose names do not
// start with a dot.
func classDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var classes []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("class folder link %s: %w", filepath.Join(dir, e.Name()), err)
			}
			if st.IsDir() {
				classes = append(classes, e.Name())
			}
			continue
		}
		if e.IsDir() {
			classes = append(classes, e.Name())
		}
	}
	sort.Strings(classes)
	return classes, nil
}

// imageFiles lists the images anywhere below a class folder, in path order.
// Links are followed to files (a link to a directory below the class is
// not, which keeps a cycle out); names starting with a dot are skipped at
// every depth, as macOS's ._ files and thumbnail folders are not images.
func imageFiles(cdir string) ([]string, error) {
	// A class folder that is itself a link is walked where it points.
	real, err := filepath.EvalSymlinks(cdir)
	if err != nil {
		return nil, err
	}
	var files []string
	err = filepath.WalkDir(real, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := p != real && strings.HasPrefix(e.Name(), ".")
		switch {
		case hidden && e.IsDir():
			return fs.SkipDir
		case hidden || !isImageFile(p):
			return nil
		case e.Type().IsRegular():
		case e.Type()&fs.ModeSymlink != 0:
			st, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("image link %s: %w", p, err)
			}
			if !st.Mode().IsRegular() {
				return nil
			}
		default:
			return nil
		}
		// Paths name the class folder as the user gave it.
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.Join(cdir, rel))
		return nil
	})
	return files, err
}

// unformattedHint returns what to do with a validation split still in
// Tiny ImageNet's published layout (val/images/ and val_annotations.txt),
// or "" when dir is not one.
func unformattedHint(dir string) string {
	if st, err := os.Stat(filepath.Join(dir, "images")); err != nil || !st.IsDir() {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "val_annotations.txt")); err != nil {
		return ""
	}
	return "move each image into a folder named after its class first, as agn-approx's format_tinyimagenet.py --path DIR does (see docs/datasets.md)"
}

// missingFrom lists the names of want that have is lacks (both sorted).
func missingFrom(want, have []string) []string {
	var miss []string
	for _, w := range want {
		if i := sort.SearchStrings(have, w); i == len(have) || have[i] != w {
			miss = append(miss, w)
		}
	}
	return miss
}

func isImageFile(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

func folderInfo(name string, l *folderLayout, side int) Info {
	count := func(s Split) int {
		n := 0
		for _, f := range l.files[s] {
			n += len(f)
		}
		return n
	}
	return Info{Name: name, C: 3, H: side, W: side, Classes: len(l.classes),
		ClassNames: append([]string(nil), l.classes...),
		Augment:    Augment{Pad: max(1, side/8), Flip: true},
		TrainSize:  count(Train), TestSize: count(Test),
		Source: "image folder " + l.root}
}

func describeFolder(name string, opts Options) (Info, error) {
	side, err := folderSide(opts)
	if err != nil {
		return Info{}, err
	}
	l, err := listFolder(name)
	if err != nil {
		return Info{}, err
	}
	return folderInfo(name, l, side), nil
}

// loadFolder decodes one split of an image folder: every image becomes
// RGB (grey images repeat their value, transparent pixels are composed
// over black), resized to side x side with a bilinear filter (which
// averages over the source pixels when shrinking) unless it already has
// that size, then scaled to [0, 1]. Images are decoded in parallel; each
// lands in its own slot, so the result does not depend on the thread count.
func loadFolder(name string, split Split, opts Options) (*Dataset, error) {
	side, err := folderSide(opts)
	if err != nil {
		return nil, err
	}
	l, err := listFolder(name)
	if err != nil {
		return nil, err
	}
	paths, labels := interleaveClasses(l.files[split])
	sample := 3 * side * side
	d := &Dataset{
		Name: name + "/" + string(split), C: 3, H: side, W: side, Classes: len(l.classes),
		ClassNames: append([]string(nil), l.classes...),
		Images:     make([]float32, len(paths)*sample), Labels: labels,
		Part: split, set: name,
	}
	errs := make([]error, len(paths))
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := image.NewRGBA(image.Rect(0, 0, side, side))
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= len(paths) {
					return
				}
				if err := decodeInto(dst, paths[i]); err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
				toPlanes(d.Images[i*sample:(i+1)*sample], dst)
			}
		}()
	}
	wg.Wait()
	// The first failing file in path order, whichever worker met it.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// interleaveClasses orders the images of all classes as the samples of a
// set: the first image of every class, then the second of every class,
// and so on, each class's in path order. A class-sorted set would make
// any prefix of it, such as a training run's sample limit, a few classes
// only; this order makes every prefix hold all the classes, in equal
// numbers while they last.
func interleaveClasses(perClass [][]string) (paths []string, labels []int) {
	for j := 0; ; j++ {
		n := len(paths)
		for c, files := range perClass {
			if j < len(files) {
				paths = append(paths, files[j])
				labels = append(labels, c)
			}
		}
		if len(paths) == n {
			return paths, labels
		}
	}
}

// decodeInto decodes the image at path and draws it, resized, into dst.
func decodeInto(dst *image.RGBA, path string) error {
	raw, err := boundedfile.ReadFile(path, maxImageFileBytes, "a PNG or JPEG image")
	if err != nil {
		return err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s: cannot decode as PNG or JPEG: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return fmt.Errorf("%s: a %dx%d %s image; at most %d pixels are accepted", path, cfg.Width, cfg.Height, format, int64(maxImagePixels))
	}
	src, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s: cannot decode as %s: %w", path, format, err)
	}
	sb, db := src.Bounds(), dst.Bounds()
	if sb.Dx() == db.Dx() && sb.Dy() == db.Dy() {
		// Same size: an exact copy, no filtering.
		draw.Draw(dst, db, src, sb.Min, draw.Src)
	} else {
		draw.BiLinear.Scale(dst, db, src, sb, draw.Src, nil)
	}
	return nil
}

// toPlanes writes an RGBA image as three planes R, G, B scaled to [0, 1].
func toPlanes(out []float32, img *image.RGBA) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	plane := w * h
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			k := y*w + x
			out[k] = float32(row[4*x]) / 255
			out[plane+k] = float32(row[4*x+1]) / 255
			out[2*plane+k] = float32(row[4*x+2]) / 255
		}
	}
}
