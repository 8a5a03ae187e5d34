package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/sweep"
)

// subcommands of train, dispatched by run before the training flags are
// parsed: they measure a model trained earlier rather than train one.
var subcommands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"sweep":       runSweep,
	"merge":       runMerge,
	"sensitivity": runSensitivity,
	"assign":      runAssign,
	"models":      runModels,
	"search":      runSearch,
	"compare":     runCompare,
}

// stringList collects a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// modelFlags are the flags every measuring subcommand shares.
type modelFlags struct {
	checkpoint string
	luts       stringList
	lutDir     string
	costs      string
	data       string
	threads    int
	retrain    int
	retrainLR  float64
	grad       string
	limit      int
	out        string
}

func (m *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.checkpoint, "checkpoint", "", "trained model: a checkpoint of cmd/train, e.g. RUN/checkpoints/qat.ckpt (required)")
	fs.Var(&m.luts, "lut", "`SPEC|FILE`: a multiplier (built-in spec or table file); repeatable")
	fs.StringVar(&m.lutDir, "luts", "", "`DIR` of table files (.npy, .bin, .csv) to add, in name order")
	fs.StringVar(&m.costs, "costs", "", "`CSV` of name,power,area per multiplier (name = table name: the spec, or the file name without extension)")
	fs.StringVar(&m.data, "data", "", "directory to look for the data set files in (default: the checkpoint's)")
	fs.IntVar(&m.threads, "threads", 0, "worker threads (0: all cores); also sets GOMAXPROCS")
	fs.IntVar(&m.retrain, "retrain-epochs", 0, "epochs of approximate fine-tuning after the first evaluation")
	fs.Float64Var(&m.retrainLR, "retrain-lr", 0, "learning rate of the fine-tuning (default: the checkpoint's approximate-phase rate)")
	fs.StringVar(&m.grad, "grad", "", "`ste|table[:window=H]`: backward pass of the fine-tuning: straight-through (default) or the multiplier's own slopes, smoothed with half-width H (default "+ops.DefaultGradientWindow.String()+")")
	fs.IntVar(&m.limit, "limit", 0, "retrain (and search) on the first `N` training samples only (0: the checkpoint's training set)")
	fs.StringVar(&m.out, "out", "", "output folder (required)")
}

