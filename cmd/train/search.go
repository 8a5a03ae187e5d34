package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/search"
	"github.com/goapprox/goapprox/sweep"
	"github.com/goapprox/goapprox/train"
)

const searchAbout = `Gradient search (agn-approx): learns how much relative noise each layer of a
trained model tolerates, then gives each layer the cheapest multiplier whose
predicted error fits, and retrains the assigned model.

From the checkpoint, the model trains -search-epochs epochs with a learned
noise after every approximate layer (output + N(0,1)·std(output)·sigma, sigma
trainable per layer, starting at -sigma-init) on the loss
cross_entropy − lambda·Σ (ops_l/ops)·min(|sigma_l|, -sigma-max); each epoch
prints every layer's sigma. A calibration run with exact products gives each
layer's output std (tolerated error std = |sigma|·std) and the error model's
predicted error std of every multiplier there; each layer gets the cheapest
fitting multiplier (by the -costs power; by MAE without costs). The assigned
model is evaluated, retrained -retrain-epochs epochs and evaluated again.

-budget POINTS searches lambda instead of taking -lambda: a decade grid
(-lambda-min 0.005, -lambda-decades 3: 0.005, 0.05, 0.5) walked upwards until
a lambda misses the budget, then -lambda-refine 2 bisection steps, each
lambda searched from the same checkpoint, assigned and retrained; the largest
saving whose accuracy after retraining stays within POINTS of the exact model
wins. When every grid lambda meets the budget there is nothing to refine:
raise -lambda-min or -lambda-decades to search further.

Every lambda taken is saved in OUT/lambdas as soon as it is done: -resume
continues a search that stopped, searching only the lambdas it lacks, and
-reuse DIR takes the lambdas of another search with the same checkpoint,
multipliers and settings (another -budget, say). Scale-out: -shard i/n
searches every n-th lambda of the grid from position i into
OUT/shard-00i-of-00n (on a cluster the shard comes from SLURM_ARRAY_TASK_ID and
SLURM_ARRAY_TASK_COUNT, as for sweeps); the same command without -shard
and with -resume then refines and writes the report.

Writes search.json, search.csv, search.md, search-sigma.png and, with a
budget, search-lambdas.png. Include the exact multiplier among the tables:
a layer no approximate multiplier fits falls back to it.`

// searchFlags are train search's own flags.
type searchFlags struct {
	lambda, sigmaInit, sigmaMax float64
	budget                      float64
	searchEpochs                int
	searchLR                    float64
	schedule                    search.Schedule
	quiet                       bool
	// resume reuses the lambdas saved in -out (by an interrupted run or by
	// the shards); reuse names other searches' folders to take lambdas from.
	resume bool
	reuse  stringList
	shard  sweep.Shard
}

