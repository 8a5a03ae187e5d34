//go:build unix

package runlock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary, run again as a child process, hold the
// lock of the folder it names instead of running the tests.
const helperEnv = "RUNLOCK_TEST_HOLD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(holdLock(dir))
	}
	os.Exit(m.Run())
}

// holdLock is the child process: it locks dir, says so on stdout and holds
// the lock until its stdin closes (or it is killed).
func holdLock(dir string) int {
	l, err := Acquire(dir)
	if err != nil {
		fmt.Println("error:", err)
		return 3
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if err := l.Release(); err != nil {
		fmt.Println("error:", err)
		return 3
	}
	return 0
}

// startHolder starts a child process holding dir's lock and returns once
// it holds it; closing stdin ends it.
func startHolder(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
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
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("the holder process did not take the lock: %q", line)
	}
	return cmd, stdin
}

func TestSecondProcessRefused(t *testing.T) {
	dir := t.TempDir()
	cmd, stdin := startHolder(t, dir)

	l, err := Acquire(dir)
	var held *HeldError
	if !errors.As(err, &held) {
		l.Release()
		t.Fatalf("Acquire while another process holds the folder: %v, want a *HeldError", err)
	}
	host, _ := os.Hostname()
	if held.Dir != dir || held.Holder == nil || held.Holder.PID != cmd.Process.Pid || held.Holder.Host != host {
		t.Fatalf("refusal %+v (holder %+v), want folder %s held by process %d on %s", held, held.Holder, dir, cmd.Process.Pid, host)
	}
	msg := err.Error()
	for _, want := range []string{dir, fmt.Sprintf("process %d on %s", cmd.Process.Pid, host), "choose another folder"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
	t.Log(msg)

	// A clean end releases the lock and removes the file.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after a clean release the lock file remains: %v", err)
	}
	l, err = Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder ended: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLockOfKilledProcessDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	cmd, _ := startHolder(t, dir)
	dead := cmd.Process.Pid
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the holder was not killed: %v", cmd.ProcessState)
	}
	// The killed process could not clean up: its record stays.
	if h := readHolder(filepath.Join(dir, FileName)); h == nil || h.PID != dead {
		t.Fatalf("lock file after the kill names %+v, want the killed process %d", h, dead)
	}

	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("a lock left by a killed process blocks: %v", err)
	}
	defer l.Release()
	if h := readHolder(filepath.Join(dir, FileName)); h == nil || h.PID != os.Getpid() {
		t.Errorf("lock file names %+v, want this process %d", h, os.Getpid())
	}
}

// Two locks of one process exclude each other too (flock belongs to the
// open file, not the process), and a released lock can be taken again.
func TestSecondLockInOneProcess(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder == nil || held.Holder.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v, want a refusal naming process %d", err, os.Getpid())
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	b, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	b.Release()
}

// A holder that has not written itself yet (an empty lock file) is still
// refused, with a message that says so.
func TestHolderNotYetRecorded(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	if err := os.Truncate(filepath.Join(dir, FileName), 0); err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != nil || !strings.Contains(err.Error(), "has not recorded itself") {
		t.Fatalf("Acquire: %v, want a refusal without a holder", err)
	}
}

func TestAcquireMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := Acquire(dir)
	var held *HeldError
	if err == nil || errors.As(err, &held) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Acquire of a missing folder: %v", err)
	}
}

// Goroutines taking and releasing one folder's lock as fast as they can
// must never hold it two at a time, also when a release removes the file
// between another's open and its lock.
func TestExclusiveUnderContention(t *testing.T) {
	dir := t.TempDir()
	var holders, taken atomic.Int32
	var overlap atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				l, err := Acquire(dir)
				var held *HeldError
				if errors.As(err, &held) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if holders.Add(1) != 1 {
					overlap.Store(true)
				}
				taken.Add(1)
				time.Sleep(20 * time.Microsecond) // a window for a second holder to show
				holders.Add(-1)
				if err := l.Release(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if overlap.Load() || taken.Load() == 0 {
		t.Fatalf("two holders at once: %v; %d locks taken", overlap.Load(), taken.Load())
	}
}

// The errors of a file system without locks are told from a failed lock.
func TestNoLocksErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.ENOSYS, true}, {syscall.EOPNOTSUPP, true}, {syscall.ENOLCK, true},
		{fmt.Errorf("flock: %w", syscall.ENOLCK), true},
		{syscall.EBADF, false}, {syscall.EWOULDBLOCK, false}, {syscall.EINTR, false},
	} {
		if got := noLocks(tc.err); got != tc.want {
			t.Errorf("noLocks(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
