package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/train"
)

// digitsArgs is a run that builds fast (MLP, 8x8 digits), for errors that
// need the model built or a run folder.
var digitsArgs = []string{"-model", "mlp", "-dataset", "digits", "-limit", "64", "-batch", "32",
	"-qat-epochs", "1", "-approx-epochs", "0", "-lut", "none", "-quiet"}

// TestUserErrors pins what the command says to bad input a user can give
// (docs/errors.md lists it): exit code 1 or 2 and a message naming the
// problem and what to do.
func TestUserErrors(t *testing.T) {
	needDigits(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(tmp, "short.bin")
	if err := os.WriteFile(short, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	csvBad := filepath.Join(tmp, "bad.csv")
	if err := os.WriteFile(csvBad, []byte("1,2,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	txt := filepath.Join(tmp, "table.txt")
	if err := os.WriteFile(txt, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A finished run whose last checkpoint is then damaged.
	run := filepath.Join(tmp, "run")
	if code, _, stderr := trainCmd(append(digitsArgs, "-out", run)...); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	last := filepath.Join(run, "checkpoints", train.LastCheckpoint)
	good, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	damage := func(data []byte) func() {
		return func() {
			if err := os.WriteFile(last, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x20

	cases := []struct {
		name  string
		setup func()
		args  []string
		code  int
		want  []string
	}{
		{"unwritable run folder", nil, append(digitsArgs, "-out", filepath.Join(file, "sub")), 1,
			[]string{"run folder", "not a directory", "choose another -out"}},
		{"missing data set", nil, append(digitsArgs, "-data", filepath.Join(tmp, "nowhere"), "-out", filepath.Join(tmp, "r1")), 1,
			[]string{"not found", "nowhere"}},
		{"truncated table file", nil, append(digitsArgs, "-lut", short, "-out", filepath.Join(tmp, "r2")), 1,
			[]string{"short.bin", "131072 bytes"}},
		{"malformed CSV table", nil, append(digitsArgs, "-lut", csvBad, "-out", filepath.Join(tmp, "r3")), 1,
			[]string{"bad.csv"}},
		{"unknown table format", nil, append(digitsArgs, "-lut", txt, "-out", filepath.Join(tmp, "r4")), 1,
			[]string{"table.txt", ".npy"}},
		{"truncated checkpoint on -resume", damage(good[:len(good)/3]), []string{"-out", run, "-resume"}, 1,
			[]string{"-resume", "truncated", "another -out"}},
		{"corrupt checkpoint on -resume", damage(flipped), []string{"-out", run, "-resume"}, 1,
			[]string{"-resume", "corrupt"}},
		{"an approxlayer checkpoint given as a training checkpoint", func() {
			// the first line of another kind of file
			damage([]byte("goapprox-checkpoint 1\nsha256 00\n{}\n"))()
		}, []string{"-out", run, "-resume"}, 1,
			[]string{"not a training checkpoint"}},
		{"-resume with a flag that changes the run", damage(good), []string{"-out", run, "-resume", "-seed", "9"}, 1,
			[]string{"drop -seed"}},
		{"-resume of a folder without a run", nil, []string{"-out", filepath.Join(tmp, "empty"), "-resume"}, 1,
			[]string{"holds no run", "without -resume"}},
		{"run into a folder holding a run", damage(good), append(digitsArgs, "-out", run), 1,
			[]string{"already holds a run", "-resume"}},
	}
	for _, c := range cases {
		if c.setup != nil {
			c.setup()
		}
		code, _, stderr := trainCmd(c.args...)
		ok := code == c.code
		for _, w := range c.want {
			ok = ok && strings.Contains(stderr, w)
		}
		if !ok {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, code, stderr, c.code, c.want)
			continue
		}
		t.Logf("%s: exit %d: %s", c.name, code, strings.TrimSpace(stderr))
	}
}

func needDigits(t *testing.T) {
	t.Helper()
	if _, err := dataset.Load("digits", dataset.Test, dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skip(err)
	}
}
