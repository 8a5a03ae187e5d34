package runlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// FileName is the lock file Acquire keeps in a locked folder.
const FileName = ".lock"

// Holder is the process that holds a folder's lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

func (h Holder) String() string {
	return fmt.Sprintf("process %d on %s (started %s)", h.PID, h.Host, h.Started.Format(time.RFC3339))
}

// HeldError is Acquire's refusal: another process holds the folder.
type HeldError struct {
	Dir string
	// Holder is nil when the lock file did not say who holds it (the
	// holder had only just taken the lock, or the file was damaged).
	Holder *Holder
}

func (e *HeldError) Error() string {
	who := "another process (which has not recorded itself in " + FileName + " yet)"
	if e.Holder != nil {
		who = e.Holder.String()
	}
	return fmt.Sprintf("%s is in use by %s: two runs in one folder would mix their files; "+
		"wait for that run to end (or stop it), or choose another folder", e.Dir, who)
}

// ErrUnsupported is wrapped by Acquire's error when the folder's file
// system has no locks (some cluster file systems mounted without them): the
// caller decides whether to go on without the protection.
var ErrUnsupported = errors.New("the file system does not support locks")

// Lock is a held folder lock.
type Lock struct {
	f    *os.File
	path string
}

// Acquire locks dir, which must exist, for the calling process, or returns
// a *HeldError when another process (or another Acquire of this process)
// holds it. The lock lasts until Release or the end of the process.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			if noLocks(err) {
				os.Remove(path)
				return nil, fmt.Errorf("locking %s: %w (%w)", path, ErrUnsupported, err)
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !held {
			f.Close()
			return nil, &HeldError{Dir: dir, Holder: readHolder(path)}
		}
		// A holder that released between our open and our lock removed the
		// file we opened: our lock is then on a file nobody else will see,
		// so lock the one now at path instead.
		if fi, err := f.Stat(); err == nil {
			if cur, err := os.Stat(path); err == nil && os.SameFile(fi, cur) {
				l := &Lock{f: f, path: path}
				if err := l.record(); err != nil {
					l.Release()
					return nil, fmt.Errorf("locking %s: %w", dir, err)
				}
				return l, nil
			}
		}
		f.Close()
	}
}

// record writes the calling process into the lock file.
func (l *Lock) record() error {
	host, err := os.Hostname()
	if err != nil {
		host = "an unknown host"
	}
	b, err := json.Marshal(Holder{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err = l.f.WriteAt(append(b, '\n'), 0)
	return err
}

// readHolder reads who holds a lock. A holder writes itself right after
// taking the lock, so an empty file gets a few more looks.
func readHolder(path string) *Holder {
	for try := 0; try < 20; try++ {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var h Holder
		if len(b) > 0 && json.Unmarshal(b, &h) == nil && h.PID > 0 {
			return &h
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// Release removes the lock file and drops the lock. Removing first, while
// still holding the lock, is what lets Acquire detect a file that was
// removed under it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	errRemove := os.Remove(l.path)
	if errors.Is(errRemove, os.ErrNotExist) {
		errRemove = nil
	}
	errClose := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return errors.Join(errRemove, errClose)
}
