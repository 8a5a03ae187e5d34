//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/internal/runlock"
	"github.com/goapprox/goapprox/sweep"
)

// childModeEnv makes the test binary, started again by a test, act as a
// child process instead of running the tests:
//
//	train            run the command with the arguments;
//	hold-lock        lock the folders given as arguments, print "locked",
//	                 hold them until stdin closes;
//	sweep-kill-after:N  run "train sweep" with the arguments and SIGKILL
//	                 itself once N rows are saved.
const childModeEnv = "GOAPPROX_TRAIN_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(runChild(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func runChild(mode string, args []string) int {
	switch {
	case mode == "train":
		return run(args, os.Stdout, os.Stderr, false)
	case mode == "hold-lock":
		for _, dir := range args {
			if _, err := runlock.Acquire(dir); err != nil {
				fmt.Println("error:", err)
				return 3
			}
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		return 0
	case strings.HasPrefix(mode, "sweep-kill-after:"):
		n, err := strconv.Atoi(strings.TrimPrefix(mode, "sweep-kill-after:"))
		if err != nil {
			return 3
		}
		return sweepCommand(args, os.Stdout, os.Stderr, func(rows int) {
			if rows == n {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		})
	}
	fmt.Println("unknown helper mode", mode)
	return 3
}

// holdLocks starts a child process that holds the locks of dirs.
func holdLocks(t *testing.T, dirs ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], dirs...)
	cmd.Env = append(os.Environ(), childModeEnv+"=hold-lock")
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("the child process did not take the locks: %q", line)
	}
	return cmd
}

