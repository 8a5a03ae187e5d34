package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/search"
)

// TestSearchShardsAndResume: a budget search split into two shards and
// finished with -resume writes the same search.json as the search run in
// one go, searching in the final run only the lambda no shard had; a fresh
// run into a folder holding lambdas is refused; lambdas made with other
// settings are not reused.
func TestSearchShardsAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model and searches it eight times")
	}
	ck := tinyCheckpoint(t)
	base := searchArgs(t, ck)
	budget := func(decades string) []string {
		return append(append([]string(nil), base...), "-budget", "100", "-lambda-decades", decades)
	}
	whole := filepath.Join(t.TempDir(), "whole")
	runOK(t, append(budget("4"), "-out", whole)...)

	sharded := filepath.Join(t.TempDir(), "sharded")
	out0 := runOK(t, append(budget("3"), "-out", sharded, "-shard", "0/2")...)
	if !strings.Contains(out0, "shard 0/2 done: 2 lambdas saved") {
		t.Errorf("shard 0/2 said:\n%s", out0)
	}
	runOK(t, append(budget("3"), "-out", sharded, "-shard", "1/2")...)
	if _, err := os.Stat(filepath.Join(sharded, search.ReportJSON)); err == nil {
		t.Error("a shard wrote the search's report")
	}

	// Without -resume the saved lambdas would be searched again: refused.
	var stdout, stderr bytes.Buffer
	args := append(budget("4"), "-out", sharded)
	if code := run(args, &stdout, &stderr, false); code != 1 || !strings.Contains(stderr.String(), "already holds a search (3 lambdas saved): continue it with -resume") {
		t.Errorf("fresh run into a searched folder: exit %d, %q", code, stderr.String())
	}
	// The last grid lambda (0.005·10³) is the only one left to search.
	finish := strings.ReplaceAll(runOKQuiet(t, append(append(budget("4"), "-resume"), "-out", sharded)), "\r", "")
	if n := strings.Count(finish, "(searched before, reused)"); n != 3 {
		t.Errorf("the final run reused %d lambdas, want 3:\n%s", n, finish)
	}
	a, err := os.ReadFile(filepath.Join(whole, search.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(sharded, search.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("sharded and resumed search wrote another search.json than the whole search:\n%s\n%s", a, b)
	}

	// Another initial sigma is another experiment: its lambdas are not
	// mixed in.
	stderr.Reset()
	other := append(budget("4"), "-sigma-init", "0.2", "-reuse", whole, "-out", filepath.Join(t.TempDir(), "other"))
	if code := run(other, &stdout, &stderr, false); code != 1 || !strings.Contains(stderr.String(), "was searched with another sigma_initial than this search") {
		t.Errorf("reusing lambdas of other settings: exit %d, %q", code, stderr.String())
	}
	// -shard splits the grid of a budget search only.
	stderr.Reset()
	if code := run(append(searchArgs(t, ck), "-shard", "0/2", "-out", filepath.Join(t.TempDir(), "s")), &stdout, &stderr, false); code != 2 || !strings.Contains(stderr.String(), "-shard splits the lambda grid of a budget search: give -budget") {
		t.Errorf("-shard without -budget: exit %d, %q", code, stderr.String())
	}
}

// runOKQuiet is runOK for arguments that carry -quiet: the progress lines
// are what the test reads, so -quiet is dropped.
func runOKQuiet(t *testing.T, args []string) string {
	t.Helper()
	var kept []string
	for _, a := range args {
		if a != "-quiet" {
			kept = append(kept, a)
		}
	}
	return runOK(t, kept...)
}
