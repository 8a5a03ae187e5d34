package search

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/internal/boundedfile"
)

// File names of a search folder.
const (
	ReportJSON  = "search.json"
	ReportCSV   = "search.csv"
	ReportMD    = "search.md"
	PlotSigma   = "search-sigma.png"
	PlotLambdas = "search-lambdas.png"
)

// EpochSigmas is every layer's learned sigma at the end of one search
// epoch, in the order of Report.Layers.
type EpochSigmas struct {
	Epoch  int       `json:"epoch"`
	Sigmas []float64 `json:"sigmas"`
}

// Report is the result of a search: search.json.
type Report struct {
	Model      string `json:"model,omitempty"`
	Dataset    string `json:"dataset,omitempty"`
	Checkpoint string `json:"checkpoint,omitempty"`

	Lambda       float64  `json:"lambda"`
	SigmaInitial float64  `json:"sigma_initial"`
	SigmaMax     float64  `json:"sigma_max"`
	Budget       *float64 `json:"budget,omitempty"` // points below exact
	SearchEpochs int      `json:"search_epochs"`
	// SearchLR is the learning rate of the search epochs (0: not recorded).
	SearchLR float64 `json:"search_lr,omitempty"`
	// Gradient is the retraining's backward pass (ops.ParseGradient's
	// form; absent: straight-through).
	Gradient string `json:"gradient,omitempty"`
	// RetrainEpochs of approximate retraining gave AccuracyAfter.
	RetrainEpochs int `json:"retrain_epochs"`
	// TrainSamples is the number of training samples each search and
	// retraining epoch ran on (0: not recorded).
	TrainSamples int `json:"train_samples,omitempty"`

	// Accuracies are fractions: the exact (Quantized) model, the assigned
	// model before retraining and after it.
	AccuracyExact  float64 `json:"accuracy_exact"`
	AccuracyBefore float64 `json:"accuracy_before"`
	AccuracyAfter  float64 `json:"accuracy_after"`

	// Ranking, ReferenceCost and EnergySaved are the assignment's (see
	// Assignment); EnergySaved is null without costs.
	Ranking       Ranking  `json:"ranking"`
	ReferenceCost *float64 `json:"reference_cost,omitempty"`
	EnergySaved   *float64 `json:"energy_saved"`

	// Library is the multipliers the layers were matched from.
	Library Library  `json:"library"`
	Layers  []Choice `json:"layers"`
	// Schedule is the budget search's order of lambdas (nil without a
	// budget).
	Schedule *Schedule `json:"schedule,omitempty"`
	// LambdasTried are the budget search's points (one, the lambda given,
	// without a budget).
	LambdasTried []Point       `json:"lambdas_tried"`
	SigmaHistory []EpochSigmas `json:"sigma_history,omitempty"`
}

// NewReport starts a report from the chosen lambda's assignment; the
// caller fills in accuracies, epochs, the points tried and the history.
func NewReport(a Assignment, lib Library, lambda, sigmaInitial, sigmaMax float64) Report {
	return Report{Lambda: lambda, SigmaInitial: sigmaInitial, SigmaMax: sigmaMax, Ranking: a.Ranking,
		ReferenceCost: a.ReferenceCost, EnergySaved: a.EnergySaved, Library: lib, Layers: a.Layers}
}

// Check returns the first inconsistency of a report (as read back or
// before writing).
func (r Report) Check() error {
	if len(r.Layers) == 0 {
		return errors.New("search report: no layers")
	}
	for _, a := range []struct {
		name string
		v    float64
	}{{"accuracy_exact", r.AccuracyExact}, {"accuracy_before", r.AccuracyBefore}, {"accuracy_after", r.AccuracyAfter}} {
		if math.IsNaN(a.v) || a.v < 0 || a.v > 1 {
			return fmt.Errorf("search report: %s is %g; accuracies are fractions in [0, 1]", a.name, a.v)
		}
	}
	if err := CheckLambda(r.Lambda); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, l := range r.Layers {
		if l.Name == "" || l.Multiplier == "" {
			return fmt.Errorf("search report: layer %d lacks a name or a multiplier", i)
		}
		if r.Library != nil && (l.Index < 0 || l.Index >= len(r.Library) || r.Library[l.Index].Name != l.Multiplier) {
			return fmt.Errorf("search report: layer %q names multiplier %q at library index %d, which the library does not hold", l.Name, l.Multiplier, l.Index)
		}
		if seen[l.Name] {
			return fmt.Errorf("search report: layer %q is listed twice", l.Name)
		}
		seen[l.Name] = true
	}
	for _, h := range r.SigmaHistory {
		if len(h.Sigmas) != len(r.Layers) {
			return fmt.Errorf("search report: epoch %d has %d sigmas for %d layers", h.Epoch, len(h.Sigmas), len(r.Layers))
		}
	}
	return nil
}

