package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
	"github.com/goapprox/goapprox/train/optimizer"
	"github.com/goapprox/goapprox/zoo"
)

// Config is everything that decides a training run's result. It is stored
// in every checkpoint and report, so a run can be repeated or resumed.
type Config struct {
	Model   string `json:"model"`
	Dataset string `json:"dataset"`
	// DataDir replaces the data set's default locations (dataset.Options).
	DataDir string `json:"data_dir,omitempty"`
	// ImageSize is the side an image folder's images are resized to
	// (dataset.Options.Size; 0: dataset.FolderDefaultSize). Registered
	// data sets have their own size and ignore it.
	ImageSize int `json:"image_size,omitempty"`
	// Augment is the training augmentation in dataset.ParseAugment's
	// syntax: "" or "default" for the data set's own (random crop and flip
	// for CIFAR and image folders, none for the MNIST-like sets), "none",
	// "crop=4+flip", ... The test set is never augmented.
	Augment string `json:"augment,omitempty"`
	// Limit uses only the first Limit training samples (0: all). The test
	// set is always used in full.
	Limit int `json:"limit,omitempty"`
	Batch int `json:"batch"`
	// LR is the learning rate of the float and QAT phases; ApproxLR that of
	// the noise phase and approximate fine-tuning (0: LR).
	LR       float64 `json:"lr"`
	ApproxLR float64 `json:"approx_lr,omitempty"`
	// Schedule is the learning rate within each phase: "constant",
	// "cosine" (annealed to 0 over the phase) or "multistep" (multiplied
	// by Gamma after each of Milestones).
	Schedule string `json:"schedule"`
	// Milestones are the epochs of each phase after which a multistep
	// schedule multiplies the rate by Gamma (0: optimizer.DefaultGamma).
	Milestones []int   `json:"milestones,omitempty"`
	Gamma      float64 `json:"gamma,omitempty"`
	// WarmupEpochs, when above 0, raise the rate linearly over the first
	// epochs of each phase, step by step, to what the schedule gives.
	WarmupEpochs int `json:"warmup_epochs,omitempty"`
	// Optimizer is "adam" (optimizer.DefaultAdam) or "sgd".
	Optimizer string `json:"optimizer"`
	// Momentum is SGD's momentum (nil: 0.9), WeightDecay its L2 penalty on
	// the weights of dense and convolution layers (biases and batch-norm
	// parameters get none), Nesterov its Nesterov momentum.
	Momentum    *float64 `json:"momentum,omitempty"`
	WeightDecay float64  `json:"weight_decay,omitempty"`
	Nesterov    bool     `json:"nesterov,omitempty"`
	// PhaseSettings override the settings above for single phases (a
	// protocol whose QAT or fine-tuning uses another rate, schedule or
	// weight decay than the float baseline).
	PhaseSettings []PhaseSettings `json:"phase_settings,omitempty"`
	// Recipe names the published protocol the configuration was made from
	// (ApplyRecipe), for reports; it changes nothing by itself.
	Recipe string `json:"recipe,omitempty"`
	// Seed decides the initial weights and the order of the batches.
	Seed uint64 `json:"seed"`
	// Quant is the quantization preset (quantize.PresetNames).
	Quant string `json:"quant"`
	// Threads bounds the approximate kernels' workers (0: all cores).
	Threads int `json:"threads"`

	FloatEpochs  int `json:"float_epochs"`
	QATEpochs    int `json:"qat_epochs"`
	ApproxEpochs int `json:"approx_epochs"`
	// QATObserveEpochs of the QAT epochs, the first ones, train with float
	// products while the observers watch (ops.Observe); fake quantization
	// starts after them, from ranges that have seen the data, as
	// agn-approx's QAT does (two such epochs). When it covers every QAT
	// epoch, the quantized accuracy is measured once after them.
	QATObserveEpochs int `json:"qat_observe_epochs,omitempty"`

	// NoiseEpochs is the length of the noise phase between QAT and the
	// approximate phase (0: none): training in Noise mode, each layer's
	// output plus N(0,1)·std(y)·sigma + mu, so that the network learns to
	// tolerate its multiplier's error before meeting it (agn-approx).
	// NoiseSigma and NoiseMu, when set, are every layer's sigma (relative to
	// std(y)) and mu (absolute); when nil, each layer's value is predicted by
	// the error model (package errmodel) from its multiplier (LUT,
	// LayerLUTs) and its operands on a few training batches.
	NoiseEpochs int      `json:"noise_epochs,omitempty"`
	NoiseSigma  *float64 `json:"noise_sigma,omitempty"`
	NoiseMu     *float64 `json:"noise_mu,omitempty"`

	// LUT is the multiplier of every layer in the approximate phase: a
	// multiplier spec (lut/multiplier) or a table file (.npy, .bin, .csv).
	// LayerLUTs override it for the layers their patterns match, in order.
	// With neither, the run stops after quantization-aware training.
	LUT       string     `json:"lut,omitempty"`
	LayerLUTs []LayerLUT `json:"layer_luts,omitempty"`
	// Gradient is the backward pass of the layers with a multiplier in
	// the approximate phase, as ops.ParseGradient reads it: "" or "ste"
	// for straight-through gradients, "table" or "table:window=H" for the
	// multiplier's own slopes. Other phases, and layers left without a
	// multiplier, always use straight-through gradients.
	Gradient string `json:"gradient,omitempty"`
}

