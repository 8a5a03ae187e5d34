package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"golang.org/x/term"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/quantize"
	"github.com/goapprox/goapprox/train"
	"github.com/goapprox/goapprox/zoo"
)

func main() {
	interactive := term.IsTerminal(int(os.Stdout.Fd()))
	if len(os.Args) > 1 {
		if _, ok := subcommands[os.Args[1]]; ok {
			go sayInterrupted(os.Args[1])
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, interactive))
}

// resumable are the subcommands that save their work as they go and take
// -resume.
var resumable = map[string]bool{"sweep": true, "search": true}

// sayInterrupted waits for Ctrl-C during a subcommand and ends the process
// saying how to go on: for sweep and search, what they finished is in
// their folder (every file is written atomically) and -resume continues
// from there; the others write their results at the end.
func sayInterrupted(name string) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	<-c
	if resumable[name] {
		fmt.Fprintf(os.Stderr, "\ntrain %s: interrupted; what it finished, if anything, is saved in its -out folder: run the same command with -resume to continue\n", name)
	} else {
		fmt.Fprintf(os.Stderr, "\ntrain %s: interrupted; it writes its results when it ends, so none were written: run it again\n", name)
	}
	os.Exit(130)
}

// subcommandNames lists the subcommands in order.
func subcommandNames() []string {
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func modelNames() []string   { return zoo.Names() }
func datasetNames() []string { return dataset.Names() }
func presetNames() []string {
	names := quantize.PresetNames()
	sort.Strings(names)
	return names
}

// run is the whole command minus the process, so tests call it in-process.
// interactive turns on the progress bars.
func run(args []string, stdout, stderr io.Writer, interactive bool) int {
	if len(args) > 0 {
		if sub, ok := subcommands[args[0]]; ok { // train sweep|merge|sensitivity|assign (sweep.go)
			return sub(args[1:], stdout, stderr)
		}
	}
	o, err := parseFlags(args, stderr, time.Now())
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "train: %v\n", err)
		return 2
	}
	if err := train1(o, stdout, interactive && !o.quiet); err != nil {
		fmt.Fprintf(stderr, "train: %v\n", err)
		return 1
	}
	return 0
}

