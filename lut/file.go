package lut

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
)

// Format is a table file format, named by its file extension.
type Format string

// The table file formats.
const (
	NPY Format = ".npy" // NumPy array (TorchApprox)
	Bin Format = ".bin" // 65,536 little-endian 16-bit entries (TFApprox, EvoApproxLib)
	CSV Format = ".csv" // 256 lines of 256 comma-separated integers
)

// FormatOf returns the format of a table file from its extension (case does
// not matter), or an error naming the formats that exist.
func FormatOf(path string) (Format, error) {
	switch f := Format(strings.ToLower(filepath.Ext(path))); f {
	case NPY, Bin, CSV:
		return f, nil
	}
	return "", fmt.Errorf("lut: %s: unknown table file extension %q; use .npy, .bin or .csv", path, filepath.Ext(path))
}

// MaxBytes returns the size of the largest file of format f that can hold
// a table: exactly the size of a .bin table, the longest header a reader
// accepts and 65,536 eight-byte elements for .npy, and room for spaces
// around 65,536 int32 fields for .csv.
func (f Format) MaxBytes() int64 {
	switch f {
	case NPY:
		return maxNPYBytes
	case Bin:
		return binSize
	case CSV:
		return maxCSVBytes
	}
	return 0
}

// IsTableFile reports whether path has the extension of a table file format.
func IsTableFile(path string) bool {
	_, err := FormatOf(path)
	return err == nil
}

// Load reads a table from a file whose format is given by its extension,
// with the operand signedness s (the files do not record it). The table is
// named after the file's base name without its extension.
//
// A file larger than its format's MaxBytes is refused from its size before
// any of it is read, and every read goes through a reader bounded by that
// size, so a wrong path to a large file costs neither time nor memory.
func Load(path string, s Signs) (*Table, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	if err := s.valid(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lut: %w", err)
	}
	defer f.Close()
	limit := format.MaxBytes()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("lut: %w", err)
	}
	if fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("lut: %s is %d bytes, more than the %d bytes a %s table can take; "+
			"refusing to read it: is it the right file?", path, fi.Size(), limit, format)
	}
	// The decoders bound their own reads as well; the limit here also
	// covers a file that grows or is not a regular file.
	r := io.LimitReader(f, limit+1)
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var t *Table
	switch format {
	case NPY:
		t, err = ReadNPY(r, name, s)
	case Bin:
		t, err = ReadBin(r, name, s)
	case CSV:
		t, err = ReadCSV(r, name, s)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// WriteFile writes t to path in the format of its extension. The file is
// written atomically: to a temporary file in the same directory, synced, and
// renamed over path, so a reader never sees half a table.
func WriteFile(path string, t *Table) error {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	switch format {
	case NPY:
		err = WriteNPY(&b, t)
	case Bin:
		err = WriteBin(&b, t)
	case CSV:
		err = WriteCSV(&b, t)
	}
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b.Bytes())
}