// PhaseSettings override a run's optimizer and learning-rate settings in
// one phase. Zero fields keep the run's; a Schedule without Milestones or
// Gamma starts from none.
type PhaseSettings struct {
	Phase     Phase  `json:"phase"`
	Optimizer string `json:"optimizer,omitempty"`
	// LR is the phase's base rate (for the noise and approximate phases
	// it replaces Config.ApproxLR as well).
	LR          float64  `json:"lr,omitempty"`
	Schedule    string   `json:"schedule,omitempty"`
	Milestones  []int    `json:"milestones,omitempty"`
	Gamma       float64  `json:"gamma,omitempty"`
	Momentum    *float64 `json:"momentum,omitempty"`
	WeightDecay *float64 `json:"weight_decay,omitempty"`
}

// ForPhase returns the configuration as phase p sees it: the run's
// settings with p's PhaseSettings applied.
func (c Config) ForPhase(p Phase) Config {
	for _, ps := range c.PhaseSettings {
		if ps.Phase != p {
			continue
		}
		if ps.Optimizer != "" {
			c.Optimizer = ps.Optimizer
		}
		if ps.LR > 0 {
			c.LR, c.ApproxLR = ps.LR, ps.LR
		}
		if ps.Schedule != "" {
			c.Schedule, c.Milestones, c.Gamma = ps.Schedule, nil, 0
		}
		if ps.Milestones != nil {
			c.Milestones = ps.Milestones
		}
		if ps.Gamma != 0 {
			c.Gamma = ps.Gamma
		}
		if ps.Momentum != nil {
			c.Momentum = ps.Momentum
		}
		if ps.WeightDecay != nil {
			c.WeightDecay = *ps.WeightDecay
		}
	}
	return c
}

// WithPhaseLR returns the configuration with phase p's base learning rate
// set to lr, whatever set it before (the run-wide rate for the float and
// QAT phases, ApproxLR for the noise and approximate phases, or p's
// PhaseSettings).
func (c Config) WithPhaseLR(p Phase, lr float64) Config {
	switch p {
	case PhaseNoise, PhaseApprox:
		c.ApproxLR = lr
	default:
		c.LR = lr
	}
	settings := slices.Clone(c.PhaseSettings)
	for i := range settings {
		if settings[i].Phase == p && settings[i].LR != 0 {
			settings[i].LR = lr
		}
	}
	c.PhaseSettings = settings
	return c
}

// LayerLUT assigns a multiplier to the layers whose names match Layer (a
// glob pattern, path.Match syntax).
type LayerLUT struct {
	Layer string `json:"layer"`
	LUT   string `json:"lut"`
}

// ParseLayerLUT parses "NAME=SPEC|FILE".
func ParseLayerLUT(s string) (LayerLUT, error) {
	name, spec, ok := strings.Cut(s, "=")
	name, spec = strings.TrimSpace(name), strings.TrimSpace(spec)
	if !ok || name == "" || spec == "" {
		return LayerLUT{}, fmt.Errorf("layer multiplier %q: want NAME=SPEC or NAME=FILE, e.g. conv2=drum:k=3,signed=true", s)
	}
	return LayerLUT{Layer: name, LUT: spec}, nil
}

func (l LayerLUT) String() string { return l.Layer + "=" + l.LUT }

// DefaultConfig is LeNet-5 on MNIST: 8 epochs of QAT with Adam at 1e-3,
// batch 64, the torchapprox quantization preset, no approximate phase.
func DefaultConfig() Config {
	return Config{
		Model: "lenet5", Dataset: "mnist", Batch: 64, LR: 1e-3, Schedule: "constant",
		Optimizer: "adam", Seed: 1, Quant: "torchapprox", QATEpochs: 8,
	}
}

