package dataset

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// folderPixel is the test images' colour at (x, y) of image n.
func folderPixel(n, x, y int) color.NRGBA {
	return color.NRGBA{R: uint8(n*50 + x*9 + y), G: uint8(200 - n*3 - y*11), B: uint8(x*y*5 + n), A: 255}
}

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testImage(n, side int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			img.SetNRGBA(x, y, folderPixel(n, x, y))
		}
	}
	return img
}

// writeTinyFolder writes a Tiny-ImageNet-shaped folder of 4x4 PNGs: train
// images under train/<class>/images/ next to a boxes file, val images
// directly in val/<class>/. Classes are created out of order. It returns
// the image numbers of each split in the loader's order: the first image
// of each class (classes sorted), then the second of each, files sorted.
func writeTinyFolder(t *testing.T, root string) (train, val []int) {
	n := 0
	put := func(split, class, file string) int {
		p := filepath.Join(root, split, class, file)
		writeFile(t, p, pngOf(t, testImage(n, 4)))
		n++
		return n - 1
	}
	// Written in this order; loaded as ant (a, b), moth (c), zebra (d, e).
	z1 := put("train", "zebra", "images/zebra_1.png")
	a1 := put("train", "ant", "images/ant_1.png")
	m1 := put("train", "moth", "images/moth_1.PNG")
	z0 := put("train", "zebra", "images/zebra_0.png")
	a0 := put("train", "ant", "images/ant_0.png")
	writeFile(t, filepath.Join(root, "train", "ant", "ant_boxes.txt"), []byte("ant_0.png\t0\t0\t3\t3\n"))
	vz := put("val", "zebra", "v2.png")
	va := put("val", "ant", "v1.png")
	vm := put("val", "moth", "v0.png")
	return []int{a0, m1, z0, a1, z1}, []int{va, vm, vz}
}

// checkFolderImages compares d's pixels with folderPixel of the given
// image numbers, exactly (the files have the loaded size: no resizing).
func checkFolderImages(t *testing.T, d *Dataset, numbers []int) {
	t.Helper()
	if d.Len() != len(numbers) || d.C != 3 {
		t.Fatalf("%s: %d images of %d channels, want %d of 3", d.Name, d.Len(), d.C, len(numbers))
	}
	s := d.H
	for i, n := range numbers {
		img := d.Image(i)
		for y := range s {
			for x := range s {
				p := folderPixel(n, x, y)
				for c, v := range []uint8{p.R, p.G, p.B} {
					if got := img[c*s*s+y*s+x]; got != float32(v)/255 {
						t.Fatalf("%s image %d (file %d) channel %d (%d, %d) = %g, want %g", d.Name, i, n, c, x, y, got, float32(v)/255)
					}
				}
			}
		}
	}
}

