package sweep

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/internal/boundedfile"
)

// File names of an assignment folder.
const (
	AssignmentJSON = "assignment.json"
	SummaryFile    = "summary.md"
)

// WriteAssignment saves assignment.json, summary.md and the sensitivity
// measurements it rests on into dir.
func WriteAssignment(dir string, a Assignment) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, AssignmentJSON), append(js, '\n')); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, SummaryFile), []byte(Summary(a))); err != nil {
		return err
	}
	if len(a.Sensitivity.Multipliers) == 0 {
		return nil
	}
	return WriteSensitivity(dir, a.Sensitivity)
}

// Summary is a Markdown summary of an assignment.
func Summary(a Assignment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Multiplier assignment: %s on %s\n\n", a.Model, a.Dataset)
	fmt.Fprintf(&b, "Budget: %.2f points below the exact model's %.2f%%. Reference: %s (power %g).\n\n",
		100*a.MaxLoss, 100*a.AccuracyExact, a.Exact, a.ExactPower)
	if a.RankReference != nil {
		fmt.Fprintf(&b, "Drops ranked after %d epoch(s) of retraining each on %d training samples, against the exact model retrained as long (%.2f%%); the loss below is measured after that retraining too.\n\n",
			a.RankRetrainEpochs, a.RankRetrainSamples, 100**a.RankReference)
	}
	b.WriteString("| layer | muls/sample | share | multiplier | power | drop alone (points) |\n|---|---:|---:|---|---:|---:|\n")
	for _, l := range a.Layers {
		fmt.Fprintf(&b, "| %s | %d | %.1f%% | %s | %g | %.2f |\n", l.Layer, l.Muls, 100*l.Share, l.Name, l.Power, 100*l.Drop)
	}
	fmt.Fprintf(&b, "\nEstimated loss (sum of the layers' drops, negative ones counted as 0): %.2f points; measured: %.2f points (accuracy %.2f%%), after %d greedy tr%s.\n",
		100*a.EstimatedLoss, 100*a.MeasuredLoss, 100*a.Accuracy, a.Tries, plural(a.Tries, "y", "ies"))
	if a.MeasuredLoss > a.MaxLoss {
		fmt.Fprintf(&b, "**The budget is not met**: %.2f points measured against %.2f allowed after %d tries; this is the last assignment tried. Raise -max-loss, or rank with -rank-retrain-epochs if retraining is to repair the loss.\n",
			100*a.MeasuredLoss, 100*a.MaxLoss, a.Tries)
	}
	fmt.Fprintf(&b, "Multiplication energy: %.4g of %.4g (power × multiplications per sample): %.1f%% saved.\n",
		a.Energy, a.EnergyExact, 100*a.Saving)
	if a.AccuracyRetrained != nil {
		fmt.Fprintf(&b, "After %d retraining epoch(s): %.2f%% (%+.2f points from exact).\n",
			a.RetrainEpochs, 100**a.AccuracyRetrained, 100*(*a.AccuracyRetrained-a.AccuracyExact))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ReadAssignment reads the assignment.json of an assign folder (dir) or
// that file itself.
func ReadAssignment(path string) (Assignment, error) {
	var a Assignment
	return a, readResultFile(path, AssignmentJSON, "train assign", &a)
}

// readResultFile decodes the JSON file path, or the file name inside the
// folder path, into v, refusing unknown fields: a file of another command
// or version is named as such rather than read half.
func readResultFile(path, name, command string, v any) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, name)
	}
	return boundedfile.ReadJSON(path, maxResultBytes, "a "+name+" of "+command, v)
}
