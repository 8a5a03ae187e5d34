package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goapprox/goapprox/train"
)

// TestOptimizerFlags checks that the SGD and schedule flags reach the
// configuration, that leaving them out keeps the defaults (momentum 0.9),
// and that settings of another optimizer or schedule are refused.
func TestOptimizerFlags(t *testing.T) {
	o, err := parseFlags([]string{"-optimizer", "sgd", "-momentum", "0", "-weight-decay", "1e-4", "-nesterov=false",
		"-schedule", "multistep", "-milestones", "3, 5", "-gamma", "0.2", "-warmup-epochs", "1"}, os.Stderr, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Momentum == nil || *c.Momentum != 0 || c.WeightDecay != 1e-4 || c.Nesterov || !reflect.DeepEqual(c.Milestones, []int{3, 5}) || c.Gamma != 0.2 || c.WarmupEpochs != 1 {
		t.Fatalf("config %+v", c)
	}
	if o, err := parseFlags([]string{"-optimizer", "sgd"}, os.Stderr, time.Time{}); err != nil || o.cfg.Momentum != nil || o.cfg.Milestones != nil {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-milestones", "3,x", "-schedule", "multistep"}, "epochs separated by commas"},
		{[]string{"-schedule", "multistep"}, "needs milestones"},
		{[]string{"-milestones", "3"}, "use -schedule multistep"},
		{[]string{"-weight-decay", "1e-4"}, "use -optimizer sgd"},
		{[]string{"-optimizer", "sgd", "-momentum", "1"}, "momentum 1 must be in [0, 1)"},
		{[]string{"-optimizer", "sgd", "-momentum", "0", "-nesterov"}, "nesterov"},
	} {
		if _, err := parseFlags(tc.args, os.Stderr, time.Time{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
}

func TestRecipeFlag(t *testing.T) {
	o, err := parseFlags([]string{"-recipe", "agn-approx", "-model", "resnet20", "-dataset", "cifar10", "-approx-epochs", "3"}, io.Discard, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Recipe != "agn-approx" || c.Batch != 128 || c.FloatEpochs != 180 || c.QATEpochs != 30 || c.Limit != 0 || c.Optimizer != "sgd" {
		t.Fatalf("recipe not applied: %+v", c)
	}
	if c.ApproxEpochs != 3 {
		t.Errorf("-approx-epochs 3 beside the recipe gave %d epochs", c.ApproxEpochs)
	}
	if c.QATObserveEpochs != 2 {
		t.Errorf("the recipe's QAT observes for %d epochs, want agn-approx's 2", c.QATObserveEpochs)
	}
	o, err = parseFlags([]string{"-recipe", "agn-approx", "-model", "resnet20", "-dataset", "cifar10", "-qat-observe-epochs", "0"}, io.Discard, time.Unix(0, 0))
	if err != nil || o.cfg.QATObserveEpochs != 0 {
		t.Errorf("-qat-observe-epochs 0 beside the recipe: %v, %d observing epochs", err, o.cfg.QATObserveEpochs)
	}
	if got := c.ForPhase(train.PhaseApprox).LR; got != 0.001 {
		t.Errorf("approximate-phase rate %g, want the recipe's 0.001", got)
	}
	for _, args := range [][]string{
		{"-recipe", "torchapprox"},
		{"-recipe", "agn-approx", "-model", "vgg16", "-dataset", "cifar10"},
		{"-recipe", "agn-approx", "-resume", "-out", t.TempDir()},
	} {
		if _, err := parseFlags(args, io.Discard, time.Unix(0, 0)); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestRecipeFlagsReplacePhaseSettings: a flag given beside a recipe
// replaces the setting in every phase the recipe sets it for, and a
// schedule or optimizer of the user's drops the recipe's settings of the
// one it replaces.
func TestRecipeFlagsReplacePhaseSettings(t *testing.T) {
	parse := func(args ...string) train.Config {
		t.Helper()
		o, err := parseFlags(append([]string{"-recipe", "agn-approx", "-model", "resnet20", "-dataset", "cifar10"}, args...), io.Discard, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return o.cfg
	}
	all := []train.Phase{train.PhaseFloat, train.PhaseQAT, train.PhaseNoise, train.PhaseApprox}

	c := parse()
	for p, want := range map[train.Phase]float64{train.PhaseFloat: 0.1, train.PhaseQAT: 0.01, train.PhaseNoise: 0.01, train.PhaseApprox: 0.001} {
		if got := c.PhaseLR(p); got != want {
			t.Errorf("recipe alone: %s rate %g, want %g", p, got, want)
		}
	}

	c = parse("-lr", "0.05", "-approx-lr", "0.005", "-weight-decay", "5e-4", "-milestones", "2,3", "-gamma", "0.5", "-momentum", "0.8")
	for p, want := range map[train.Phase]float64{train.PhaseFloat: 0.05, train.PhaseQAT: 0.05, train.PhaseNoise: 0.005, train.PhaseApprox: 0.005} {
		if got := c.PhaseLR(p); got != want {
			t.Errorf("%s rate %g, want %g", p, got, want)
		}
	}
	for _, p := range all {
		pc := c.ForPhase(p)
		if pc.WeightDecay != 5e-4 || !reflect.DeepEqual(pc.Milestones, []int{2, 3}) || pc.Gamma != 0.5 || pc.Momentum == nil || *pc.Momentum != 0.8 {
			t.Errorf("%s: weight decay %g, milestones %v, gamma %g, momentum %v; want the flags' 5e-4, [2 3], 0.5, 0.8",
				p, pc.WeightDecay, pc.Milestones, pc.Gamma, pc.Momentum)
		}
	}

	c = parse("-schedule", "cosine", "-optimizer", "adam")
	for _, p := range all {
		pc := c.ForPhase(p)
		if pc.Schedule != "cosine" || pc.Milestones != nil || pc.Gamma != 0 || pc.Optimizer != "adam" || pc.WeightDecay != 0 || pc.Momentum != nil {
			t.Errorf("%s with -schedule cosine -optimizer adam: %+v", p, pc)
		}
	}
	// Replacing the schedule keeps milestones given beside it (and then
	// refuses them, as without a recipe).
	if _, err := parseFlags([]string{"-recipe", "agn-approx", "-model", "resnet20", "-dataset", "cifar10", "-schedule", "cosine", "-milestones", "3"},
		io.Discard, time.Unix(0, 0)); err == nil || !strings.Contains(err.Error(), "multistep") {
		t.Errorf("-schedule cosine -milestones 3 beside the recipe: %v", err)
	}
}

// -approx-lr is the noise phase's rate too, so a noise phase without a
// multiplier takes it.
func TestApproxLRSetsTheNoisePhase(t *testing.T) {
	o, err := parseFlags([]string{"-model", "mlp", "-dataset", "digits", "-lut", "none", "-noise-epochs", "1", "-noise-sigma", "0.05",
		"-approx-lr", "0.01"}, io.Discard, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := o.cfg.PhaseLR(train.PhaseNoise); got != 0.01 {
		t.Errorf("noise-phase rate %g, want -approx-lr's 0.01", got)
	}
}

// TestQATObserveEpochsInTheOutput runs a QAT whose first epoch only
// observes: the header says so, that epoch's line is marked, the next is
// not, and report.json flags the epoch.
func TestQATObserveEpochsInTheOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := trainCmd("-model", "mlp", "-dataset", "digits", "-limit", "256", "-qat-epochs", "2",
		"-qat-observe-epochs", "1", "-lut", "none", "-threads", "2", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "QAT 2 (the first 1 observers only)") {
		t.Errorf("the header does not say the first QAT epoch only observes:\n%s", stdout)
	}
	if strings.Contains(stdout, "warning:") {
		t.Errorf("a warning for a sound setting:\n%s", stdout)
	}

	var marked []string
	for line := range strings.Lines(stdout) {
		if strings.Contains(line, "observers only: float products") {
			marked = append(marked, line)
		}
	}
	if len(marked) != 1 || !strings.Contains(marked[0], "1/2") {
		t.Errorf("marked epoch lines %q, want QAT epoch 1/2's alone", marked)
	}
	rep := readReport(t, out)
	epochs, _ := rep["epochs"].([]any)
	if len(epochs) != 2 {
		t.Fatalf("report has %d epochs, want 2", len(epochs))
	}
	first, _ := epochs[0].(map[string]any)
	second, _ := epochs[1].(map[string]any)
	if first["observing"] != true || second["observing"] != nil {
		t.Errorf("report epochs observing %v and %v, want true and absent", first["observing"], second["observing"])
	}
	rows := readCSV(t, filepath.Join(out, "metrics.csv"))
	if h := rows[0]; len(rows) != 3 || h[len(h)-1] != "observing" || rows[1][len(h)-1] != "1" || rows[2][len(h)-1] != "0" {
		t.Errorf("metrics.csv %v: want an observing column, 1 then 0", rows)
	}

	code, stdout, stderr = trainCmd("-model", "mlp", "-dataset", "digits", "-limit", "256", "-qat-epochs", "1",
		"-qat-observe-epochs", "3", "-lut", "none", "-threads", "2", "-out", filepath.Join(t.TempDir(), "run2"))
	if code != 0 || !strings.Contains(stdout, "QAT 1 (observers only)") ||
		!strings.Contains(stdout, "warning: -qat-observe-epochs 3 is more than the 1 QAT epochs: all of them only observe") {
		t.Errorf("more observing epochs than QAT: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestScheduleWarningInTheHeader: a milestone beyond the only phase is
// said before training starts.
func TestScheduleWarningInTheHeader(t *testing.T) {
	code, stdout, stderr := trainCmd("-model", "mlp", "-dataset", "digits", "-limit", "256", "-qat-epochs", "1", "-lut", "none",
		"-schedule", "multistep", "-milestones", "1,3", "-threads", "2", "-out", filepath.Join(t.TempDir(), "run"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "warning: the QAT phase has 1 epoch, so its milestones 1,3 never lower its rate") {
		t.Errorf("no warning about the milestones:\n%s", stdout)
	}
}