// TestLockedFolderRefusesSecondRun: while another process works in an
// output folder, every command that writes there is refused with the
// folder and the process named, before it reads anything; once that
// process is killed its lock no longer blocks.
func TestLockedFolderRefusesSecondRun(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	shards := filepath.Join(dir, "sweep")
	shard1 := filepath.Join(shards, "shard-001-of-002")
	for _, d := range []string{run, shard1} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	costs := filepath.Join(dir, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\nexact:signed=true,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two finished shards of a sweep to merge.
	var parts []string
	for i := 0; i < 2; i++ {
		p := filepath.Join(dir, fmt.Sprintf("part%d", i))
		s := sweep.Shard{Index: i, Count: 2}
		r := sweep.Result{CheckpointSHA256: "c", LUTs: []string{"a", "b"}, Shard: &s,
			Rows: []sweep.Row{{Index: i, LUT: []string{"a", "b"}[i], Name: "n"}}}
		if err := sweep.Write(p, r); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}

	holder := holdLocks(t, run, shard1)
	byWhom := fmt.Sprintf("is in use by process %d on ", holder.Process.Pid)
	model := []string{"-checkpoint", filepath.Join(dir, "x.ckpt"), "-lut", "exact:signed=true"}
	for _, tc := range []struct {
		name   string
		args   []string
		folder string
	}{
		{"train", []string{"-model", "mlp", "-dataset", "digits", "-quiet", "-out", run}, run},
		{"train -resume", []string{"-model", "mlp", "-dataset", "digits", "-quiet", "-resume", "-out", run}, run},
		{"sweep", append([]string{"sweep", "-out", run}, model...), run},
		{"sweep shard", append([]string{"sweep", "-shard", "1/2", "-out", shards}, model...), shard1},
		{"sweep shard -resume", append([]string{"sweep", "-shard", "1/2", "-resume", "-out", shards}, model...), shard1},
		{"sensitivity", append([]string{"sensitivity", "-out", run}, model...), run},
		{"assign", append([]string{"assign", "-costs", costs, "-out", run}, model...), run},
		{"merge", append([]string{"merge", "-out", run}, parts...), run},
	} {
		code, _, stderr := trainCmd(tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.folder+" "+byWhom) {
			t.Errorf("%s into a locked folder: exit %d, stderr %q; want a refusal naming %s and process %d",
				tc.name, code, stderr, tc.folder, holder.Process.Pid)
		}
		if tc.name == "train" {
			t.Log(stderr)
		}
	}
	// A sweep's other shard has its own folder: not locked.
	if code, _, stderr := trainCmd(append([]string{"sweep", "-shard", "0/2", "-out", shards}, model...)...); strings.Contains(stderr, byWhom) {
		t.Errorf("shard 0 refused by the lock of shard 1: exit %d, %s", code, stderr)
	}

	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	holder.Wait()
	if _, err := os.Stat(filepath.Join(run, runlock.FileName)); err != nil {
		t.Fatalf("the killed process's lock file should remain: %v", err)
	}
	if code, _, stderr := trainCmd(append([]string{"merge", "-out", run}, parts...)...); code != 0 {
		t.Fatalf("merge after the holder was killed: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(run, runlock.FileName)); err == nil {
		t.Error("the lock file remains after a run that ended cleanly")
	}
}

// TestTwoTrainingsIntoOneFolder starts two trainings with the same -out as
// two processes: the second is refused with the first one named, and the
// first runs to its end undisturbed. The first is stopped (SIGSTOP) while
// the second tries, so that it surely still holds the folder.
func TestTwoTrainingsIntoOneFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	if _, err := dataset.Load("digits", dataset.Test, dataset.Options{}); errors.Is(err, dataset.ErrNotFound) {
		t.Skip(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	start := func() (*exec.Cmd, *bytes.Buffer) {
		var b bytes.Buffer
		cmd := exec.Command(os.Args[0], append(append([]string(nil), killArgs...), "-out", out)...)
		cmd.Env = append(os.Environ(), childModeEnv+"=train")
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &b
	}
	first, firstOut := start()
	t.Cleanup(func() { first.Process.Kill() }) // never leave it stopped
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	for runlockHolder(out) != first.Process.Pid {
		select {
		case <-done:
			t.Fatalf("the first training ended before it was seen holding %s:\n%s", out, firstOut)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	if err := first.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	second, secondOut := start()
	err := second.Wait()
	first.Process.Signal(syscall.SIGCONT)
	want := fmt.Sprintf("train: %s is in use by process %d on ", out, first.Process.Pid)
	if second.ProcessState.ExitCode() != 1 || !strings.Contains(secondOut.String(), want) {
		t.Errorf("second training: %v\n%s\nwant exit 1 and %q", err, secondOut, want)
	}
	if err := <-done; err != nil {
		t.Fatalf("first training: %v\n%s", err, firstOut)
	}
	if rep := readReport(t, out); rep["accuracy"] == nil {
		t.Errorf("the first training wrote no accuracies: %v", rep)
	}
}

// runlockHolder is the PID a folder's lock file names (0: none yet).
func runlockHolder(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, runlock.FileName))
	var h runlock.Holder
	if json.Unmarshal(b, &h) != nil {
		return 0
	}
	return h.PID
}

// TestKilledSweepShardResumes kills a sweep shard (a real child process,
// SIGKILL once its first row is saved), checks what -resume refuses, resumes
// it and compares with an uninterrupted run of the shard: the same rows, and
// the row measured before the kill is kept, not measured again.
func TestKilledSweepShardResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model and sweeps it twice")
	}
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	costs := filepath.Join(dir, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\n\"trunc:t=8,signed=true\",0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	luts := []string{"-lut", "exact:signed=true", "-lut", "trunc:t=8,signed=true", "-lut", "mitchell:signed=true",
		"-lut", "trunc:t=4,signed=true", "-lut", "drum:k=4,signed=true"}
	args := func(out string, extra ...string) []string {
		a := append([]string{"-checkpoint", ck, "-threads", "2", "-retrain-epochs", "1", "-costs", costs, "-quiet",
			"-shard", "0/2", "-out", out}, luts...)
		return append(a, extra...)
	}
	killed := filepath.Join(dir, "killed")
	shard := filepath.Join(killed, "shard-000-of-002") // positions 0, 2, 4

	cmd := exec.Command(os.Args[0], args(killed)...)
	cmd.Env = append(os.Environ(), childModeEnv+"=sweep-kill-after:1")
	out, _ := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the shard was not killed: %v\n%s", cmd.ProcessState, out)
	}
	before, err := sweep.ReadResult(shard)
	if err != nil || len(before.Rows) != 1 || before.Rows[0].Index != 0 {
		t.Fatalf("after the kill the shard holds %+v (%v), want its first row", before.Rows, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{args(killed), "already holds a sweep (1 of 3 multipliers measured): continue it with -resume"},
		{args(killed, "-resume", "-retrain-epochs", "2"), "-retrain-epochs: 2 now, 1 in the earlier run"},
		{args(killed, "-resume", "-lut", "roba:signed=true"), "the multiplier list (-lut, -luts): 6 entries now, 5 in the earlier run"},
		{args(killed, "-resume", "-costs", ""), "-costs: the costs differ"},
	} {
		code, _, stderr := trainCmd(append([]string{"sweep"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train sweep %v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}

	// The sweep of an older version (no record) cannot be checked.
	old := filepath.Join(dir, "old", "shard-000-of-002")
	if err := sweep.Write(old, before); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := trainCmd(append([]string{"sweep"}, args(filepath.Join(dir, "old"), "-resume")...)...); code != 1 ||
		!strings.Contains(stderr, "holds a sweep without the record of its settings") {
		t.Errorf("-resume of a sweep without a record: exit %d, %s", code, stderr)
	}

	code, stdout, stderr := trainCmd(append([]string{"sweep"}, args(killed, "-resume")...)...)
	if code != 0 {
		t.Fatalf("-resume: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "1 of its 3 multipliers were measured before") {
		t.Errorf("-resume output does not say what was kept:\n%s", stdout)
	}
	// -resume where nothing was started starts the sweep: a scheduler can
	// repeat one command until it is done.
	whole := filepath.Join(dir, "uninterrupted")
	code, stdout, stderr = trainCmd(append([]string{"sweep"}, args(whole, "-resume")...)...)
	if code != 0 || !strings.Contains(stdout, "holds no sweep yet: starting it") {
		t.Fatalf("uninterrupted shard (-resume into an empty folder): exit %d\n%s\n%s", code, stdout, stderr)
	}

	resumed, err := sweep.ReadResult(shard)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Rows[0].Seconds != before.Rows[0].Seconds {
		t.Errorf("the row saved before the kill was measured again (%v s, before %v s)", resumed.Rows[0].Seconds, before.Rows[0].Seconds)
	}
	r, rcsv := readSweep(t, shard)
	w, wcsv := readSweep(t, filepath.Join(whole, "shard-000-of-002"))
	if !reflect.DeepEqual(r, w) || rcsv != wcsv {
		t.Fatalf("resumed shard differs from the uninterrupted one:\n%+v\n%+v\n%s\n%s", r, w, rcsv, wcsv)
	}
	if len(r.Rows) != 3 || r.Rows[2].LUT != "drum:k=4,signed=true" || r.Rows[1].AccuracyAfter == nil {
		t.Errorf("rows: %+v", r.Rows)
	}
}
