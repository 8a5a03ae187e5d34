package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteFileReplacesAndLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Fatalf("read %q, want %q", got, content)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the target: %v", len(entries), entries)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestWriteFileKeepsTheOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt")
	if err := WriteFile(path, []byte("good")); err != nil {
		t.Fatal(err)
	}
	// A directory in the way of the rename makes the write fail after the
	// temporary file was written; the target directory must stay clean.
	blocked := filepath.Join(dir, "sub")
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(blocked, []byte("new"))
	if err == nil || !strings.Contains(err.Error(), blocked) {
		t.Fatalf("err = %v, want an error naming %s", err, blocked)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
	if got, _ := os.ReadFile(path); string(got) != "good" {
		t.Fatalf("old file changed to %q", got)
	}
}

// TestWriteFileMissingDirectory: a missing folder, and a folder where the
// file should be, are named as such (not through the temporary file).
func TestWriteFileMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such")
	err := WriteFile(filepath.Join(dir, "f"), []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "the folder "+dir+" does not exist: create it first") {
		t.Fatalf("missing folder: %v", err)
	}
	folder := t.TempDir()
	err = WriteFile(folder, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "it is a folder") {
		t.Fatalf("a folder as the file: %v", err)
	}
}

// TestWriteFileRemovesStaleTemporaries checks that a write deletes the
// temporary files a killed writer of the same target left (older than
// staleAfter), and keeps young ones, other targets' and other files, also
// for a name holding glob characters.
func TestWriteFileRemovesStaleTemporaries(t *testing.T) {
	for _, name := range []string{"last.ckpt", "run[1]*.json"} {
		dir := t.TempDir()
		old := time.Now().Add(-staleAfter - time.Minute)
		files := map[string]bool{ // name -> should survive
			"." + name + ".tmp123": false,
			"." + name + ".tmp456": true, // young: maybe another writer's
			".other.ckpt.tmp789":   true,
			"." + name + "-keep":   true,
			"notes.txt":            true,
		}
		for f := range files {
			p := filepath.Join(dir, f)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if f != "."+name+".tmp456" {
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := WriteFile(filepath.Join(dir, name), []byte("new")); err != nil {
			t.Fatal(err)
		}
		for f, keep := range files {
			_, err := os.Stat(filepath.Join(dir, f))
			if exists := err == nil; exists != keep {
				t.Errorf("%s: after writing %s, %s exists = %v, want %v", dir, name, f, exists, keep)
			}
		}
	}
}

// TestWriteFileThroughLinkKeepsMode: a link is written through (the file
// it points to is replaced, the link stays a link) and a replaced file
// keeps its permissions.
func TestWriteFileThroughLinkKeepsMode(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target.csv"), filepath.Join(dir, "link.csv")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("the link's target holds %q, want the new data", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is no longer a link (%v)", err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want the file's 0600 kept", fi.Mode().Perm(), err)
	}
	fresh := filepath.Join(dir, "fresh")
	if err := WriteFile(fresh, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o644 {
		t.Errorf("a new file has mode %v, want 0644", fi.Mode().Perm())
	}
}