// maxReportBytes bounds what is read of a search.json: a report is tens of
// kilobytes even for hundreds of layers and multipliers.
const maxReportBytes = 64 << 20

// ReadReport reads and checks a search.json.
func ReadReport(path string) (Report, error) {
	var r Report
	if err := boundedfile.ReadJSON(path, maxReportBytes, "a "+ReportJSON+" of train search", &r); err != nil {
		return Report{}, err
	}
	if err := r.Check(); err != nil {
		return Report{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// WriteReport writes search.json, search.csv, search.md and the plots into
// dir, each file atomically.
func WriteReport(dir string, r Report) error {
	if err := r.Check(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	csvText, err := r.CSV()
	if err != nil {
		return err
	}
	type file struct {
		name string
		data []byte
	}
	files := []file{{ReportJSON, append(js, '\n')}, {ReportCSV, csvText}, {ReportMD, []byte(r.Markdown())}}
	png, err := sigmaPlot(r)
	if err != nil {
		return err
	}
	files = append(files, file{PlotSigma, png})
	png, ok, err := lambdaPlot(r)
	if err != nil {
		return err
	}
	if ok {
		files = append(files, file{PlotLambdas, png})
	}
	for _, f := range files {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

func totalOps(layers []Choice) float64 {
	var n float64
	for _, l := range layers {
		n += float64(l.Ops)
	}
	return n
}

// CSV is search.csv: one row per layer.
func (r Report) CSV() ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"layer", "ops", "ops_share", "sigma", "output_std", "tolerated_std", "multiplier",
		"predicted_std", "predicted_mean", "cost", "fits", "exact"})
	total := totalOps(r.Layers)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, l := range r.Layers {
		c := ""
		if l.Cost != nil {
			c = f(*l.Cost)
		}
		_ = w.Write([]string{l.Name, strconv.FormatInt(l.Ops, 10), f(float64(l.Ops) / total), f(l.Sigma), f(l.OutputStd),
			f(l.ToleratedStd), l.Multiplier, f(l.PredictedStd), f(l.PredictedMean), c,
			strconv.FormatBool(l.Fits), strconv.FormatBool(l.Exact)})
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// Markdown is search.md: the settings, a table of the layers, the
// accuracies and saving, and the lambdas tried.
func (r Report) Markdown() string {
	var b strings.Builder
	title := "Gradient search"
	if r.Model != "" {
		title += ": " + r.Model
		if r.Dataset != "" {
			title += " on " + r.Dataset
		}
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "lambda %g, initial sigma %g, sigma max %g, %d search epoch(s), %d retraining epoch(s)",
		r.Lambda, r.SigmaInitial, r.SigmaMax, r.SearchEpochs, r.RetrainEpochs)
	if r.SearchLR != 0 {
		fmt.Fprintf(&b, ", search learning rate %g", r.SearchLR)
	}
	if r.Budget != nil {
		fmt.Fprintf(&b, ", budget %.2f points", *r.Budget)
	}
	fmt.Fprintf(&b, "; multipliers ranked by %s.\n\n", r.Ranking)
	b.WriteString("| layer | ops | share | sigma | tolerated std | multiplier | predicted std | fits |\n|---|---:|---:|---:|---:|---|---:|---|\n")
	total := totalOps(r.Layers)
	for _, l := range r.Layers {
		fits := "yes"
		if !l.Fits {
			fits = "no: most accurate"
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f%% | %.4g | %.4g | %s | %.4g | %s |\n", l.Name, l.Ops, 100*float64(l.Ops)/total,
			l.Sigma, l.ToleratedStd, l.Multiplier, l.PredictedStd, fits)
	}
	fmt.Fprintf(&b, "\nAccuracy: exact %.2f%%, assigned %.2f%% before retraining, %.2f%% after (%+.2f points from exact).\n",
		100*r.AccuracyExact, 100*r.AccuracyBefore, 100*r.AccuracyAfter, 100*(r.AccuracyAfter-r.AccuracyExact))
	if r.EnergySaved != nil {
		fmt.Fprintf(&b, "Multiplication energy saved: %.1f%% (reference cost %g per multiplication).\n", 100**r.EnergySaved, *r.ReferenceCost)
	} else {
		b.WriteString("Multiplication energy saved: unknown (no costs given).\n")
	}
	if len(r.LambdasTried) > 0 {
		b.WriteString("\n| lambda | phase | energy saved | accuracy after | loss (points) | within budget |\n|---:|---|---:|---:|---:|---|\n")
		for _, p := range r.LambdasTried {
			s := "unknown"
			if p.EnergySaved != nil {
				s = fmt.Sprintf("%.1f%%", 100**p.EnergySaved)
			}
			fmt.Fprintf(&b, "| %.4g | %s | %s | %.2f%% | %.2f | %t |\n", p.Lambda, p.Phase, s, 100*p.Accuracy, p.Loss, p.WithinBudget)
		}
	}
	return b.String()
}
