package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sparse writes a file of the given size holding no data blocks: reading
// it would take minutes and the memory of its size, so a loader that
// returns at once with the size refusal has not read it.
func sparse(t *testing.T, path string, size int64) {
	t.Helper()
	writeFile(t, path, nil)
	if err := os.Truncate(path, size); err != nil {
		t.Skip("no sparse files here:", err)
	}
}

func TestHugeFilesRefusedBySize(t *testing.T) {
	const huge = 1 << 40
	dir := t.TempDir()
	cases := []struct {
		name, file string
		split      Split
	}{
		{"mnist", "mnist/t10k-images-idx3-ubyte", Test},
		{"fashion-mnist", "fashion-mnist/train-images-idx3-ubyte.gz", Train},
		{"digits", "digits/digits.csv.gz", Train},
		{"cifar10", "cifar10/cifar-10-batches-bin/test_batch.bin", Test},
		{"cifar100", "cifar-100-binary/train.bin", Train},
	}
	var lbl1 bytes.Buffer
	if err := WriteIDX(&lbl1, []int{1}, []byte{3}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.file)
		if strings.Contains(c.file, "-images-") {
			prefix := strings.Split(filepath.Base(c.file), "-")[0]
			writeFile(t, filepath.Join(filepath.Dir(p), prefix+"-labels-idx1-ubyte"), lbl1.Bytes())
		}
		sparse(t, p, huge)
		_, err := Load(c.name, c.split, Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "1099511627776 bytes is larger than") ||
			!strings.Contains(err.Error(), "refused without reading it") {
			t.Errorf("%s: %v", c.name, err)
		}
		os.Remove(p)
	}

	// The labels file of an idx pair is bounded the same way.
	var img bytes.Buffer
	if err := WriteIDX(&img, []int{1, 28, 28}, make([]byte, 784)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "mnist", "train-images-idx3-ubyte"), img.Bytes())
	os.Remove(filepath.Join(dir, "mnist", "train-labels-idx1-ubyte"))
	lbl := filepath.Join(dir, "mnist", "train-labels-idx1-ubyte")
	sparse(t, lbl, huge)
	if _, err := Load("mnist", Train, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), lbl) || !strings.Contains(err.Error(), "refused without reading it") {
		t.Errorf("huge labels file: %v", err)
	}
}

func TestDigitsGzipExpansionBounded(t *testing.T) {
	// A small archive that expands past any digits file is cut off at the
	// bound and refused, without holding the whole expansion.
	row := strings.Repeat("0,", 64) + "3\n"
	body := []byte(strings.Repeat(row, maxDigitsFileBytes/len(row)+100))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "digits.csv.gz"), gz(t, body))
	if _, err := Load("digits", Train, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "decompresses to more than 16777216 bytes") {
		t.Errorf("oversized digits: %v", err)
	}
}
