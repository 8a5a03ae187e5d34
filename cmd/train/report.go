package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/train"
	"github.com/goapprox/goapprox/train/optimizer"
	trainreport "github.com/goapprox/goapprox/train/report"
	"github.com/goapprox/goapprox/zoo"
)

const (
	reportFile  = "report.json"
	metricsFile = trainreport.MetricsFile
	plotFile    = trainreport.PlotFile
	// checkpointsDir is the folder of a run's checkpoints.
	checkpointsDir = "checkpoints"
)

// report is report.json: the run's configuration, per-epoch metrics and
// the accuracies that matter, as fractions of the full test set.
type report struct {
	Model    string           `json:"model"`
	Dataset  string           `json:"dataset"`
	LUT      string           `json:"lut"`
	LayerLUT []train.LayerLUT `json:"layer_luts,omitempty"`
	// The result's fields (config, epochs, evaluations, accuracy, phases,
	// multipliers, layers) appear at the top level.
	*train.Result
	Command string `json:"command"`
	// Seconds is the run's wall time, over every process that worked on
	// it (a resumed run adds its time to what the report it found says).
	Seconds float64 `json:"seconds"`
	GoArch  string  `json:"goarch"`
	CPUs    int     `json:"cpus"`
	Error   string  `json:"error,omitempty"`
}

func newReport(res *train.Result, o *options, elapsed time.Duration, runErr error) *report {
	r := &report{Model: res.Config.Model, Dataset: res.Config.Dataset, LUT: res.Config.LUT,
		LayerLUT: res.Config.LayerLUTs, Result: res,
		Command: strings.Join(append([]string{"train"}, os.Args[1:]...), " "), Seconds: elapsed.Seconds(),
		GoArch: runtime.GOARCH, CPUs: runtime.NumCPU()}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	return r
}

// write puts report.json, metrics.csv and the plot into dir, each
// atomically.
func (r *report) write(dir string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, reportFile), append(js, '\n')); err != nil {
		return err
	}
	return trainreport.WriteFiles(dir, r.Result)
}

func printHeader(w io.Writer, o *options, tr *train.Trainer) {
	c := tr.Config()
	m, _ := zoo.Lookup(c.Model)
	fmt.Fprintf(w, "%s on %s: %s\n", c.Model, c.Dataset, m.Doc)
	samples := fmt.Sprintf("%d (all)", tr.TrainSamples())
	if n := tr.AllTrainSamples(); n > tr.TrainSamples() {
		samples = fmt.Sprintf("%d of %d (-limit %d; -limit 0 uses all)", tr.TrainSamples(), n, c.Limit)
	}
	fmt.Fprintf(w, "training samples %s, test samples %d (all), batch %d, %d steps per epoch\n",
		samples, tr.TestSamples(), c.Batch, tr.StepsPerEpoch())
	lutText := c.LUT
	if lutText == "" {
		lutText = "none"
	}
	for _, l := range c.LayerLUTs {
		lutText += ", " + l.String()
	}
	if c.Gradient != "" {
		lutText += " (retrained with " + c.Gradient + " gradients)"
	}
	noise := ""
	if c.NoiseEpochs > 0 {
		noise = fmt.Sprintf(", noise %d", c.NoiseEpochs)
	}
	qat := strconv.Itoa(c.QATEpochs)
	switch n := min(c.QATObserveEpochs, c.QATEpochs); {
	case n > 0 && n == c.QATEpochs:
		qat += " (observers only)"
	case n > 0:
		qat += fmt.Sprintf(" (the first %d observers only)", n)
	}
	fmt.Fprintf(w, "epochs: float %d, QAT %s%s, approximate %d; multiplier %s; preset %s; seed %d\n",
		c.FloatEpochs, qat, noise, c.ApproxEpochs, lutText, c.Quant, c.Seed)
	fmt.Fprintf(w, "optimizer: %s\n", phaseOptimizers(c))
	for _, warning := range c.ScheduleWarnings() {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	// A recipe's observer-only epochs may outnumber a QAT shortened beside
	// it (agn-approx's LeNet-5 has one QAT epoch); a count given by hand
	// that QAT cannot hold is worth a word.
	if o.set["qat-observe-epochs"] && c.QATObserveEpochs > c.QATEpochs {
		fmt.Fprintf(w, "warning: -qat-observe-epochs %d is more than the %d QAT epochs: all of them only observe\n", c.QATObserveEpochs, c.QATEpochs)
	}
	if !o.resume && c.Limit == defaultLimit && c.QATEpochs == defaultQATEpochs && !o.set["limit"] {
		fmt.Fprintf(w, "(quick defaults, under a minute on 2 cores; a full run: -limit 0 -qat-epochs 6 -schedule cosine, see docs/results.md)\n")
	}
	fmt.Fprintf(w, "run folder: %s\n\n", o.out)
}

// phaseOptimizers says how each phase that runs is optimized: its
// optimizer, base rate and schedule, which a recipe may set per phase.
func phaseOptimizers(c train.Config) string {
	names := map[train.Phase]string{train.PhaseFloat: "float", train.PhaseQAT: "QAT",
		train.PhaseNoise: "noise", train.PhaseApprox: "approximate"}
	var parts []string
	for _, p := range train.Phases() {
		if c.PhaseEpochs(p) == 0 {
			continue
		}
		pc := c.ForPhase(p)
		sched := pc.Schedule
		if sched == "multistep" {
			var at []string
			for _, m := range pc.Milestones {
				at = append(at, strconv.Itoa(m))
			}
			gamma := pc.Gamma
			if gamma == 0 {
				gamma = optimizer.DefaultGamma
			}
			sched = fmt.Sprintf("x%g after epochs %s", gamma, strings.Join(at, ","))
		}
		if pc.WarmupEpochs > 0 {
			sched += fmt.Sprintf(", warm-up %d", pc.WarmupEpochs)
		}
		parts = append(parts, fmt.Sprintf("%s %s lr %g (%s)", names[p], pc.Optimizer, c.PhaseLR(p), sched))
	}
	if len(parts) == 0 {
		return "no training phase"
	}
	return strings.Join(parts, "; ")
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100**v)
}