func TestFolderTinyImageNetLayout(t *testing.T) {
	root := t.TempDir()
	wantTrain, wantVal := writeTinyFolder(t, root)
	name := "folder:" + root
	opts := Options{Size: 4}

	info, err := Describe(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.ClassNames, []string{"ant", "moth", "zebra"}) || info.Classes != 3 || info.C != 3 || info.H != 4 || info.W != 4 ||
		info.TrainSize != 5 || info.TestSize != 3 || info.Augment != (Augment{Pad: 1, Flip: true}) || !info.Norm.IsZero() {
		t.Errorf("Describe: %+v", info)
	}
	if li, err := Lookup(name); err != nil || li.H != FolderDefaultSize || li.Augment.Pad != FolderDefaultSize/8 {
		t.Errorf("Lookup at the default size: %+v, %v", li, err)
	}

	train, err := Load(name, Train, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(train.Labels, []int{0, 1, 2, 0, 2}) || train.Part != Train || train.Name != name+"/train" || !slices.Equal(train.ClassNames, info.ClassNames) {
		t.Errorf("train: labels %v part %s name %s classes %v", train.Labels, train.Part, train.Name, train.ClassNames)
	}
	checkFolderImages(t, train, wantTrain)
	// A training run's sample limit keeps a prefix: it holds every class.
	if l := train.Limit(3); !slices.Equal(l.Labels, []int{0, 1, 2}) {
		t.Errorf("the first 3 training samples have labels %v, want one of each class", l.Labels)
	}
	val, err := Load(name, Test, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(val.Labels, []int{0, 1, 2}) || val.Part != Test {
		t.Errorf("val labels %v part %s", val.Labels, val.Part)
	}
	checkFolderImages(t, val, wantVal)

	// The decoded set does not depend on the number of decoding goroutines.
	old := runtime.GOMAXPROCS(1)
	one, err := Load(name, Train, opts)
	runtime.GOMAXPROCS(old)
	if err != nil || !slices.Equal(one.Images, train.Images) {
		t.Errorf("one goroutine decoded different pixels (%v)", err)
	}
}

func TestFolderLoadSplitsNormalisesWithTrainingStats(t *testing.T) {
	root := t.TempDir()
	writeTinyFolder(t, root)
	name := "folder:" + root
	train, val, err := LoadSplits(name, Options{Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := Load(name, Train, Options{Size: 4})
	rawVal, _ := Load(name, Test, Options{Size: 4})
	// Per channel, the standardised training pixels have mean 0 and std 1.
	plane := 16
	for c := range 3 {
		var sum, sq float64
		for i := range train.Len() {
			for _, v := range train.Image(i)[c*plane : (c+1)*plane] {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
		}
		n := float64(train.Len() * plane)
		if mean, std := sum/n, math.Sqrt(sq/n-sum*sum/n/n); math.Abs(mean) > 1e-5 || math.Abs(std-1) > 1e-4 {
			t.Errorf("channel %d: standardised training mean %g std %g", c, mean, std)
		}
	}
	// The validation split got the training split's Norm.
	if !slices.Equal(val.Norm.Mean, train.Norm.Mean) || !slices.Equal(val.Norm.Std, train.Norm.Std) {
		t.Errorf("val norm %v, train norm %v", val.Norm, train.Norm)
	}
	k := 2*plane + 5 // channel 2 of image 0
	if want := (rawVal.Images[k] - train.Norm.Mean[2]) / train.Norm.Std[2]; math.Abs(float64(val.Images[k]-want)) > 1e-6 {
		t.Errorf("val pixel %g, want %g", val.Images[k], want)
	}
	if err := rawVal.NormalizeDefault(); err == nil || !strings.Contains(err.Error(), "LoadSplits") {
		t.Errorf("NormalizeDefault on a folder's val split: %v", err)
	}
	if err := raw.NormalizeDefault(); err != nil || !slices.Equal(raw.Images, train.Images) {
		t.Errorf("NormalizeDefault on the training split: %v", err)
	}
}

func TestFolderConvertsAndResizes(t *testing.T) {
	root := t.TempDir()
	// A 16x16 image, left half red, right half blue, shrunk to 4x4: the
	// bilinear filter, widened for a 4x reduction, reaches 4 source pixels
	// from each destination centre, so the outer columns stay pure, the
	// inner ones mix mostly their own side's colour, and red + blue is 1.
	halves := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 8 {
				c = color.RGBA{0, 0, 255, 255}
			}
			halves.SetRGBA(x, y, c)
		}
	}
	writeFile(t, filepath.Join(root, "train", "a", "halves.png"), pngOf(t, halves))
	// A grey 2x2 image, enlarged: every channel equal, values inside the
	// grey range.
	grey := image.NewGray(image.Rect(0, 0, 2, 2))
	grey.Pix = []uint8{10, 20, 30, 40}
	writeFile(t, filepath.Join(root, "train", "b", "grey.png"), pngOf(t, grey))
	// A JPEG at the target size: pixels as the standard library decodes it.
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, testImage(3, 4), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "val", "a", "x.jpg"), jb.Bytes())
	writeFile(t, filepath.Join(root, "val", "b", "y.JPEG"), jb.Bytes())

	d, err := Load("folder:"+root, Train, Options{Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	img := d.Image(0)
	for y := range 4 {
		r := img[y*4 : y*4+4]
		b := img[32+y*4 : 32+y*4+4]
		for x := range 4 {
			if img[16+y*4+x] != 0 || math.Abs(float64(r[x]+b[x]-1)) > 1.5/255 {
				t.Fatalf("shrunk halves at (%d, %d): r %g g %g b %g", x, y, r[x], img[16+y*4+x], b[x])
			}
		}
		if r[0] != 1 || b[3] != 1 || !(r[1] > b[1] && b[1] > 0) || !(b[2] > r[2] && r[2] > 0) {
			t.Fatalf("shrunk halves row %d: red %v blue %v", y, r, b)
		}
	}
	g := d.Image(1)
	for k := range 16 {
		if g[k] != g[16+k] || g[k] != g[32+k] || g[k] < 10.0/255-1e-6 || g[k] > 40.0/255+1e-6 {
			t.Fatalf("grey pixel %d: %g %g %g", k, g[k], g[16+k], g[32+k])
		}
	}
	if g[0] >= g[15] {
		t.Errorf("enlarged grey image lost its gradient: top-left %g, bottom-right %g", g[0], g[15])
	}

	v, err := Load("folder:"+root, Test, Options{Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := jpeg.Decode(bytes.NewReader(jb.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for y := range 4 {
		for x := range 4 {
			c := color.RGBAModel.Convert(ref.At(x, y)).(color.RGBA)
			for ch, want := range []uint8{c.R, c.G, c.B} {
				if got := v.Image(0)[ch*16+y*4+x]; got != float32(want)/255 {
					t.Fatalf("JPEG (%d, %d) channel %d = %g, want %g", x, y, ch, got, float32(want)/255)
				}
			}
		}
	}
}

func TestFolderErrors(t *testing.T) {
	expect := func(what string, err error, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v does not mention %q", what, err, w)
			}
		}
	}
	img := pngOf(t, testImage(0, 4))
	fresh := func() string {
		root := t.TempDir()
		for _, s := range []string{"train", "val"} {
			for _, c := range []string{"a", "b"} {
				writeFile(t, filepath.Join(root, s, c, "0.png"), img)
			}
		}
		return root
	}
	load := func(root string) error {
		_, err := Load("folder:"+root, Train, Options{Size: 4})
		return err
	}

	root := fresh()
	os.Remove(filepath.Join(root, "val", "b", "0.png"))
	writeFile(t, filepath.Join(root, "val", "b", "notes.txt"), []byte("x"))
	expect("empty class", load(root), `class "b" has no .png, .jpg or .jpeg files`, filepath.Join(root, "val", "b"))

	root = fresh()
	bad := filepath.Join(root, "train", "a", "broken.png")
	writeFile(t, bad, []byte("not an image at all"))
	expect("undecodable", load(root), bad, "cannot decode")
	writeFile(t, bad, img[:len(img)/2])
	expect("truncated png", load(root), bad)

	root = fresh()
	if err := os.RemoveAll(filepath.Join(root, "val", "a")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "val", "c", "0.png"), img)
	expect("val lacks a class", load(root), filepath.Join(root, "val")+" lacks the classes a ")
	writeFile(t, filepath.Join(root, "val", "a", "0.png"), img)
	expect("val has an extra class", load(root), filepath.Join(root, "train")+" lacks the classes c ")

	root = fresh()
	os.RemoveAll(filepath.Join(root, "val"))
	err := load(root)
	expect("no val", err, "no test split", filepath.Join(root, "val"), filepath.Join(root, "test"))
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("no val: %v is not ErrNotFound", err)
	}
	// A test/ folder stands in for val/.
	for _, c := range []string{"a", "b"} {
		writeFile(t, filepath.Join(root, "test", c, "0.png"), img)
	}
	if err := load(root); err != nil {
		t.Errorf("test/ instead of val/: %v", err)
	}

	root = fresh()
	os.RemoveAll(filepath.Join(root, "train", "b"))
	os.RemoveAll(filepath.Join(root, "val", "b"))
	expect("one class", load(root), "1 class sub-folders")

	expect("no directory", load(""), "no directory")
	_, err = Describe("folder:"+fresh(), Options{Size: -1})
	expect("bad size", err, "image size -1")

	// A huge sparse image file is refused by its size before any read.
	root = fresh()
	huge := filepath.Join(root, "train", "a", "huge.png")
	writeFile(t, huge, img)
	if err := os.Truncate(huge, 1<<40); err != nil {
		t.Skip("no sparse files here:", err)
	}
	expect("huge", load(root), huge, "refused without reading it")
}

// TestFolderLinksAndHiddenEntries: class folders and images may be links
// (a set assembled from another by links is common), and names starting
// with a dot are not images at any depth (macOS's ._ files, thumbnail
// folders).
func TestFolderLinksAndHiddenEntries(t *testing.T) {
	elsewhere := t.TempDir()
	root := t.TempDir()
	link := func(target, name string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, name); err != nil {
			t.Skip("no symbolic links here:", err)
		}
	}
	put := func(p string, n int) { writeFile(t, p, pngOf(t, testImage(n, 4))) }
	for _, s := range []string{"train", "val"} {
		// a: real files; b: a linked class folder; c: linked image files.
		put(filepath.Join(root, s, "a", "0.png"), 0)
		put(filepath.Join(elsewhere, s, "b", "0.png"), 1)
		link(filepath.Join(elsewhere, s, "b"), filepath.Join(root, s, "b"))
		put(filepath.Join(elsewhere, s, "c.png"), 2)
		link(filepath.Join(elsewhere, s, "c.png"), filepath.Join(root, s, "c", "0.png"))
	}
	writeFile(t, filepath.Join(root, "train", "a", "._0.png"), []byte("AppleDouble, not a PNG"))
	put(filepath.Join(root, "train", "a", ".thumbs", "1.png"), 3)
	put(filepath.Join(root, "train", ".hidden-class", "0.png"), 4)

	for split, want := range map[Split][]int{Train: {0, 1, 2}, Test: {0, 1, 2}} {
		d, err := Load("folder:"+root, split, Options{Size: 4})
		if err != nil {
			t.Fatalf("%s: %v", split, err)
		}
		if !slices.Equal(d.ClassNames, []string{"a", "b", "c"}) || !slices.Equal(d.Labels, []int{0, 1, 2}) {
			t.Fatalf("%s: classes %v labels %v, want a, b, c once each", split, d.ClassNames, d.Labels)
		}
		checkFolderImages(t, d, want)
	}

	// A link that leads nowhere is an error naming it, not a class short.
	link(filepath.Join(elsewhere, "gone"), filepath.Join(root, "val", "d"))
	if _, err := Load("folder:"+root, Test, Options{Size: 4}); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "val", "d")) {
		t.Errorf("dangling class link: %v", err)
	}
}

// TestFolderUnformattedTinyImageNet: the validation split as published,
// images in val/images/ and their classes in val_annotations.txt, gets
// the step that fixes it.
func TestFolderUnformattedTinyImageNet(t *testing.T) {
	root := t.TempDir()
	img := pngOf(t, testImage(0, 4))
	for _, c := range []string{"n01", "n02"} {
		writeFile(t, filepath.Join(root, "train", c, "images", c+"_0.png"), img)
	}
	writeFile(t, filepath.Join(root, "val", "images", "val_0.png"), img)
	writeFile(t, filepath.Join(root, "val", "val_annotations.txt"), []byte("val_0.png\tn01\t0\t0\t3\t3\n"))
	_, err := Load("folder:"+root, Test, Options{Size: 4})
	if err == nil || !strings.Contains(err.Error(), "format_tinyimagenet.py") || !strings.Contains(err.Error(), filepath.Join(root, "val")) {
		t.Errorf("unformatted val split: %v", err)
	}
}
