package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/goapprox/goapprox/internal/runlock"
)

// lockFolder gives this process the output folder dir for the whole run
// (package runlock): a second run into it is refused while this one
// lives. The folder is created unless the run continues an earlier one;
// then a missing folder is not locked but left to the caller's message
// about what it expected to find there. On a file system without locks the
// run goes on unprotected, saying so on warn: refusing would make such
// cluster file systems unusable.
func lockFolder(dir string, create bool, warn io.Writer) (*runlock.Lock, error) {
	if !create {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return acquire(dir, warn)
	}
	// A command that stops removes the empty parent folders it created
	// (outputFolder), and so can remove a parent while this one creates
	// dir or before it locks it: then dir is created again.
	var err error
	for range 5 {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			var l *runlock.Lock
			if l, err = acquire(dir, warn); !errors.Is(err, fs.ErrNotExist) {
				return l, err
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return nil, runFolderError(err)
}

// acquire locks dir (lockFolder), warning on warn when its file system
// has no locks.
func acquire(dir string, warn io.Writer) (*runlock.Lock, error) {
	l, err := runlock.Acquire(dir)
	if errors.Is(err, runlock.ErrUnsupported) {
		fmt.Fprintf(warn, "warning: %v; nothing stops a second run into %s from mixing its files with this one's\n", err, dir)
		return nil, nil
	}
	return l, err
}

// outputFolder is a command's output folder, locked for its run
// (lockFolder). The folders the claim created are removed again when the
// run leaves nothing in them, so that a command that stops on bad input
// before writing anything leaves no empty folder behind.
type outputFolder struct {
	lock    *runlock.Lock
	created []string // deepest first
}

// claimOutput creates and locks dir for a command's run.
func claimOutput(dir string, warn io.Writer) (*outputFolder, error) {
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	l, err := lockFolder(dir, true, warn)
	if err != nil {
		return nil, err
	}
	return &outputFolder{lock: l, created: created}, nil
}

// Release unlocks the folder and removes the folders the claim created
// that are still empty.
func (o *outputFolder) Release() {
	o.lock.Release()
	for _, d := range o.created {
		if os.Remove(d) != nil { // not empty: the run wrote there
			return
		}
	}
}