func runSearch(args []string, stdout, stderr io.Writer) int {
	var mf modelFlags
	var sf searchFlags
	fs := subFlags("search", "-checkpoint FILE (-lut SPEC|FILE ... | -luts DIR) [-costs CSV] [-budget POINTS | -lambda L] -out DIR [options]", searchAbout, stderr)
	mf.register(fs)
	fs.Float64Var(&sf.lambda, "lambda", search.DefaultLambda, "weight of the noise reward against the cross-entropy (not with -budget, which searches it)")
	fs.Float64Var(&sf.budget, "budget", 0, "`POINTS` of accuracy below the exact model the lambda search may lose (0.5 = half a point); unset: one search at -lambda")
	fs.Float64Var(&sf.sigmaInit, "sigma-init", search.DefaultSigmaInitial, "every layer's relative noise at the start of the search")
	fs.Float64Var(&sf.sigmaMax, "sigma-max", search.DefaultSigmaMax, "largest relative noise the regulariser rewards")
	fs.IntVar(&sf.searchEpochs, "search-epochs", 1, "epochs of search training per lambda")
	fs.Float64Var(&sf.searchLR, "search-lr", 0, "learning rate of the search (default: the checkpoint's noise-phase rate, its QAT rate unless a recipe set one)")
	def := search.DefaultSchedule()
	fs.Float64Var(&sf.schedule.Min, "lambda-min", def.Min, "smallest lambda of the budget search's decade grid")
	fs.IntVar(&sf.schedule.Decades, "lambda-decades", def.Decades, "number of decades of the budget search's grid (lambda-min, 10·lambda-min, ...)")
	fs.IntVar(&sf.schedule.Refine, "lambda-refine", def.Refine, "bisection steps of the budget search after the grid")
	fs.BoolVar(&sf.quiet, "quiet", false, "no progress lines")
	fs.BoolVar(&sf.resume, "resume", false, "reuse the lambdas already searched in -out (by an interrupted run or by its shards) and search only the others")
	fs.Var(&sf.reuse, "reuse", "`DIR` of another search of the same checkpoint, multipliers and settings whose lambdas to reuse (e.g. one run with another -budget); repeatable")
	var shardFlag string
	var shardCount int
	fs.StringVar(&shardFlag, "shard", "", "`i/n`: search only every n-th lambda of the budget grid from position i (0-based), into OUT/shard-00i-of-00n; finish with -resume")
	fs.IntVar(&shardCount, "shard-count", 0, "number of shards when the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)")
	if err := fs.Parse(args); err != nil {
		return exit("search", err, stderr, true)
	}
	list, costs, settings, err := sf.check(&mf, fs)
	if err == nil {
		sf.shard, err = pickShard(shardFlag, shardCount, os.Getenv)
	}
	if err == nil && !sf.shard.IsWhole() && settings.Budget == nil {
		err = errors.New("-shard splits the lambda grid of a budget search: give -budget (and the same grid flags to every shard and to the final run)")
	}
	if err != nil {
		return exit("search", err, stderr, true)
	}
	return exit("search", searchRun(&mf, &sf, list, costs, settings, stdout, stderr), stderr, false)
}

// check validates the flags together: the shared ones, then the search's
// settings (search.Settings.Check).
func (sf *searchFlags) check(mf *modelFlags, fs *flag.FlagSet) ([]string, sweep.Costs, search.Settings, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	budgetSet := set["budget"]
	var errs []error
	if budgetSet && set["lambda"] {
		errs = append(errs, errors.New("-budget searches lambda itself: drop -lambda, or drop -budget to search at that lambda"))
	}
	for _, name := range []string{"lambda-min", "lambda-decades", "lambda-refine"} {
		if set[name] && !budgetSet {
			errs = append(errs, fmt.Errorf("-%s shapes the lambda grid of a budget search: give -budget POINTS too", name))
		}
	}
	list, costs, err := mf.check(fs)
	if err != nil {
		errs = append(errs, err)
	}
	s := search.Settings{Lambda: sf.lambda, SigmaInitial: sf.sigmaInit, SigmaMax: sf.sigmaMax, Multipliers: len(list)}
	if budgetSet {
		s.Budget = &sf.budget
	}
	if len(list) == 0 {
		s.Multipliers = 1 // a missing list is the shared flags' error, said once
	}
	if err := s.Check(); err != nil {
		errs = append(errs, err)
	}
	if err := sf.schedule.Check(); err != nil {
		errs = append(errs, fmt.Errorf("-lambda-min, -lambda-decades, -lambda-refine: %w", err))
	}
	if sf.searchEpochs < 1 {
		errs = append(errs, fmt.Errorf("-search-epochs %d: the search needs at least one epoch", sf.searchEpochs))
	}
	if sf.searchLR < 0 || math.IsNaN(sf.searchLR) || math.IsInf(sf.searchLR, 0) {
		errs = append(errs, fmt.Errorf("-search-lr %g must be finite and > 0 (or 0 for the checkpoint's noise-phase rate)", sf.searchLR))
	}
	return list, costs, s, errors.Join(errs...)
}