// check validates the shared flags and expands the multiplier list.
func (m *modelFlags) check(fs *flag.FlagSet) ([]string, sweep.Costs, error) {
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q: options start with -", fs.Arg(0))
	}
	var errs []error
	if m.checkpoint == "" {
		errs = append(errs, errors.New("-checkpoint FILE is required (a run's checkpoints/qat.ckpt)"))
	}
	if m.out == "" {
		errs = append(errs, errors.New("-out DIR is required"))
	}
	if m.retrain < 0 {
		errs = append(errs, fmt.Errorf("-retrain-epochs %d must not be negative", m.retrain))
	}
	if m.threads < 0 {
		errs = append(errs, fmt.Errorf("-threads %d must not be negative", m.threads))
	}
	if g, err := canonicalGradient(m.grad); err != nil {
		errs = append(errs, fmt.Errorf("-grad: %w", err))
	} else {
		m.grad = g
	}
	if m.grad != "" && m.retrain == 0 {
		errs = append(errs, errors.New("-grad chooses the backward pass of the fine-tuning: give -retrain-epochs N too"))
	}
	if m.retrainLR < 0 || math.IsNaN(m.retrainLR) || math.IsInf(m.retrainLR, 0) {
		errs = append(errs, fmt.Errorf("-retrain-lr %g must be a positive number (0: the checkpoint's approximate-phase rate)", m.retrainLR))
	} else if m.retrainLR != 0 && m.retrain == 0 {
		errs = append(errs, errors.New("-retrain-lr is the learning rate of the fine-tuning: give -retrain-epochs N too"))
	}
	if m.limit < 0 {
		errs = append(errs, fmt.Errorf("-limit %d must not be negative (0: the checkpoint's training set)", m.limit))
	}
	if d, err := absData(m.data); err != nil {
		errs = append(errs, err)
	} else {
		m.data = d
	}
	list, err := sweep.ExpandLUTs(m.luts, m.lutDir)
	if err != nil {
		errs = append(errs, err)
	}
	var costs sweep.Costs
	if m.costs != "" {
		if costs, err = sweep.ReadCosts(m.costs); err != nil {
			errs = append(errs, fmt.Errorf("-costs: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	if m.threads > 0 {
		runtime.GOMAXPROCS(m.threads)
	}
	return list, costs, nil
}

func (m *modelFlags) open(anyLUT string) (*sweep.Model, error) {
	return sweep.OpenModel(m.checkpoint, anyLUT, sweep.ModelOptions{
		DataDir: m.data, Threads: m.threads, RetrainEpochs: m.retrain, RetrainLR: m.retrainLR, Gradient: m.grad, Limit: m.limit})
}

// subFlags returns a flag set for a subcommand with its usage text.
func subFlags(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("train "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: train %s %s\n\n%s\n\nOptions:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// exit turns a subcommand's error into the exit status and message.
func exit(name string, err error, stderr io.Writer, usage bool) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case usage:
		fmt.Fprintf(stderr, "train %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "train %s: %v\n", name, err)
		return 1
	}
}

const sweepAbout = `Evaluates a trained model with every multiplier in Approximate mode, optionally
retrains it -retrain-epochs epochs with each and evaluates again. Writes
sweep.csv and sweep.json (one row per multiplier: error metrics, costs,
accuracies, seconds) and plots: accuracy against MAE (and against power
when -costs gives it) and bars per multiplier.

Scale-out: -shard i/n runs every n-th multiplier from position i (0-based)
and writes OUT/shard-00i-of-00n (e.g. shard-000-of-002); on a cluster the
shard comes from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, or from
JOB_COMPLETION_INDEX with -shard-count N.
Combine the shard folders with: train merge -out OUT OUT/shard-*

-resume continues a sweep or shard that was interrupted from the rows it
saved (checking that the flags, list, checkpoint and costs are the same),
or starts it where there is none. A folder is used by one run at a time.`

func runSweep(args []string, stdout, stderr io.Writer) int {
	return sweepCommand(args, stdout, stderr, nil)
}

// sweepCommand is train sweep. afterRow, when not nil, is called each time
// a row has been saved, with the number of rows saved (tests stop the
// process there).
func sweepCommand(args []string, stdout, stderr io.Writer, afterRow func(rows int)) int {
	var mf modelFlags
	var shardFlag string
	var shardCount int
	var quiet, resume bool
	fs := subFlags("sweep", "-checkpoint FILE (-lut SPEC|FILE ... | -luts DIR) -out DIR [options]", sweepAbout, stderr)
	mf.register(fs)
	fs.StringVar(&shardFlag, "shard", "", "`i/n`: run shard i of n (0-based)")
	fs.IntVar(&shardCount, "shard-count", 0, "number of shards when the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines")
	fs.BoolVar(&resume, "resume", false, "continue the sweep (or shard) in -out from the rows it saved, or start it if there is none; the flags, list, checkpoint and costs must be the same")
	if err := fs.Parse(args); err != nil {
		return exit("sweep", err, stderr, true)
	}
	list, costs, err := mf.check(fs)
	if err == nil && mf.limit != 0 && mf.retrain == 0 {
		err = errors.New("-limit chooses the samples of the fine-tuning: give -retrain-epochs N too (evaluations always use the whole test set)")
	}
	if err != nil {
		return exit("sweep", err, stderr, true)
	}
	shard, err := pickShard(shardFlag, shardCount, os.Getenv)
	if err != nil {
		return exit("sweep", err, stderr, true)
	}
	run := sweepRun{quiet: quiet, resume: resume, afterRow: afterRow}
	return exit("sweep", sweep1(&mf, list, costs, shard, run, stdout), stderr, false)
}

// pickShard takes the shard from -shard, else from the cluster's
// environment, else runs the whole list.
func pickShard(flagValue string, count int, getenv func(string) string) (sweep.Shard, error) {
	if flagValue != "" {
		s, err := sweep.ParseShard(flagValue)
		if err == nil && count != 0 && count != s.Count {
			err = fmt.Errorf("-shard %s and -shard-count %d disagree", flagValue, count)
		}
		return s, err
	}
	s, ok, err := sweep.ShardFromEnv(getenv, count)
	if err != nil || ok {
		return s, err
	}
	if count != 0 {
		return s, fmt.Errorf("-shard-count %d without a shard index: set JOB_COMPLETION_INDEX (Kubernetes) or use -shard i/n", count)
	}
	return sweep.Whole, nil
}

// ShardDir is the folder of a shard inside the sweep's -out folder.
func shardDir(out string, s sweep.Shard) string {
	if s.IsWhole() {
		return out
	}
	return filepath.Join(out, fmt.Sprintf("shard-%03d-of-%03d", s.Index, s.Count))
}

// sweepRun are the settings of a sweep that do not change its rows.
type sweepRun struct {
	quiet, resume bool
	afterRow      func(rows int)
}

func sweep1(mf *modelFlags, list []string, costs sweep.Costs, shard sweep.Shard, run sweepRun, stdout io.Writer) error {
	mine := shard.Select(len(list))
	dir := shardDir(mf.out, shard)
	lock, err := claimOutput(dir, stdout)
	if err != nil {
		return err
	}
	defer lock.Release()
	if !run.resume {
		if err := refuseStartedSweep(dir, len(mine)); err != nil {
			return err
		}
	}
	if len(mine) == 0 {
		// More shards than multipliers: an empty shard is still a shard.
		fmt.Fprintf(stdout, "shard %s has no multipliers (the list has %d)\n", shard, len(list))
	}
	anyLUT := list[0]
	m, err := mf.open(anyLUT)
	if err != nil {
		return err
	}
	defer m.Close()
	// Every table must load (and suit the model) before the folder
	// records the sweep: a bad entry then leaves nothing to clean up.
	names := make([]string, len(list))
	for i, arg := range list {
		t, err := m.Table(arg)
		if err != nil {
			return fmt.Errorf("multiplier %s: %w", arg, err)
		}
		names[i] = t.Name()
	}
	if costs != nil {
		if msg := costs.Unmatched(names); msg != "" {
			fmt.Fprintf(stdout, "warning: -costs %s\n", msg)
		}
	}
	rec := sweep.Record{Checkpoint: mf.checkpoint, CheckpointSHA256: m.SHA256, LUTs: list, Shard: shard,
		RetrainEpochs: mf.retrain, RetrainLR: mf.retrainLR, Gradient: mf.grad, Limit: mf.limit, DataDir: mf.data, CostsSHA256: sweep.CostsDigest(costs)}
	var resumed *sweep.Result
	if run.resume {
		prev, started, err := sweep.Resume(dir, rec)
		if err != nil {
			return err
		}
		if started {
			resumed = &prev
			fmt.Fprintf(stdout, "resuming %s: %d of its %d multipliers were measured before\n", dir, len(prev.Rows), len(mine))
		} else {
			fmt.Fprintf(stdout, "-resume: %s holds no sweep yet: starting it\n", dir)
		}
	}
	if resumed == nil {
		if err := sweep.WriteRecord(dir, rec); err != nil {
			return err
		}
	}
	part := ""
	if !shard.IsWhole() {
		part = fmt.Sprintf(" (shard %s: %d)", shard, len(mine))
	}
	fmt.Fprintf(stdout, "sweep of %d multipliers%s on %s, %d retraining epochs -> %s\n",
		len(list), part, mf.checkpoint, mf.retrain, dir)
	var progress io.Writer = stdout
	if run.quiet {
		progress = nil
	}
	res, err := sweep.Run(m, sweep.Options{
		LUTs: list, RetrainEpochs: mf.retrain, Costs: costs, Shard: shard, Progress: progress, Resumed: resumed,
		RowDone: func(r sweep.Result) error {
			if err := sweep.Write(dir, r); err != nil {
				return err
			}
			if run.afterRow != nil {
				run.afterRow(len(r.Rows))
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if err := sweep.Write(dir, res); err != nil {
		return err
	}
	printSweep(stdout, res)
	fmt.Fprintf(stdout, "\nwrote %s\n", describeDir(dir))
	return nil
}

// refuseStartedSweep refuses to start a sweep afresh in a folder that
// holds one: its rows would be overwritten. A folder whose sweep measured
// nothing (its record alone, or results without rows) is taken over; one
// whose results cannot be read is not, as they may hold rows.
func refuseStartedSweep(dir string, rows int) error {
	_, errRec := os.Stat(filepath.Join(dir, sweep.RecordFile))
	prev, err := sweep.ReadResult(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && errRec != nil:
		return nil
	case errors.Is(err, fs.ErrNotExist), err == nil && len(prev.Rows) == 0:
		return nil // nothing measured there: nothing to lose
	case err != nil:
		return fmt.Errorf("%s already holds a sweep whose results cannot be read (%w): look at them, or choose another -out", dir, err)
	}
	return fmt.Errorf("%s already holds a sweep (%d of %d multipliers measured): continue it with -resume, or choose another -out",
		dir, len(prev.Rows), rows)
}

// refuseOtherSweep keeps merge from overwriting a folder that holds
// another sweep: one run there unsharded (its record), or merged results
// other than these. Merging the same shards again, which writes the same
// results, is allowed.
func refuseOtherSweep(dir string, merged sweep.Result) error {
	if _, err := os.Stat(filepath.Join(dir, sweep.RecordFile)); err == nil {
		return fmt.Errorf("%s holds a sweep run there (%s): merge into another -out", dir, sweep.RecordFile)
	}
	prev, err := sweep.ReadResult(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s holds a %s that cannot be read (%w): merge into another -out", dir, sweep.JSONFile, err)
	}
	a, errA := json.Marshal(prev)
	b, errB := json.Marshal(merged)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		return fmt.Errorf("%s holds the results of another sweep (%d multipliers of checkpoint %s), or of these shards before they changed: merge into another -out, or delete its files first", dir, len(prev.LUTs), prev.Checkpoint)
	}
	return nil
}

// describeDir names dir and the files of a sweep's output it holds: the
// plots are written only when they have something to show.
func describeDir(dir string) string {
	return fmt.Sprintf("%s (%s)", dir, strings.Join(existing(dir,
		sweep.CSVFile, sweep.JSONFile, sweep.MDFile, sweep.PlotMAE, sweep.PlotBars, sweep.PlotPower), ", "))
}

// existing returns the names of the files in dir that exist, in order.
func existing(dir string, names ...string) []string {
	var have []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			have = append(have, n)
		}
	}
	return have
}

// printSweep prints the rows as an aligned table.
func printSweep(w io.Writer, r sweep.Result) {
	fmt.Fprintf(w, "\nexact products: %.2f%%\n", 100*r.AccuracyExact)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "multiplier\tMAE\tWCE\tpower\tbefore\tafter\tseconds\t")
	for _, row := range r.Rows {
		power, after := "-", "-"
		if row.Power != nil {
			power = fmt.Sprintf("%.4g", *row.Power)
		}
		if row.AccuracyAfter != nil {
			after = fmt.Sprintf("%.2f%%", 100**row.AccuracyAfter)
		}
		fmt.Fprintf(tw, "%s\t%.4g\t%.0f\t%s\t%.2f%%\t%s\t%.1f\t\n", row.Name, row.MAE, row.WCE, power,
			100*row.AccuracyBefore, after, row.Seconds)
	}
	tw.Flush()
}

const mergeAbout = `Combines the shard folders of one sweep (train sweep -shard i/n) into sweep.csv,
sweep.json and the plots, as an unsharded run writes them (the seconds column
keeps each row's measured time). Every shard must be present and complete.`

func runMerge(args []string, stdout, stderr io.Writer) int {
	var out string
	fs := subFlags("merge", "-out DIR SHARD_DIR...", mergeAbout, stderr)
	fs.StringVar(&out, "out", "", "output folder (required)")
	if err := fs.Parse(args); err != nil {
		return exit("merge", err, stderr, true)
	}
	if out == "" || fs.NArg() == 0 {
		return exit("merge", errors.New("usage: train merge -out DIR SHARD_DIR... (the shard folders written by train sweep -shard)"), stderr, true)
	}
	dirs := append([]string(nil), fs.Args()...)
	sort.Strings(dirs)
	var parts []sweep.Result
	for _, d := range dirs {
		r, err := sweep.ReadResult(d)
		if err != nil {
			return exit("merge", err, stderr, false)
		}
		if r.Shard == nil {
			return exit("merge", fmt.Errorf("%s holds a whole sweep, not a shard: give the shard folders (e.g. OUT/shard-*), not OUT itself", d), stderr, false)
		}
		parts = append(parts, r)
	}
	merged, err := sweep.Merge(parts)
	if err != nil {
		return exit("merge", err, stderr, false)
	}
	lock, err := claimOutput(out, stderr)
	if err != nil {
		return exit("merge", err, stderr, false)
	}
	defer lock.Release()
	if err := refuseOtherSweep(out, merged); err != nil {
		return exit("merge", err, stderr, false)
	}
	if err := sweep.Write(out, merged); err != nil {
		return exit("merge", err, stderr, false)
	}
	printSweep(stdout, merged)
	fmt.Fprintf(stdout, "\nmerged %d shards into %s\n", len(parts), describeDir(out))
	return 0
}