// Optimizers lists the optimizer names Config accepts.
func Optimizers() []string { return []string{"adam", "sgd"} }

// Schedules lists the learning-rate schedules Config accepts.
func Schedules() []string { return []string{"constant", "cosine", "multistep"} }

// sgd is the SGD settings the configuration gives.
func (c Config) sgd() optimizer.SGD {
	s := optimizer.DefaultSGD()
	if c.Momentum != nil {
		s.Momentum = *c.Momentum
	}
	s.WeightDecay, s.Nesterov = c.WeightDecay, c.Nesterov
	return s
}

// newOptimizer returns a fresh optimizer of the configured kind.
func (c Config) newOptimizer() (*optimizer.Optimizer, error) {
	switch c.Optimizer {
	case "adam":
		return optimizer.NewAdam(optimizer.DefaultAdam())
	case "sgd":
		return optimizer.NewSGD(c.sgd())
	}
	return nil, fmt.Errorf("unknown optimizer %q; optimizers: %s", c.Optimizer, strings.Join(Optimizers(), ", "))
}

// schedule is the configured learning-rate schedule.
func (c Config) schedule() optimizer.Schedule {
	var s optimizer.Schedule = optimizer.Constant{}
	switch c.Schedule {
	case "cosine":
		s = optimizer.Cosine{}
	case "multistep":
		s = c.multiStep()
	}
	if c.WarmupEpochs > 0 {
		s = optimizer.Warmup{Epochs: c.WarmupEpochs, Then: s}
	}
	return s
}

func (c Config) multiStep() optimizer.MultiStep {
	g := c.Gamma
	if g == 0 {
		g = optimizer.DefaultGamma
	}
	return optimizer.MultiStep{Milestones: c.Milestones, Gamma: g}
}

// PhaseEpochs is the configured length of phase p.
func (c Config) PhaseEpochs(p Phase) int {
	switch p {
	case PhaseFloat:
		return c.FloatEpochs
	case PhaseQAT:
		return c.QATEpochs
	case PhaseNoise:
		return c.NoiseEpochs
	}
	return c.ApproxEpochs
}

// ScheduleWarnings says where the schedule of a phase that runs cannot do
// what its settings suggest: a milestone at or after the phase's last
// epoch never lowers the rate, and a warm-up longer than the phase never
// reaches the scheduled rate. Both are legal (a protocol shortened for a
// quick run), so they are warnings, not errors.
func (c Config) ScheduleWarnings() []string {
	var w []string
	names := map[Phase]string{PhaseFloat: "float", PhaseQAT: "QAT", PhaseNoise: "noise", PhaseApprox: "approximate"}
	for _, p := range Phases() {
		n := c.PhaseEpochs(p)
		if n == 0 || p == PhaseApprox && !c.HasApprox() {
			continue
		}
		pc := c.ForPhase(p)
		if pc.Schedule == "multistep" {
			var late []string
			for _, m := range pc.Milestones {
				if m >= n {
					late = append(late, strconv.Itoa(m))
				}
			}
			if len(late) > 0 {
				w = append(w, fmt.Sprintf("the %s phase has %s, so its milestones %s never lower its rate",
					names[p], epochCount(n), strings.Join(late, ",")))
			}
		}
		if pc.WarmupEpochs > n {
			w = append(w, fmt.Sprintf("the warm-up of %s is longer than the %s phase (%s), whose rate then never reaches the schedule's",
				epochCount(pc.WarmupEpochs), names[p], epochCount(n)))
		}
	}
	return w
}

func epochCount(n int) string {
	if n == 1 {
		return "1 epoch"
	}
	return strconv.Itoa(n) + " epochs"
}

// lrAt is the learning rate at a position of phase p: the phase's base
// rate (the approximate-phase rate for the noise and approximate phases)
// through the phase's schedule.
func (c Config) lrAt(p Phase, pos optimizer.Position) float64 {
	return c.ForPhase(p).schedule().LR(c.PhaseLR(p), pos)
}

// PhaseLR is the base learning rate of phase p, before its schedule: the
// phase's own from PhaseSettings, else the approximate-phase rate for the
// noise and approximate phases and the run-wide rate for the others.
func (c Config) PhaseLR(p Phase) float64 {
	pc := c.ForPhase(p)
	if p == PhaseApprox || p == PhaseNoise {
		return pc.approxLR()
	}
	return pc.LR
}

// approxLR is the learning rate of the approximate phase.
func (c Config) approxLR() float64 {
	if c.ApproxLR > 0 {
		return c.ApproxLR
	}
	return c.LR
}

