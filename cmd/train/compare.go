package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/compare"
)

const compareAbout = `Compares ways of giving one trained model's layers multipliers, after
retraining: one multiplier everywhere (a train sweep folder, with
-retrain-epochs and -costs), the greedy choice (train assign folders) and
the gradient search (train search folders; every lambda tried counts). Per
budget, the largest multiplication-energy saving of each method whose
accuracy after retraining stays within the budget. Writes compare.md (that
table), compare.csv (every point) and compare.png (energy saved against
accuracy, every point, the exact accuracy and the budgets).`

func runCompare(args []string, stdout, stderr io.Writer) int {
	var out, budgets string
	var floor float64
	fs := subFlags("compare", "-out DIR [-budgets 0.5,1] RUN_DIR...", compareAbout, stderr)
	fs.StringVar(&out, "out", "", "output folder (required)")
	fs.StringVar(&budgets, "budgets", "0.5,1", "`POINTS,...`: accuracy budgets, in points below the exact model")
	fs.Float64Var(&floor, "floor", 5, "the plot shows accuracies down to `POINTS` below the exact model")
	if err := fs.Parse(args); err != nil {
		return exit("compare", err, stderr, true)
	}
	bs, err := parseBudgets(budgets)
	if err == nil && (out == "" || fs.NArg() == 0) {
		err = errors.New("usage: train compare -out DIR RUN_DIR... (folders of train sweep, assign and search runs of one checkpoint)")
	}
	if err == nil && (!(floor > 0) || floor > 100) {
		err = fmt.Errorf("-floor %g must be in (0, 100] points", floor)
	}
	if err != nil {
		return exit("compare", err, stderr, true)
	}
	set, err := compare.Load(fs.Args())
	if err != nil {
		return exit("compare", err, stderr, false)
	}
	lock, err := claimOutput(out, stderr)
	if err != nil {
		return exit("compare", err, stderr, false)
	}
	defer lock.Release()
	if err := refuseResults(out, compare.MDFile, compare.CSVFile, compare.PlotFile); err != nil {
		return exit("compare", err, stderr, false)
	}
	if err := compare.Write(out, set, bs, floor); err != nil {
		return exit("compare", err, stderr, false)
	}
	for _, n := range set.Notes {
		fmt.Fprintf(stdout, "warning: %s\n", n)
	}
	fmt.Fprintf(stdout, "%s\nwrote %s (%s, %s, %s)\n", set.Table(bs), out, compare.MDFile, compare.CSVFile, compare.PlotFile)
	return 0
}

func parseBudgets(s string) ([]float64, error) {
	var bs []float64
	for _, f := range strings.Split(s, ",") {
		b, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("-budgets %q: %q is not a number of points", s, f)
		}
		bs = append(bs, b)
	}
	if err := compare.CheckBudgets(bs); err != nil {
		return nil, fmt.Errorf("-budgets: %w", err)
	}
	return bs, nil
}
