package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/goapprox/goapprox/internal/runlock"
)

// lockFolder gives this process the output folder dir for the whole run
// (package runlock): a second run into it is refused while this one
// lives. The folder is created unless the run continues an earlier one;
// then a missing folder is not locked but left to the caller's message
// about what it expected to find there.
func lockFolder(dir string, create bool) (*runlock.Lock, error) {
	if create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create the run folder: %w; choose another -out", err)
		}
	} else if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return runlock.Acquire(dir)
}