// HasApprox reports whether the run has an approximate phase.
func (c Config) HasApprox() bool { return c.LUT != "" || len(c.LayerLUTs) > 0 }

// Validate checks the configuration of a run of a zoo model on a data set
// of package dataset, and says what is wrong and what exists.
func (c Config) Validate() error { return c.validate(false, false) }

// validate checks the configuration; a model of the user's own (WithModel)
// is not looked up in the zoo, nor a data set of their own (WithData) in
// package dataset.
func (c Config) validate(ownModel, ownData bool) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var m zoo.Model
	var err error
	if !ownModel {
		if m, err = zoo.Lookup(c.Model); err != nil {
			errs = append(errs, err)
		}
	} else if c.Model == "" {
		bad("name the model (Config.Model): reports and checkpoints carry its name")
	}
	info, err := c.dataInfo()
	if err != nil && !ownData {
		errs = append(errs, err)
	}
	if err == nil {
		if _, err := dataset.ParseAugment(c.Augment, info); err != nil {
			errs = append(errs, err)
		}
	}
	// A folder's size is checked by the data set's description above.
	if c.ImageSize != 0 && !dataset.IsFolder(c.Dataset) {
		bad("image size %d applies to image folders (folder:DIR) only: %s has images of its own size", c.ImageSize, c.Dataset)
	}
	if m.Name != "" && info.Name != "" {
		if err := m.Accepts(zoo.InputOf(info)); err != nil {
			takes := "it takes none of the registered data sets, only an image folder (folder:DIR) of a size it accepts"
			if sets := m.Datasets(); len(sets) > 0 {
				takes = "it takes " + strings.Join(sets, ", ") + ", or an image folder (folder:DIR) of a size it accepts"
			}
			if dataset.IsFolder(c.Dataset) {
				takes += "; -image-size sets the size an image folder is resized to"
			}
			bad("model %s cannot take %s images: %v (%s)", c.Model, c.Dataset, err, takes)
		}
	}
	if _, err := quantize.PresetByName(c.Quant); err != nil {
		errs = append(errs, err)
	}
	if !contains(Optimizers(), c.Optimizer) {
		bad("unknown optimizer %q; optimizers: %s", c.Optimizer, strings.Join(Optimizers(), ", "))
	}
	if !contains(Schedules(), c.Schedule) {
		bad("unknown learning-rate schedule %q; schedules: %s", c.Schedule, strings.Join(Schedules(), ", "))
	}
	errs = append(errs, c.validateOptimizer()...)
	errs = append(errs, c.validatePhaseSettings()...)
	if c.Batch <= 0 {
		bad("batch size %d must be positive", c.Batch)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad("learning rate %v must be a positive number", c.LR)
	}
	if c.ApproxLR < 0 || math.IsNaN(c.ApproxLR) || math.IsInf(c.ApproxLR, 0) {
		bad("approximate-phase learning rate %v must be a positive number (or 0 for the main one)", c.ApproxLR)
	}
	if c.Limit < 0 {
		bad("limit %d must not be negative (0 uses every training sample)", c.Limit)
	}
	if c.Limit > 0 && c.Limit < c.Batch {
		bad("limit %d is smaller than one batch of %d: lower -batch or raise -limit", c.Limit, c.Batch)
	}
	if c.Threads < 0 {
		bad("threads %d must not be negative (0 uses every core)", c.Threads)
	}
	if c.FloatEpochs < 0 || c.QATEpochs < 0 || c.NoiseEpochs < 0 || c.ApproxEpochs < 0 {
		bad("epoch counts must not be negative (float %d, QAT %d, noise %d, approximate %d)", c.FloatEpochs, c.QATEpochs, c.NoiseEpochs, c.ApproxEpochs)
	}
	if c.QATObserveEpochs < 0 {
		bad("observer-only QAT epochs %d must not be negative (0: QAT quantizes from its first step)", c.QATObserveEpochs)
	}
	errs = append(errs, c.validateNoise()...)
	if _, err := ops.ParseGradient(c.Gradient); err != nil {
		errs = append(errs, err)
	}
	if c.ApproxEpochs > 0 && !c.HasApprox() {
		bad("%d approximate epochs but no multiplier: give a LUT (-lut) or per-layer LUTs (-layer-lut), or 0 approximate epochs", c.ApproxEpochs)
	}
	if c.FloatEpochs+c.QATEpochs+c.NoiseEpochs == 0 && !c.HasApprox() {
		bad("nothing to do: no float or QAT epochs and no multiplier to evaluate")
	}
	return errors.Join(errs...)
}

