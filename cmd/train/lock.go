package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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
	if create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, runFolderError(err)
		}
	} else if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	l, err := runlock.Acquire(dir)
	if errors.Is(err, runlock.ErrUnsupported) {
		fmt.Fprintf(warn, "warning: %v; nothing stops a second run into %s from mixing its files with this one's\n", err, dir)
		return nil, nil
	}
	return l, err
}
