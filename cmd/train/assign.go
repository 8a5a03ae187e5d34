package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/goapprox/goapprox/sweep"
)

const assignAbout = `Chooses a multiplier per layer: the cheapest combination (by the -costs power)
whose accuracy stays within -max-loss of the exact model. Each cheaper
candidate is measured in each layer alone; a greedy search then takes the
moves that save the most multiplication energy per point of estimated loss
(drops taken as additive), checks the whole assignment and tightens the
estimate if it overshoots; the result is retrained -retrain-epochs epochs.
-rank-retrain-epochs N measures the drops and the check after N epochs of
retraining each instead (what retraining can repair is not counted as
loss), at the cost of one short retraining per layer and candidate;
-rank-retrain-limit N makes those retrainings shorter (the first N training
samples only). -sensitivity reuses the drops of an earlier run (another
budget, say) instead of measuring them again: an assign run's also keeps
the drops after its ranking's retraining, which are reused when
-rank-retrain-epochs, -rank-retrain-limit, -retrain-lr and -grad are the
same (otherwise the ranking retrains).
One candidate must be exact (e.g. exact or mul8u_1JFF.bin): savings are
relative to its power. Writes assignment.json, summary.md and the
sensitivity measurements.`

func runAssign(args []string, stdout, stderr io.Writer) int {
	var mf modelFlags
	var maxLoss float64
	var rankRetrain, rankLimit int
	var sensitivity string
	fs := subFlags("assign", "-checkpoint FILE -lut ...|-luts DIR -costs CSV -max-loss F -out DIR", assignAbout, stderr)
	mf.register(fs)
	fs.Float64Var(&maxLoss, "max-loss", 0.005, "tolerated accuracy loss, a fraction (0.005 = half a point)")
	fs.IntVar(&rankRetrain, "rank-retrain-epochs", 0, "measure each layer's drops, and the whole assignment, after `N` epochs of retraining (against the exact model retrained as long); 0: before retraining")
	fs.StringVar(&sensitivity, "sensitivity", "", "`PATH` of the sensitivity.json (or its folder) of an earlier train sensitivity or assign run of this checkpoint whose drops to reuse instead of measuring them again")
	fs.IntVar(&rankLimit, "rank-retrain-limit", 0, "retrain the ranking measurements on the first `N` training samples only (0: those of -limit, or the checkpoint's training set)")
	if err := fs.Parse(args); err != nil {
		return exit("assign", err, stderr, true)
	}
	list, costs, err := mf.check(fs)
	if err == nil && costs == nil {
		err = errors.New("-costs CSV is required: the choice is by power")
	}
	if err == nil && (!(maxLoss >= 0) || maxLoss > 1) {
		err = fmt.Errorf("-max-loss %g must be a fraction from 0 to 1 (0.005 = half a point)", maxLoss)
	}
	if err == nil && rankRetrain < 0 {
		err = fmt.Errorf("-rank-retrain-epochs %d must not be negative", rankRetrain)
	}
	if err == nil && rankLimit < 0 {
		err = fmt.Errorf("-rank-retrain-limit %d must not be negative", rankLimit)
	}
	if err == nil && mf.limit > 0 && mf.retrain == 0 && rankRetrain == 0 {
		err = errors.New("-limit chooses the samples of the retraining: give -retrain-epochs or -rank-retrain-epochs too")
	}
	if err == nil && rankLimit > 0 && rankRetrain == 0 {
		err = errors.New("-rank-retrain-limit shortens the ranking's retraining: give -rank-retrain-epochs too")
	}
	if err != nil {
		return exit("assign", err, stderr, true)
	}
	lock, err := claimOutput(mf.out, stderr)
	if err != nil {
		return exit("assign", err, stderr, false)
	}
	defer lock.Release()
	// Its sensitivity files are its own only beside its assignment: alone
	// they are a sensitivity run's, which -sensitivity may be reading.
	own := []string{sweep.AssignmentJSON, sweep.SummaryFile}
	if len(existing(mf.out, sweep.AssignmentJSON)) > 0 {
		own = append(own, sensitivityFiles...)
	}
	if err := refuseResults(mf.out, own...); err != nil {
		return exit("assign", err, stderr, false)
	}
	m, err := mf.open(list[0])
	if err != nil {
		return exit("assign", err, stderr, false)
	}
	defer m.Close()
	var sens *sweep.SensitivityResult
	if sensitivity != "" {
		s, err := sweep.ReadSensitivity(sensitivity)
		if err != nil {
			return exit("assign", fmt.Errorf("-sensitivity: %w", err), stderr, false)
		}
		sens = &s
	}
	// The ranking retrains a model of its own whose approximate phase is
	// the ranking's N epochs: a learning-rate schedule then runs its whole
	// course in them, whatever -retrain-epochs plans for the final
	// retraining.
	var rank *sweep.Model
	if rankRetrain > 0 && (rankLimit > 0 || rankRetrain != mf.retrain) {
		rank, err = sweep.OpenModel(mf.checkpoint, list[0], sweep.ModelOptions{DataDir: mf.data, Threads: mf.threads,
			RetrainEpochs: rankRetrain, RetrainLR: mf.retrainLR, Gradient: mf.grad, Limit: rankLimit})
		if err != nil {
			return exit("assign", fmt.Errorf("the ranking's model: %w", err), stderr, false)
		}
		defer rank.Close()
	}
	a, err := sweep.Assign(m, sweep.AssignOptions{Candidates: list, Costs: costs, MaxLoss: maxLoss,
		RetrainEpochs: mf.retrain, RankRetrainEpochs: rankRetrain, RankModel: rank, Sensitivity: sens, Progress: func(s string) { fmt.Fprintln(stdout, s) }})
	if err == nil {
		err = sweep.WriteAssignment(mf.out, a)
	}
	if err != nil {
		return exit("assign", err, stderr, false)
	}
	files := existing(mf.out, sweep.AssignmentJSON, sweep.SummaryFile, sweep.SensitivityJSON, sweep.SensitivityCSV, sweep.SensitivityPlot)
	fmt.Fprintf(stdout, "\n%s\nwrote %s (%s)\n", sweep.Summary(a), mf.out, strings.Join(files, ", "))
	return 0
}
