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

// ReadJSON decodes a file within the limit, names the file and its kind when
// it holds another kind (an unknown field) or no JSON, and passes the
// reading errors on as ReadFile gives them.
func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	type doc struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	var d doc
	if err := ReadJSON(write("ok.json", `{"a": 3, "b": "x"}`), 1<<10, "a test document", &d); err != nil || d != (doc{3, "x"}) {
		t.Fatalf("ReadJSON: %+v, %v", d, err)
	}
	other := write("other.json", `{"a": 3, "c": true}`)
	if err := ReadJSON(other, 1<<10, "a test document", &d); err == nil || !strings.Contains(err.Error(), other+` is not a test document: json: unknown field "c"`) {
		t.Errorf("another kind of file: %v", err)
	}
	if err := ReadJSON(write("bad.json", `{"a": `), 1<<10, "a test document", &d); err == nil || !strings.Contains(err.Error(), "is not a test document: unexpected EOF") {
		t.Errorf("a truncated file: %v", err)
	}
	if err := ReadJSON(write("big.json", `{"a": 12345}`), 4, "a test document", &d); err == nil || !strings.Contains(err.Error(), "larger than a test document can be") {
		t.Errorf("over the limit: %v", err)
	}
	if err := ReadJSON(filepath.Join(dir, "missing"), 1, "a test document", &d); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
}
