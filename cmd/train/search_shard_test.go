package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
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
	base := slices.DeleteFunc(searchArgs(t, ck), func(a string) bool { return a == "-lambda" || a == "0.5" }) // the budget picks lambda
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

	// train compare reads the search's every lambda as points of the
	// search method.
	cmp := filepath.Join(t.TempDir(), "cmp")
	cmpOut := runOK(t, "compare", "-out", cmp, "-budgets", "100", whole)
	if !strings.Contains(cmpOut, "| 100 points (≥ ") || !strings.Contains(cmpOut, "| search | λ ") {
		t.Errorf("compare of the search:\n%s", cmpOut)
	}
	csv, err := os.ReadFile(filepath.Join(cmp, "compare.csv"))
	if err != nil || strings.Count(string(csv), "\nsearch,λ ") != 4 {
		t.Errorf("compare.csv (%v) should hold the 4 lambdas searched:\n%s", err, csv)
	}
	for line := range strings.Lines(string(csv)) {
		if f := strings.Split(line, ","); f[0] == "search" && (len(f) < 5 || f[4] == "") {
			t.Errorf("compare.csv has no accuracy before retraining for %q", line)
		}
	}
	// Run again into its own folder (after adding a run, say); never into
	// one of its inputs.
	runOK(t, "compare", "-out", cmp, "-budgets", "100", whole)
	var cout, cerr bytes.Buffer
	if code := run([]string{"compare", "-out", whole, "-budgets", "100", whole}, &cout, &cerr, false); code != 1 || !strings.Contains(cerr.String(), "already holds other results") {
		t.Errorf("compare into its input: exit %d, %q", code, cerr.String())
	}

	// Another initial sigma is another experiment: its lambdas are not
	// mixed in.
	stderr.Reset()
	other := append(budget("4"), "-sigma-init", "0.2", "-reuse", whole, "-out", filepath.Join(t.TempDir(), "other"))
	if code := run(other, &stdout, &stderr, false); code != 1 || !strings.Contains(stderr.String(), "was searched with -sigma-init 0.1, this search with 0.2") {
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

func TestCompareFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "-out", t.TempDir()}, "usage: train compare -out DIR RUN_DIR..."},
		{[]string{"compare", "-out", t.TempDir(), "-budgets", "0.5,x", "a"}, `-budgets "0.5,x": "x" is not a number of points`},
		{[]string{"compare", "-out", t.TempDir(), "-budgets", "-1", "a"}, "budget -1 points must be a number from 0 to 100"},
		{[]string{"compare", "-out", t.TempDir(), "-floor", "0", "a"}, "-floor 0 must be in (0, 100] points"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr, false); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"compare", "-out", t.TempDir(), t.TempDir()}, &stdout, &stderr, false); code != 1 || !strings.Contains(stderr.String(), "holds none of sweep.json") {
		t.Errorf("a folder of no run: exit %d, %q", code, stderr.String())
	}
}
