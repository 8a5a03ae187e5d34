package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFile atomically replaces path with data. A new file gets mode
// 0644, a replaced one keeps its mode; a symbolic link is written through,
// replacing the file it points to.
func WriteFile(path string, data []byte) (err error) {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("writing %s: it is a folder: give the name of a file", path)
		}
		mode = fi.Mode().Perm()
		if target, err := filepath.EvalSymlinks(path); err == nil {
			path = target
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing %s: the folder %s does not exist: create it first", path, dir)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Make the rename itself durable. A directory that cannot be opened or
	// synced (some file systems refuse) leaves the file complete anyway.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	removeStaleTemporaries(dir, filepath.Base(path), time.Now())
	return nil
}

// staleAfter is the age from which a temporary file of a target is taken
// as left behind by a writer that was killed: a write takes seconds, and a
// concurrent writer of the same target (which callers do not have) would
// still be far younger.
const staleAfter = 10 * time.Minute

// removeStaleTemporaries deletes the temporary files of target that a
// killed writer left in dir (never read, only clutter), once they are
// staleAfter old. Failures are ignored: the new file is written already.
func removeStaleTemporaries(dir, target string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + target + ".tmp"
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) >= staleAfter {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
