package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
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
