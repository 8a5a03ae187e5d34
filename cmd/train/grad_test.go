package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goapprox/goapprox/sweep"
)

func TestGradFlag(t *testing.T) {
	for in, want := range map[string]string{"ste": "", "table": "table:window=32", "table:window=0": "table:window=0", "table:window=16": "table:window=16"} {
		o, err := parseFlags([]string{"-grad", in}, os.Stderr, time.Time{})
		if err != nil || o.cfg.Gradient != want {
			t.Errorf("-grad %s: config gradient %q, %v; want %q", in, o.cfg.Gradient, err, want)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-grad", "table:window=200"}, "-grad: ops: table gradient: lut: gradient window 200"},
		{[]string{"-grad", "table:window=-1"}, "-1"},
		{[]string{"-grad", "smooth"}, "unknown gradient"},
		{[]string{"-lut", "none", "-grad", "table"}, "approximate phase only"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-grad", "table:window=128"}, "-grad"},
		{[]string{"sweep", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-grad", "table"}, "give -retrain-epochs"},
		{[]string{"assign", "-checkpoint", "x.ckpt", "-lut", "mitchell", "-out", dir, "-grad", "table"}, "give -retrain-epochs"},
	} {
		code, _, stderr := trainCmd(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train %v: exit %d, stderr %q; want an error containing %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestSweepRecordsGradient retrains with table gradients in a sweep: the
// result records the gradient, and a resumed sweep refuses another.
func TestSweepRecordsGradient(t *testing.T) {
	ck := tinyCheckpoint(t)
	out := filepath.Join(t.TempDir(), "sweep")
	args := []string{"sweep", "-checkpoint", ck, "-threads", "2", "-retrain-epochs", "1", "-quiet",
		"-lut", "trunc:t=8,signed=true", "-out", out}
	if code, _, stderr := trainCmd(append(args, "-grad", "table:window=2")...); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	r, err := sweep.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Gradient != "table:window=2" || len(r.Rows) != 1 {
		t.Fatalf("sweep result: gradient %q, %d rows", r.Gradient, len(r.Rows))
	}
	code, _, stderr := trainCmd(append(args, "-resume", "-grad", "table:window=3")...)
	if code == 0 || !strings.Contains(stderr, "-grad") {
		t.Fatalf("resume with another gradient: exit %d, %s", code, stderr)
	}
}