func searchRun(mf *modelFlags, sf *searchFlags, list []string, costs sweep.Costs, s search.Settings, stdout, stderr io.Writer) error {
	dir := shardDir(mf.out, sf.shard)
	lock, err := claimOutput(dir, stderr)
	if err != nil {
		return err
	}
	defer lock.Release()
	if !sf.resume {
		if files, err := savedLambdaFiles(dir); err != nil || len(files) > 0 {
			return fmt.Errorf("%s already holds a search (%d lambdas saved): continue it with -resume (which also finishes a sharded search), or choose another -out", dir, len(files))
		}
	}
	ck, err := train.ReadCheckpoint(mf.checkpoint)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", mf.checkpoint, err)
	}
	m, err := sweep.OpenModel(mf.checkpoint, list[0], sweep.ModelOptions{
		DataDir: mf.data, Threads: mf.threads, RetrainEpochs: mf.retrain, RetrainLR: mf.retrainLR, Gradient: mf.grad, Limit: mf.limit,
		TrainerOptions: []train.Option{train.WithSearch(train.SearchGraphOptions{SigmaMax: s.SigmaMax})}})
	if err != nil {
		return err
	}
	defer m.Close()
	mults := train.SearchMultipliers{Args: list}
	byName := map[string]float64{}
	key := lambdaKey{CheckpointSHA256: m.SHA256, CostsSHA256: sweep.CostsDigest(costs),
		SigmaInitial: s.SigmaInitial, SigmaMax: s.SigmaMax, SearchEpochs: sf.searchEpochs, SearchLR: sf.searchLR,
		RetrainEpochs: mf.retrain, RetrainLR: mf.retrainLR, Gradient: mf.grad, Limit: mf.limit, DataDir: mf.data}
	for _, arg := range list {
		tab, err := m.Table(arg)
		if err != nil {
			return fmt.Errorf("multiplier %s: %w", arg, err)
		}
		mults.Tables = append(mults.Tables, tab)
		key.Multipliers = append(key.Multipliers, tab.Name()+"@"+tab.Fingerprint())
		if c, ok := costs[tab.Name()]; ok && c.Power != nil {
			byName[tab.Name()] = *c.Power
		}
	}
	if costs != nil && len(byName) == 0 {
		return fmt.Errorf("-costs names none of the %d multipliers given (names are table names: %s); check the costs file", len(list), tableNames(mults.Tables))
	}
	if mults.Library, err = search.LibraryOf(mults.Tables, byName); err != nil {
		return err
	}
	sources := append([]string(nil), sf.reuse...)
	if sf.resume {
		sources = append(sources, dir)
	}
	saved, err := loadLambdas(sources, key)
	if err != nil {
		return err
	}
	tr := m.Trainer()
	progress := func(line string) {
		if !sf.quiet {
			fmt.Fprintln(stdout, line)
		}
	}
	outcomes := map[float64]train.SearchOutcome{}
	evaluate := func(lambda float64) (search.Outcome, error) {
		out, reused := saved[lambda]
		if !reused {
			o := train.SearchOptions{Lambda: lambda, SigmaInitial: s.SigmaInitial, Epochs: sf.searchEpochs, LR: sf.searchLR, Log: progress}
			if out, err = tr.SearchAssign(ck, o, mults, mf.retrain); err != nil {
				return search.Outcome{}, err
			}
			if err := saveLambda(dir, key, lambda, out); err != nil {
				return search.Outcome{}, err
			}
		}
		outcomes[lambda] = out
		energy := "unknown"
		if out.Assignment.EnergySaved != nil {
			energy = fmt.Sprintf("%.1f%%", 100**out.Assignment.EnergySaved)
		}
		how := ""
		if reused {
			how = " (searched before, reused)"
		}
		after := fmt.Sprintf("%.2f%% after", 100*out.AccuracyAfter)
		if mf.retrain == 0 {
			after = "no retraining"
		}
		progress(fmt.Sprintf("lambda %g%s: energy saved %s, accuracy %.2f%% before retraining, %s", lambda, how, energy, 100*out.AccuracyBefore, after))
		return search.Outcome{EnergySaved: out.Assignment.EnergySaved, Accuracy: out.AccuracyAfter, AccuracyBefore: out.AccuracyBefore}, nil
	}
	if !sf.shard.IsWhole() {
		grid := sf.schedule.Grid()
		var mine []float64
		for _, i := range sf.shard.Select(len(grid)) {
			mine = append(mine, grid[i])
		}
		progress(fmt.Sprintf("gradient search of %s, shard %s: lambdas %v of the grid %v", mf.checkpoint, sf.shard, mine, grid))
		for _, lambda := range mine {
			if _, err := evaluate(lambda); err != nil {
				return fmt.Errorf("lambda %g: %w", lambda, err)
			}
		}
		fmt.Fprintf(stdout, "shard %s done: %d lambdas saved in %s\nwhen every shard is done, run the same command without -shard and with -resume to finish the search and write its report\n",
			sf.shard, len(mine), filepath.Join(dir, lambdasDir))
		return nil
	}
	exact, err := m.ExactAccuracy()
	if err != nil {
		return err
	}
	progress(fmt.Sprintf("gradient search of %s: %d layers, %d multipliers, exact products %.2f%%, %d lambdas searched before", mf.checkpoint, tr.Layers().Len(), len(list), 100*exact, len(saved)))
	var points []search.Point
	lambda := s.Lambda
	if s.Budget != nil {
		res, err := search.SearchLambda(evaluate, exact, *s.Budget, sf.schedule)
		if err != nil {
			return err
		}
		points, lambda = res.Points, res.Points[res.Best].Lambda
	} else {
		o, err := evaluate(lambda)
		if err != nil {
			return err
		}
		loss := 100 * (exact - o.Accuracy)
		points = []search.Point{{Lambda: lambda, Phase: "given", EnergySaved: o.EnergySaved, Accuracy: o.Accuracy, AccuracyBefore: o.AccuracyBefore, Loss: loss, WithinBudget: true}}
	}
	best := outcomes[lambda]
	r := search.NewReport(best.Assignment, mults.Library, lambda, s.SigmaInitial, s.SigmaMax)
	cfg := m.Config()
	r.Model, r.Dataset, r.Checkpoint = cfg.Model, cfg.Dataset, mf.checkpoint
	r.Budget, r.SearchEpochs, r.RetrainEpochs = s.Budget, sf.searchEpochs, mf.retrain
	r.TrainSamples = tr.TrainSamples()
	r.SearchLR = sf.searchLR
	if r.SearchLR == 0 {
		r.SearchLR = cfg.ForPhase(train.PhaseNoise).LR
	}
	r.Gradient = mf.grad
	r.AccuracyExact, r.AccuracyBefore, r.AccuracyAfter = exact, best.AccuracyBefore, best.AccuracyAfter
	r.LambdasTried, r.SigmaHistory = points, best.Search.History
	if s.Budget != nil {
		r.Schedule = &sf.schedule
	}
	if err := search.WriteReport(mf.out, r); err != nil {
		return err
	}
	printSearch(stdout, r)
	files := existing(mf.out, search.ReportJSON, search.ReportCSV, search.ReportMD, search.PlotSigma, search.PlotLambdas)
	fmt.Fprintf(stdout, "\nwrote %s (%s)\n", filepath.Clean(mf.out), strings.Join(files, ", "))
	return nil
}