// train1 runs one training: build, resume, run, report.
func train1(o *options, stdout io.Writer, bars bool) error {
	_, errParent := os.Stat(filepath.Dir(o.out))
	if !o.set["out"] {
		dir, err := claimDefaultFolder(o.out)
		if err != nil {
			return err
		}
		o.out = dir
	}
	if o.resume {
		lock, err := lockFolder(o.out, false, stdout)
		if err != nil {
			return err
		}
		defer lock.Release()
	} else {
		// A run that stops before writing anything (no data, a bad table)
		// leaves no empty folder behind, the default one included.
		out, err := claimOutput(o.out, stdout)
		if err != nil {
			return err
		}
		if !o.set["out"] {
			out.created = append(out.created, o.out)
			if errParent != nil {
				out.created = append(out.created, filepath.Dir(o.out))
			}
		}
		defer out.Release()
	}
	// Ctrl-C from here on stops the run with a message: while the data
	// and the model load, and then after the current step (the last
	// checkpoint stays).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ckDir := filepath.Join(o.out, checkpointsDir)
	last := filepath.Join(ckDir, train.LastCheckpoint)
	cfg := o.cfg
	var ck *train.Checkpoint
	if o.resume {
		var err error
		if ck, err = train.ReadCheckpoint(last); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("-resume: %s holds no run to continue (%s is missing): check -out, or start the run without -resume", o.out, last)
			}
			return fmt.Errorf("-resume: %w (the run cannot continue from it: start again with another -out)", err)
		}
		if cfg, err = o.resumeConfig(ck.Config); err != nil {
			return err
		}
	} else if _, err := os.Stat(last); err == nil {
		return fmt.Errorf("%s already holds a run: continue it with -resume or choose another -out", o.out)
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}

	p := newProgress(stdout, bars, cfg)
	// A resumed run's time counts the processes before it, as far as the
	// report they left says (a killed process leaves none).
	var before time.Duration
	if o.resume {
		before = reportedTime(o.out)
	}
	started := time.Now().Add(-before)
	tr, err := train.New(cfg, train.WithHooks(p.hooks()))
	if err != nil {
		return err
	}
	defer tr.Close()
	if ctx.Err() != nil {
		return errors.New("interrupted before the first epoch: nothing was written; start the run again with the same command")
	}
	if err := os.MkdirAll(ckDir, 0o755); err != nil {
		return runFolderError(err)
	}
	p.top5 = tr.MeasuresTop5()
	if ck != nil {
		if err := tr.Restore(ck); err != nil {
			return fmt.Errorf("-resume: %w", err)
		}
		phase, epoch := ck.Phase()
		fmt.Fprintf(stdout, "resuming %s from %s epoch %d\n", o.out, phase, epoch)
	}
	printHeader(stdout, o, tr)

	res, runErr := tr.RunContext(ctx, ckDir)
	if errors.Is(runErr, context.Canceled) && !o.resume {
		if _, err := train.ReadCheckpoint(last); err != nil {
			// Nothing was saved: no report either, and the folder the run
			// made goes away with its empty checkpoints folder.
			os.Remove(ckDir)
			return errors.New("interrupted in the first epoch, before any checkpoint: nothing was saved; start the run again with the same command")
		}
	}
	if runErr != nil {
		res = tr.Result()
	}
	rep := newReport(res, o, time.Since(started), runErr)
	if err := rep.write(o.out); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		var div *train.DivergedError
		if errors.As(runErr, &div) {
			// -resume would repeat the same steps with the same settings.
			return fmt.Errorf("%w\n%s; -resume would diverge again with the same settings: start a new run (another -out) with a lower rate",
				runErr, lastGood(last))
		}
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("interrupted; %s; continue with -resume -out %s", lastGood(last), o.out)
		}
		return runErr
	}
	printSummary(stdout, rep)
	fmt.Fprintf(stdout, "\nrun folder: %s (report.json, metrics.csv, %s, checkpoints/)\n", o.out, plotFile)
	return nil
}

// runFolderError says that the run folder could not be created, and what
// to do.
func runFolderError(err error) error {
	return fmt.Errorf("cannot create the run folder: %w; choose another -out", err)
}

// reportedTime is the run time report.json in dir records, 0 if there is
// none to read.
func reportedTime(dir string) time.Duration {
	raw, err := os.ReadFile(filepath.Join(dir, reportFile))
	if err != nil {
		return 0
	}
	var r struct {
		Seconds float64 `json:"seconds"`
	}
	if json.Unmarshal(raw, &r) != nil || !(r.Seconds > 0) || math.IsInf(r.Seconds, 0) {
		return 0
	}
	return time.Duration(r.Seconds * float64(time.Second))
}

// claimDefaultFolder creates the default run folder base, or base-2,
// base-3, ... when it exists: two runs started in the same second, whose
// default folders are named alike, each get a folder of their own.
// Creating a directory is atomic, so this holds across processes too.
func claimDefaultFolder(base string) (string, error) {
	for i := 1; i <= 1000; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := mkdirNew(dir)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", runFolderError(err)
		}
	}
	return "", fmt.Errorf("the default run folders %s to %s-1000 all exist: choose -out", base, base)
}

// mkdirNew creates the folder dir, which must not exist yet, and its
// parents. Another run that stops removes the parent it created when it is
// empty (outputFolder): a parent gone meanwhile is created again.
func mkdirNew(dir string) error {
	var err error
	for range 5 {
		if err = os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if err = os.Mkdir(dir, 0o755); !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// lastGood says which checkpoint survives a failed run.
func lastGood(path string) string {
	ck, err := train.ReadCheckpoint(path)
	if err != nil {
		return "no checkpoint was written (it stopped in the first epoch)"
	}
	phase, epoch := ck.Phase()
	return fmt.Sprintf("the last good checkpoint is %s (%s epoch %d)", path, phase, epoch)
}