func printSummary(w io.Writer, r *report) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	a, top5 := r.Accuracy, r.Accuracy.Top5
	row := func(what string, v func(train.Accuracy) *float64) {
		if top5 == nil {
			fmt.Fprintf(tw, "  %s\t%s\n", what, pct(v(a)))
			return
		}
		fmt.Fprintf(tw, "  %s\t%s\t(top-5 %s)\n", what, pct(v(a)), pct(v(*top5)))
	}
	fmt.Fprintln(w, "accuracy (full test set)")
	if a.Float != nil {
		row("float", func(a train.Accuracy) *float64 { return a.Float })
	}
	row("QAT, exact products", func(a train.Accuracy) *float64 { return a.QAT })
	if a.Noise != nil {
		row("after noise training, exact products", func(a train.Accuracy) *float64 { return a.Noise })
	}
	if a.ApproxBefore != nil {
		row("approximate, before retraining", func(a train.Accuracy) *float64 { return a.ApproxBefore })
		row("approximate, after retraining", func(a train.Accuracy) *float64 { return a.ApproxAfter })
	}
	tw.Flush()
	if len(r.Multipliers) > 0 {
		fmt.Fprintln(w, "\nmultiplier error (all 65,536 operand pairs)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "name\tMAE\tWCE\tEP\tMRE\tbias\tstd\tlayers\t")
		for _, m := range r.Multipliers {
			x := m.Metrics
			fmt.Fprintf(tw, "%s\t%.2f\t%.0f\t%.4f\t%.4f\t%.2f\t%.2f\t%s\t\n", m.Name, x.MAE, x.WCE, x.EP, x.MRE, x.Bias, x.Std, strings.Join(m.Layers, ","))
		}
		tw.Flush()
	}
	if len(r.Noise) > 0 {
		printNoise(w, r.Noise)
	}
	fmt.Fprintln(w, "\ntime per phase")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tepochs\ttrain s\ts/epoch\tms/step\teval s\t")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", p.Phase, p.Epochs, p.TrainSeconds, p.SecondsPerEpoch, p.MsPerStep, p.EvalSeconds)
	}
	for _, e := range r.Evaluations {
		fmt.Fprintf(tw, "eval %s\t\t\t\t\t%.1f\t\n", e.Label, e.Seconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "total %.1f s\n", r.Seconds)
}

// printNoise lists the noise phase's per-layer sigma and mu, with the
// paper's global model for comparison when they were predicted.
func printNoise(w io.Writer, noise []train.NoiseLayer) {
	fmt.Fprintln(w, "\nnoise phase: y + N(0,1)·std(y)·sigma + mu per layer")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tsigma\tmu\tfrom\tglobal-model sigma\tglobal-model mu\t")
	for _, n := range noise {
		from := n.SigmaFrom
		if n.MuFrom != n.SigmaFrom {
			from += "/" + n.MuFrom
		}
		global := "-\t-"
		if n.OutputStd > 0 {
			global = fmt.Sprintf("%.4g\t%.4g", n.GlobalSigma, n.GlobalMu)
		}
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%s\t%s\t\n", n.Layer, n.Sigma, n.Mu, from, global)
	}
	tw.Flush()
}
