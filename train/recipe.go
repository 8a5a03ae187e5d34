package train

import (
	"fmt"
	"slices"
	"strings"
)

// Recipes lists the published training protocols ApplyRecipe knows.
func Recipes() []string { return []string{"agn-approx"} }

// agnResNets are the CIFAR ResNets agn-approx's protocol is written for
// (its nets/resnet.py); the deeper ones of the same family train the same
// way in He et al.
var agnResNets = []string{"resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56"}

// ApplyRecipe returns cfg with the phase lengths, optimizers, learning rates
// and schedules of a published protocol for cfg.Model; the model, data set,
// quantization, multipliers, seed and threads stay as cfg has them.
//
// "agn-approx" is the protocol of agn-approx (Trommer et al.), read from its
// model definitions:
//   - CIFAR ResNets: batch 128; float baseline 180 epochs of SGD (lr 0.1,
//     momentum 0.9, weight decay 1e-4, x0.1 after epochs 90 and 135); QAT
//     30 epochs of SGD (lr 0.01, momentum 0.9, x0.1 every 10); the noise
//     phase (the gradient search's) SGD lr 0.01, x0.1 every 10; approximate
//     retraining 10 epochs of SGD (lr 0.001, momentum 0.9, x0.1 every 4).
//     Weight decay is the float baseline's only; the later phases have
//     none.
//   - LeNet-5: float 10 epochs of SGD (lr 0.1, momentum 0.9, weight decay
//     1e-4, x0.75 after epoch 5); QAT 1 epoch of SGD lr 1e-3; noise SGD lr
//     1e-3; approximate retraining 5 epochs of SGD lr 1e-3, x0.1 every 2.
//
// In both, the first two QAT epochs train with float products while the
// observers watch (Config.QATObserveEpochs), and fake quantization starts
// in the third, as agn-approx switches it on; LeNet-5's one QAT epoch thus
// only observes, and the quantized accuracy is measured after it. One
// step differs: agn-approx leaves the observers running in the noise and
// approximate phases, while GoApprox freezes the quantization after QAT,
// so that the products a multiplier sees keep one scale (see SetPhase).
//
// Flags of cmd/train given beside a recipe replace its settings in every
// phase it sets them for (see cmd/train).
//
// agn-approx trains VGG and MobileNetV2 from pretrained ImageNet weights
// with a plateau schedule, neither of which GoApprox has: those models get
// an error, not a different protocol under the same name.
func ApplyRecipe(name string, cfg Config) (Config, error) {
	if name != "agn-approx" {
		return cfg, fmt.Errorf("unknown recipe %q; recipes: %s", name, strings.Join(Recipes(), ", "))
	}
	zero := 0.0
	cfg.Recipe = name
	cfg.Optimizer, cfg.Momentum, cfg.Nesterov, cfg.WarmupEpochs = "sgd", nil, false, 0
	cfg.Schedule, cfg.ApproxLR = "multistep", 0
	switch {
	case slices.Contains(agnResNets, cfg.Model):
		cfg.Batch = 128
		cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 180, 30, 10
		cfg.QATObserveEpochs = 2
		cfg.LR, cfg.WeightDecay, cfg.Milestones, cfg.Gamma = 0.1, 1e-4, []int{90, 135}, 0
		cfg.PhaseSettings = []PhaseSettings{
			{Phase: PhaseQAT, LR: 0.01, Schedule: "multistep", Milestones: []int{10, 20}, WeightDecay: &zero},
			{Phase: PhaseNoise, LR: 0.01, Schedule: "multistep", Milestones: []int{10, 20}, WeightDecay: &zero},
			{Phase: PhaseApprox, LR: 0.001, Schedule: "multistep", Milestones: []int{4, 8}, WeightDecay: &zero},
		}
	case cfg.Model == "lenet5":
		cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 10, 1, 5
		cfg.QATObserveEpochs = 2
		cfg.LR, cfg.WeightDecay, cfg.Milestones, cfg.Gamma = 0.1, 1e-4, []int{5}, 0.75
		cfg.PhaseSettings = []PhaseSettings{
			{Phase: PhaseQAT, LR: 1e-3, Schedule: "constant", WeightDecay: &zero},
			{Phase: PhaseNoise, LR: 1e-3, Schedule: "constant", WeightDecay: &zero},
			{Phase: PhaseApprox, LR: 1e-3, Schedule: "multistep", Milestones: []int{2, 4}, WeightDecay: &zero},
		}
	default:
		return cfg, fmt.Errorf("recipe %s has no protocol for model %s; it has one for %s and lenet5 (agn-approx trains VGG and MobileNetV2 from pretrained weights with a plateau schedule): set the phases with flags instead",
			name, cfg.Model, strings.Join(agnResNets, ", "))
	}
	return cfg, nil
}