// dataOptions are where and how the data set is read.
func (c Config) dataOptions() dataset.Options {
	return dataset.Options{Dir: c.DataDir, Size: c.ImageSize}
}

// dataInfo describes the configured data set (an image folder's classes
// are listed from its directories, no image is read).
func (c Config) dataInfo() (dataset.Info, error) {
	return dataset.Describe(c.Dataset, c.dataOptions())
}

// validateOptimizer checks the optimizer's and the schedule's settings.
func (c Config) validateOptimizer() []error {
	var errs []error
	if c.Optimizer == "sgd" {
		if err := c.sgd().Validate(); err != nil {
			errs = append(errs, err)
		}
	} else if c.Momentum != nil || c.WeightDecay != 0 || c.Nesterov {
		errs = append(errs, fmt.Errorf("momentum, weight decay and nesterov are SGD settings, and the optimizer is %q: use -optimizer sgd", c.Optimizer))
	}
	if c.Schedule == "multistep" {
		if len(c.Milestones) == 0 {
			errs = append(errs, errors.New("the multistep schedule needs milestones (epochs after which the rate drops), e.g. -milestones 100,150"))
		} else if err := c.multiStep().Validate(); err != nil {
			errs = append(errs, err)
		}
	} else if len(c.Milestones) > 0 || c.Gamma != 0 {
		errs = append(errs, fmt.Errorf("milestones and gamma belong to the multistep schedule, and the schedule is %q: use -schedule multistep", c.Schedule))
	}
	if c.WarmupEpochs < 0 {
		errs = append(errs, fmt.Errorf("warm-up epochs %d must not be negative", c.WarmupEpochs))
	}
	return errs
}

// validatePhaseSettings checks each phase's overrides and the settings
// they make.
func (c Config) validatePhaseSettings() []error {
	var errs []error
	seen := map[Phase]bool{}
	for _, ps := range c.PhaseSettings {
		if ps.Phase.index() < 0 {
			errs = append(errs, fmt.Errorf("phase settings for an unknown phase %q; phases: %v", ps.Phase, Phases()))
			continue
		}
		if seen[ps.Phase] {
			errs = append(errs, fmt.Errorf("two sets of settings for phase %s: give one", ps.Phase))
		}
		seen[ps.Phase] = true
		if ps.LR < 0 || math.IsNaN(ps.LR) || math.IsInf(ps.LR, 0) {
			errs = append(errs, fmt.Errorf("phase %s: learning rate %v must be a positive number (or 0 for the run's)", ps.Phase, ps.LR))
		}
		pc := c.ForPhase(ps.Phase)
		if !contains(Optimizers(), pc.Optimizer) {
			errs = append(errs, fmt.Errorf("phase %s: unknown optimizer %q; optimizers: %s", ps.Phase, pc.Optimizer, strings.Join(Optimizers(), ", ")))
		}
		if !contains(Schedules(), pc.Schedule) {
			errs = append(errs, fmt.Errorf("phase %s: unknown learning-rate schedule %q; schedules: %s", ps.Phase, pc.Schedule, strings.Join(Schedules(), ", ")))
		}
		for _, err := range pc.validateOptimizer() {
			errs = append(errs, fmt.Errorf("phase %s: %w", ps.Phase, err))
		}
	}
	return errs
}

// validateNoise checks the noise phase's settings.
func (c Config) validateNoise() []error {
	var errs []error
	if s := c.NoiseSigma; s != nil && (!(*s >= 0) || math.IsInf(*s, 0)) {
		errs = append(errs, fmt.Errorf("noise sigma %v must be a finite number >= 0 (relative to the std of each layer's output)", *s))
	}
	if m := c.NoiseMu; m != nil && (math.IsNaN(*m) || math.IsInf(*m, 0)) {
		errs = append(errs, fmt.Errorf("noise mu %v must be a finite number", *m))
	}
	if c.NoiseEpochs == 0 && (c.NoiseSigma != nil || c.NoiseMu != nil) {
		errs = append(errs, errors.New("noise sigma or mu given without noise epochs: add -noise-epochs N, or drop -noise-sigma/-noise-mu"))
	}
	if c.NoiseEpochs > 0 && !c.HasApprox() && c.NoiseSigma == nil {
		errs = append(errs, fmt.Errorf("%d noise epochs but nothing to take the noise from: give the multiplier it stands in for (-lut, -layer-lut), whose error model predicts each layer's sigma and mu, or give -noise-sigma (and -noise-mu)", c.NoiseEpochs))
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
