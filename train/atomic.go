package train

import "github.com/goapprox/goapprox/internal/atomicfile"

// WriteFileAtomic writes data to path through a temporary file in the same
// directory that is synced and then renamed over path, so that a reader (or
// a run resumed after a crash) sees the old file or the new one, never half
// of one. It is the project's one atomic writer (internal/atomicfile),
// offered here to the tools built on this package.
func WriteFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data)
}
