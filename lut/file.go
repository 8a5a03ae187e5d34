package lut

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	return writeFileAtomic(path, b.Bytes())
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("lut: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("lut: writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("lut: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("lut: writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("lut: writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("lut: %w", err)
	}
	// Sync the directory so the rename itself survives a crash.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
