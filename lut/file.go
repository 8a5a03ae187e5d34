package lut

import (
	"bytes"
	"fmt"
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

// IsTableFile reports whether path has the extension of a table file format.
func IsTableFile(path string) bool {
	_, err := FormatOf(path)
	return err == nil
}

// ReadFile reads a table from a file whose format is given by its extension.
// The table is named after the file's base name without its extension. The
// files record no operand signedness, so the caller says how to read them.
func ReadFile(path string, signedX, signedW bool) (*Table, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lut: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var t *Table
	r := bytes.NewReader(data)
	switch format {
	case NPY:
		t, err = ReadNPY(r, name, signedX, signedW)
	case Bin:
		t, err = ReadBin(r, name, signedX, signedW)
	case CSV:
		t, err = ReadCSV(r, name, signedX, signedW)
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
