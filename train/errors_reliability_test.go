package train

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/multiplier"
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
		{"moment of an unknown parameter", func(c *Checkpoint) { c.Optimizer.M = map[string]float32s{"fc9": {1}} }, `parameter "fc9"`},
		{"moment of the wrong length", func(c *Checkpoint) { c.Optimizer.V = map[string]float32s{"fc3.bias": {1, 2}} }, "fc3.bias has 2 values, the parameter 10"},
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

// TestTableFileSignedness: a table file records no signedness, so LoadTable
// reads it with the preset's and refuses it when the signs of its products
// say otherwise. Every EvoApprox mul8u table loads for the unsigned preset
// and is refused for the signed ones; built-in designs written to files
// load with the signedness they were made with, and only with it.
func TestTableFileSignedness(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{"exact:signed=true", "trunc:t=9,signed=true", "mitchell:signed=true", "drum:k=3,signed=true",
		"bam:h=4,v=6,signed=true", "loa:l=6,signed=true", "kulkarni:signed=true", "roba:signed=true",
		"exact", "trunc:t=9", "mitchell", "drum:k=3", "loa:l=6", "kulkarni", "roba"} {
		tab, err := multiplier.Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, strings.NewReplacer(":", "_", ",", "_", "=", "_").Replace(spec)+".npy")
		if err := lut.WriteFile(path, tab); err != nil {
			t.Fatal(err)
		}
		good, bad := "torchapprox", "unsigned"
		if !tab.SignedW() {
			good, bad = bad, good
		}
		if _, err := LoadTable(path, good); err != nil {
			t.Errorf("%s with preset %s: %v", spec, good, err)
		}
		if _, err := LoadTable(path, bad); err == nil || !strings.Contains(err.Error(), "wrong sign") {
			t.Errorf("%s with preset %s: error %v, want the signs refused", spec, bad, err)
		}
	}
	evo := shared.Require(t, "luts", "evoapprox-mul8u")
	files, err := filepath.Glob(filepath.Join(evo, "*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tables in %s: %v", evo, err)
	}
	for _, f := range files {
		if _, err := LoadTable(f, "unsigned"); err != nil {
			t.Errorf("%s with the unsigned preset: %v", filepath.Base(f), err)
		}
		_, err := LoadTable(f, "torchapprox")
		if tab, _ := lut.Load(f, lut.Both(lut.Unsigned)); tab.MaxAbs() == 0 {
			// mul8u_199Z always returns 0: right for either signedness.
			if err != nil {
				t.Errorf("%s (all zero) with the torchapprox preset: %v", filepath.Base(f), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "-quant unsigned") {
			t.Errorf("%s with the torchapprox preset: error %v, want a hint to -quant unsigned", filepath.Base(f), err)
		}
	}
	t.Logf("checked %d EvoApprox tables; e.g. %v", len(files), func() error { _, err := LoadTable(files[0], "signed"); return err }())
}