func tableNames(ts []*lut.Table) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name()
	}
	return strings.Join(names, ", ")
}

// printSearch prints the chosen assignment as an aligned table.
func printSearch(w io.Writer, r search.Report) {
	after := fmt.Sprintf("%.2f%% after", 100*r.AccuracyAfter)
	if r.RetrainEpochs == 0 {
		after = "no retraining"
	}
	fmt.Fprintf(w, "\nlambda %g: exact %.2f%%, assigned %.2f%% before retraining, %s", r.Lambda,
		100*r.AccuracyExact, 100*r.AccuracyBefore, after)
	if r.EnergySaved != nil {
		fmt.Fprintf(w, "; multiplication energy saved %.1f%%", 100**r.EnergySaved)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tsigma\ttolerated std\tmultiplier\tpredicted std\tfits\t")
	var unfit []string
	for _, l := range r.Layers {
		fits := "yes"
		if !l.Fits {
			fits = "no"
			unfit = append(unfit, l.Name)
		}
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%s\t%.4g\t%s\t\n", l.Name, l.Sigma, l.ToleratedStd, l.Multiplier, l.PredictedStd, fits)
	}
	tw.Flush()
	if len(unfit) > 0 {
		fmt.Fprintf(w, "warning: no multiplier's predicted error fits the tolerance of %d layers (%s): they got the most accurate one; list the exact multiplier among the tables (-lut exact, or exact:signed=true for signed tables) to keep such layers exact\n",
			len(unfit), strings.Join(unfit, ", "))
	}
}
