package boundedfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p, 5, "a test file"); err != nil || string(b) != "12345" {
		t.Fatalf("ReadFile at the limit: %q, %v", b, err)
	}
	if _, err := ReadFile(p, 4, "a test file"); err == nil || !strings.Contains(err.Error(), "5 bytes is larger than a test file can be (at most 4 bytes)") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadFile(dir, 1<<20, "a test file"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 1, "a test file"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestHugeSparseFileRefusedUnread: a 1 TiB sparse file is refused from its
// size; reading it would take minutes and all the memory.
func TestHugeSparseFileRefusedUnread(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		f.Close()
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	f.Close()
	if _, err := ReadFile(p, 1<<20, "a test file"); err == nil || !strings.Contains(err.Error(), "1099511627776 bytes is larger than a test file can be") {
		t.Errorf("sparse file: %v", err)
	}
}

func TestDeviceRefused(t *testing.T) {
	if _, err := ReadFile("/dev/zero", 1<<16, "a test file"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
}
