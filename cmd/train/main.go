package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, interactive))
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
	lock, err := lockFolder(o.out, !o.resume, stdout)
	if err != nil {
		return err
	}
	defer lock.Release()
	ckDir := filepath.Join(o.out, "checkpoints")
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
	if err := os.MkdirAll(ckDir, 0o755); err != nil {
		return fmt.Errorf("cannot create the run folder: %w; choose another -out", err)
	}

	p := newProgress(stdout, bars, cfg)
	started := time.Now()
	tr, err := train.New(cfg, train.WithHooks(p.hooks()))
	if err != nil {
		return err
	}
	defer tr.Close()
	if ck != nil {
		if err := tr.Restore(ck); err != nil {
			return fmt.Errorf("-resume: %w", err)
		}
		phase, epoch := ck.Phase()
		fmt.Fprintf(stdout, "resuming %s from %s epoch %d\n", o.out, phase, epoch)
	}
	printHeader(stdout, o, tr)

	// Ctrl-C stops after the current step; the last checkpoint stays.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, runErr := tr.RunContext(ctx, ckDir)
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
			return fmt.Errorf("%w\n%s", runErr, lastGood(last))
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

// lastGood says which checkpoint survives a failed run.
func lastGood(path string) string {
	ck, err := train.ReadCheckpoint(path)
	if err != nil {
		return "no checkpoint was written (it stopped in the first epoch)"
	}
	phase, epoch := ck.Phase()
	return fmt.Sprintf("the last good checkpoint is %s (%s epoch %d)", path, phase, epoch)
}
