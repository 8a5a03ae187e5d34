package dataset

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Every file a user points the loaders at is sized by Stat and refused
// before a byte is read when it is larger than its format can be, then read
// through an io.LimitReader, so a wrong path (a disk image, a sparse file)
// costs neither the time nor the memory to read it.
const (
	// maxIDXFileBytes bounds an idx file on disk (compressed or not) and
	// the data its header may declare. MNIST's largest file is 47 MB.
	maxIDXFileBytes = 1 << 30
	// maxDigitsFileBytes bounds digits.csv(.gz) on disk and decompressed;
	// the real file is 57 KB compressed and 0.3 MB plain.
	maxDigitsFileBytes = 16 << 20
	// maxCIFARFileBytes bounds one CIFAR binary file; CIFAR-100's train.bin,
	// the largest, is 154 MB.
	maxCIFARFileBytes = 1 << 30
	// maxLabelFileBytes bounds a class-name file (batches.meta.txt).
	maxLabelFileBytes = 1 << 20
	// maxImageFileBytes bounds one PNG or JPEG of an image folder.
	maxImageFileBytes = 64 << 20
)

// openBounded opens a regular file and returns it with its size, refusing
// it (and closing it) when it is larger than limit bytes.
func openBounded(path string, limit int64, what string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file (%v); expected %s", path, st.Mode().Type(), what)
	}
	if st.Size() > limit {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %d bytes is larger than %s can be (at most %d bytes): wrong file? refused without reading it",
			path, st.Size(), what, limit)
	}
	return f, st.Size(), nil
}

// readBounded reads a whole regular file of at most limit bytes.
func readBounded(path string, limit int64, what string) ([]byte, error) {
	f, size, err := openBounded(path, limit, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	buf.Grow(int(size) + 1)
	// One byte past the limit shows a file that grew after Stat.
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%s: grew past %d bytes while being read; expected %s", path, limit, what)
	}
	return buf.Bytes(), nil
}
