package main

import (
	"io"
	"os"
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
