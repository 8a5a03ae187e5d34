package train

import (
	"math"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/train/optimizer"
)

// TestAgnApproxRecipeRates checks the learning rate of every phase of the
// agn-approx protocol against the values its model definitions give, epoch
// by epoch (the rate of an epoch's first step).
func TestAgnApproxRecipeRates(t *testing.T) {
	base := DefaultConfig()
	base.Model, base.Dataset, base.LUT = "resnet20", "cifar10", "mitchell:signed=true"
	cfg, err := ApplyRecipe("agn-approx", base)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the recipe's configuration is invalid: %v", err)
	}
	if cfg.Batch != 128 || cfg.FloatEpochs != 180 || cfg.QATEpochs != 30 || cfg.QATObserveEpochs != 2 || cfg.ApproxEpochs != 10 || cfg.Recipe != "agn-approx" {
		t.Fatalf("phases %+v", cfg)
	}
	at := func(p Phase, epoch, epochs int) float64 {
		return cfg.lrAt(p, optimizer.Position{Epoch: epoch, Step: 0, StepsPerEpoch: 391, Epochs: epochs})
	}
	cases := []struct {
		phase  Phase
		epoch  int
		epochs int
		want   float64
	}{
		{PhaseFloat, 1, 180, 0.1}, {PhaseFloat, 90, 180, 0.1}, {PhaseFloat, 91, 180, 0.01},
		{PhaseFloat, 135, 180, 0.01}, {PhaseFloat, 136, 180, 0.001}, {PhaseFloat, 180, 180, 0.001},
		{PhaseQAT, 1, 30, 0.01}, {PhaseQAT, 10, 30, 0.01}, {PhaseQAT, 11, 30, 0.001}, {PhaseQAT, 21, 30, 0.0001},
		{PhaseNoise, 1, 30, 0.01}, {PhaseNoise, 11, 30, 0.001},
		{PhaseApprox, 1, 10, 0.001}, {PhaseApprox, 4, 10, 0.001}, {PhaseApprox, 5, 10, 0.0001}, {PhaseApprox, 9, 10, 0.00001},
	}
	for _, c := range cases {
		if got := at(c.phase, c.epoch, c.epochs); math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("%s epoch %d: lr %g, want %g", c.phase, c.epoch, got, c.want)
		}
	}
	// Weight decay only in the float baseline; momentum 0.9 throughout.
	for _, p := range Phases() {
		pc := cfg.ForPhase(p)
		wantWD := 0.0
		if p == PhaseFloat {
			wantWD = 1e-4
		}
		if s := pc.sgd(); s.WeightDecay != wantWD || s.Momentum != 0.9 || pc.Optimizer != "sgd" {
			t.Errorf("%s: %s with momentum %g, weight decay %g; want sgd, 0.9, %g", p, pc.Optimizer, s.Momentum, s.WeightDecay, wantWD)
		}
	}
}

func TestLeNetRecipeRates(t *testing.T) {
	cfg, err := ApplyRecipe("agn-approx", DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	at := func(p Phase, epoch int) float64 {
		return cfg.lrAt(p, optimizer.Position{Epoch: epoch, StepsPerEpoch: 10, Epochs: 10})
	}
	for _, c := range []struct {
		p     Phase
		epoch int
		want  float64
	}{{PhaseFloat, 5, 0.1}, {PhaseFloat, 6, 0.075}, {PhaseQAT, 1, 1e-3}, {PhaseApprox, 2, 1e-3}, {PhaseApprox, 3, 1e-4}, {PhaseApprox, 5, 1e-5}} {
		if got := at(c.p, c.epoch); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("lenet5 %s epoch %d: lr %g, want %g", c.p, c.epoch, got, c.want)
		}
	}
}

