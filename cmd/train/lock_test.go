package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Commands that claim sibling folders under a parent none of them found
// (shards of one sweep, say) race: one that stops and removes the parent
// it created must not make another's claim fail. Each worker here claims
// its own folders under a fresh parent and releases them at once, which
// removes the parent whenever it is empty.
func TestClaimOutputSiblingsRace(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "out")
	const workers, rounds = 4, 3000
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				o, err := claimOutput(filepath.Join(parent, fmt.Sprintf("shard-%d-%d", w, r)), io.Discard)
				if err != nil {
					errs <- fmt.Errorf("round %d: %w", r, err)
					return
				}
				o.Release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := os.Stat(parent); err == nil {
		entries, _ := os.ReadDir(parent)
		if len(entries) > 0 {
			t.Errorf("%s keeps %d entries after every claim was released", parent, len(entries))
		}
	}
}
