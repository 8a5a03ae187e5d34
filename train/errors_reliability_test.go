package train

import (
	"bytes"
	"strings"
	"testing"
)

// TestRestoreRefusesWhatDoesNotFit restores checkpoints edited in one
// place each: every one is refused with a message naming the part that
// does not fit, and the trainer is left as it was.
func TestRestoreRefusesWhatDoesNotFit(t *testing.T) {
	tn := digitsTrainer(t)
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	good, err := tn.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	before := fingerprint(t, tn)
	cases := []struct {
		name string
		edit func(c *Checkpoint)
		want string
	}{
		{"other seed", func(c *Checkpoint) { c.Config.Seed = 7 }, "seed 7"},
		{"other model", func(c *Checkpoint) { c.Config.Model = "lenet5" }, "lenet5"},
		{"unknown phase", func(c *Checkpoint) { c.Progress.Phase = "finetune" }, `phase "finetune" is unknown`},
		{"negative epoch", func(c *Checkpoint) { c.Progress.Epoch = -1 }, "impossible"},
		{"moment of an unknown parameter", func(c *Checkpoint) { c.Optimizer.M = map[string][]float32{"fc9": {1}} }, `parameter "fc9"`},
		{"moment of the wrong length", func(c *Checkpoint) { c.Optimizer.V = map[string][]float32{"fc3.bias": {1, 2}} }, "fc3.bias has 2 values, the parameter 10"},
		{"other optimizer", func(c *Checkpoint) { c.Optimizer.Kind = "sgd" }, "sgd optimizer state"},
		{"short batch-norm statistics", func(c *Checkpoint) { c.BatchNorms[0].Mean = c.BatchNorms[0].Mean[:3] }, "does not fit"},
		{"missing batch norm", func(c *Checkpoint) { c.BatchNorms = c.BatchNorms[:1] }, "1 batch normalisations, the model 2"},
		{"unknown multiplier", func(c *Checkpoint) { c.Config.LUT = "wallace" }, "built-ins"},
		{"damaged model", func(c *Checkpoint) { c.Model = c.Model[:len(c.Model)/2] }, "approxlayer"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		if err := good.Write(&buf); err != nil {
			t.Fatal(err)
		}
		c, err := DecodeCheckpoint(&buf)
		if err != nil {
			t.Fatal(err)
		}
		tc.edit(c)
		err = tn.Restore(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
			continue
		}
		if fingerprint(t, tn) != before {
			t.Errorf("%s: the refused checkpoint changed the trainer", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}