func TestRecipeErrors(t *testing.T) {
	cfg := DefaultConfig()
	if _, err := ApplyRecipe("torchapprox", cfg); err == nil || !strings.Contains(err.Error(), "agn-approx") {
		t.Errorf("unknown recipe: %v", err)
	}
	cfg.Model = "vgg16"
	if _, err := ApplyRecipe("agn-approx", cfg); err == nil || !strings.Contains(err.Error(), "resnet20") {
		t.Errorf("model without a protocol: %v", err)
	}
}

func TestPhaseSettingsErrors(t *testing.T) {
	cfg := DefaultConfig()
	neg := -0.5
	cfg.PhaseSettings = []PhaseSettings{
		{Phase: "warmup"},
		{Phase: PhaseQAT, Schedule: "multistep"},
		{Phase: PhaseApprox, Optimizer: "sgd", Momentum: &neg},
		{Phase: PhaseApprox},
	}
	err := cfg.Validate()
	for _, want := range []string{`unknown phase "warmup"`, "phase qat: the multistep schedule needs milestones",
		"phase approx: sgd momentum -0.5", "two sets of settings for phase approx"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// TestWithPhaseLR checks that a rate given for one phase wins over the
// recipe's phase settings and leaves the other phases and the original
// configuration alone.
func TestWithPhaseLR(t *testing.T) {
	base := DefaultConfig()
	base.Model, base.Dataset = "resnet20", "cifar10"
	cfg, err := ApplyRecipe("agn-approx", base)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.WithPhaseLR(PhaseApprox, 0.02)
	if lr := got.ForPhase(PhaseApprox).approxLR(); lr != 0.02 {
		t.Errorf("approximate phase rate %g, want 0.02", lr)
	}
	if lr := got.ForPhase(PhaseQAT).LR; lr != 0.01 {
		t.Errorf("QAT rate %g, want the recipe's 0.01", lr)
	}
	if lr := cfg.ForPhase(PhaseApprox).approxLR(); lr != 0.001 {
		t.Errorf("the original configuration changed: approximate rate %g", lr)
	}
	plain := DefaultConfig().WithPhaseLR(PhaseApprox, 0.5)
	if lr := plain.ForPhase(PhaseApprox).approxLR(); lr != 0.5 || plain.LR != DefaultConfig().LR {
		t.Errorf("without phase settings: approximate %g, run-wide %g", lr, plain.LR)
	}
}

// TestScheduleWarnings: the agn-approx protocol as published warns of
// nothing; shortened, its milestones fall beyond the phases and each phase
// says which; a warm-up longer than a phase is named too.
func TestScheduleWarnings(t *testing.T) {
	base := DefaultConfig()
	base.Model, base.Dataset, base.LUT = "resnet20", "cifar10", "mitchell:signed=true"
	cfg, err := ApplyRecipe("agn-approx", base)
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.ScheduleWarnings(); len(w) != 0 {
		t.Errorf("the published protocol warns: %q", w)
	}
	cfg.FloatEpochs, cfg.ApproxEpochs = 100, 4
	w := cfg.ScheduleWarnings()
	if len(w) != 2 || !strings.Contains(w[0], "float phase has 100 epochs, so its milestones 135 never lower its rate") ||
		!strings.Contains(w[1], "approximate phase has 4 epochs, so its milestones 4,8 never") {
		t.Errorf("shortened protocol: %q", w)
	}
	cfg.LUT, cfg.ApproxEpochs = "", 0           // no approximate phase: nothing to say about it
	cfg.FloatEpochs, cfg.WarmupEpochs = 180, 30 // reaches the rate in the last step of QAT
	if w := cfg.ScheduleWarnings(); len(w) != 0 {
		t.Errorf("a warm-up as long as QAT: %q", w)
	}
	cfg.WarmupEpochs = 31
	w = cfg.ScheduleWarnings()
	if len(w) != 1 || !strings.Contains(w[0], "warm-up of 31 epochs is longer than the QAT phase (30 epochs)") {
		t.Errorf("warm-up as long as QAT: %q", w)
	}

}
