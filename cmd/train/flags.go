package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/train"
)

// Quick defaults: with no flags the command must finish in about three
// minutes on two cores, so it uses half of MNIST's training set, two QAT
// epochs and one approximate epoch. docs/results.md has the full runs.
const (
	defaultLimit = 30000
	// quickDataset is the data set of the quick first run, the only one
	// defaultLimit applies to.
	quickDataset        = "mnist"
	defaultQATEpochs    = 2
	defaultApproxEpochs = 1
	// defaultLUT is a built-in whose drop is plain on LeNet-5 (about 25
	// points) and which one approximate epoch mostly recovers.
	defaultLUT = "trunc:t=9,signed=true"
	// noLUT disables the approximate phase.
	noLUT = "none"
)

// options are the parsed command line.
type options struct {
	cfg    train.Config
	out    string
	resume bool
	quiet  bool
	set    map[string]bool // flags given explicitly
}

// layerLUTs collects repeated -layer-lut flags.
type layerLUTs []train.LayerLUT

func (l *layerLUTs) String() string {
	parts := make([]string, len(*l))
	for i, x := range *l {
		parts[i] = x.String()
	}
	return strings.Join(parts, " ")
}

func (l *layerLUTs) Set(s string) error {
	x, err := train.ParseLayerLUT(s)
	if err != nil {
		return err
	}
	*l = append(*l, x)
	return nil
}

const usage = `train trains a model with quantization-aware training, then evaluates and
fine-tunes it with an approximate multiplier.

Usage: train [options]
       train SUBCOMMAND [options]   (train SUBCOMMAND -h for its options)

Subcommands measure a model trained before: sweep (every multiplier of a
list, sharded on a cluster), merge (a sharded sweep's folders), search
(agn-approx's gradient search), sensitivity and assign (per-layer choice
under a budget), compare (runs side by side), models (the zoo).

With no options it trains LeNet-5 on MNIST (quick defaults: the first %d
training samples, %d QAT epochs, %d approximate epoch with %s); the
test set is always used in full. For a full run: -limit 0 -qat-epochs 6 -schedule cosine.
Other data sets train on all their samples unless -limit is given.

Options:
`

// parseFlags parses the command line into options. now names the default
// run folder.
func parseFlags(args []string, stderr io.Writer, now time.Time) (*options, error) {
	o := &options{cfg: train.DefaultConfig(), set: map[string]bool{}}
	c := &o.cfg
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, defaultLimit, defaultQATEpochs, defaultApproxEpochs, defaultLUT)
		fs.PrintDefaults()
	}
	var layers layerLUTs
	var noiseSigma, noiseMu, momentum float64
	var milestones string
	fs.StringVar(&c.Model, "model", c.Model, "model: "+strings.Join(modelNames(), ", "))
	fs.StringVar(&c.Dataset, "dataset", c.Dataset, "data set: "+strings.Join(datasetNames(), ", ")+", or folder:DIR (an image folder with train/ and val/)")
	fs.StringVar(&c.DataDir, "data", "", "directory to look for the data set files in (default: the standard locations)")
	fs.IntVar(&c.ImageSize, "image-size", 0, "side an image folder's images are resized to (-dataset folder:DIR; default 64)")
	fs.StringVar(&c.Augment, "augment", "", dataset.AugmentHelp+" (empty: default)")
	fs.IntVar(&c.FloatEpochs, "float-epochs", 0, "epochs of float training before QAT")
	fs.IntVar(&c.QATEpochs, "qat-epochs", defaultQATEpochs, "epochs of quantization-aware training with exact products")
	fs.IntVar(&c.QATObserveEpochs, "qat-observe-epochs", 0, "of the QAT epochs, the first `N` train with float products while the observers watch; quantization starts after them (agn-approx: 2)")
	fs.IntVar(&c.NoiseEpochs, "noise-epochs", 0, "epochs of training with Gaussian noise standing in for the multiplier, between QAT and the approximate phase")
	fs.Float64Var(&noiseSigma, "noise-sigma", 0, "noise phase: every layer's sigma, relative to the std of its output (default: predicted per layer by the error model from the multiplier)")
	fs.Float64Var(&noiseMu, "noise-mu", 0, "noise phase: every layer's mu, in output units (default: predicted per layer by the error model, 0 without a multiplier)")
	fs.IntVar(&c.ApproxEpochs, "approx-epochs", defaultApproxEpochs, "epochs of fine-tuning with the approximate multiplier")
	fs.StringVar(&c.LUT, "lut", defaultLUT, "multiplier of every layer: a spec (see go run ./cmd/lut list) or a table file (.npy, .bin, .csv); \"none\" for no approximate phase")
	fs.Var(&layers, "layer-lut", "`NAME=SPEC|FILE`: multiplier of the layers matching NAME (a glob); repeatable, overrides -lut")
	fs.StringVar(&c.Gradient, "grad", "", "`ste|table[:window=H]`: backward pass of the approximate phase: straight-through (default) or the multiplier's own slopes, smoothed with half-width H (default "+ops.DefaultGradientWindow.String()+")")
	fs.StringVar(&c.Quant, "quant", c.Quant, "quantization preset: "+strings.Join(presetNames(), ", "))
	fs.IntVar(&c.Batch, "batch", c.Batch, "batch size")
	fs.Float64Var(&c.LR, "lr", c.LR, "learning rate")
	fs.Float64Var(&c.ApproxLR, "approx-lr", 0, "learning rate of the noise and approximate phases (default: -lr)")
	fs.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate schedule within each phase: "+strings.Join(train.Schedules(), ", "))
	fs.StringVar(&c.Optimizer, "optimizer", c.Optimizer, "optimizer: "+strings.Join(train.Optimizers(), ", "))
	fs.Float64Var(&momentum, "momentum", 0.9, "SGD momentum")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0, "SGD weight decay (L2) of the dense and convolution weights; biases and batch norm get none")
	fs.BoolVar(&c.Nesterov, "nesterov", false, "SGD with Nesterov momentum")
	fs.StringVar(&milestones, "milestones", "", "`E1,E2,...`: epochs of each phase after which the multistep schedule multiplies the rate by -gamma")
	fs.Float64Var(&c.Gamma, "gamma", 0, "multistep schedule: factor at each milestone (default 0.1)")
	fs.IntVar(&c.WarmupEpochs, "warmup-epochs", 0, "epochs at the start of each phase over which the rate rises linearly to the schedule's")
	var recipe string
	fs.StringVar(&recipe, "recipe", "", "`NAME` of a published protocol that sets the phases, optimizers, rates and schedules ("+strings.Join(train.Recipes(), ", ")+"); flags given beside it replace its settings in every phase (-lr: the float and QAT rate, -approx-lr: the noise and approximate rate), and it trains on all the data unless -limit is given")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the initial weights and the batch order")
	fs.IntVar(&c.Limit, "limit", defaultLimit, "use only the first `N` training samples (0: all); the default applies to mnist, the quick first run: other data sets use all their samples unless -limit is given")
	fs.IntVar(&c.Threads, "threads", 0, "worker threads (0: all cores); also sets GOMAXPROCS")
	fs.StringVar(&o.out, "out", "", "run folder (default runs/MODEL-DATASET-TIME)")
	fs.BoolVar(&o.resume, "resume", false, "continue the run in -out from its last checkpoint")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bars (they are off anyway when stdout is not a terminal)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		if len(args) > 0 && args[0] == fs.Arg(0) {
			return nil, fmt.Errorf("unknown subcommand %q: the subcommands are %s; options start with -", fs.Arg(0), strings.Join(subcommandNames(), ", "))
		}
		return nil, fmt.Errorf("unexpected argument %q: options start with -", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	var err error
	if c.DataDir, err = absData(c.DataDir); err != nil {
		return nil, err
	}
	if !o.set["limit"] && c.Dataset != quickDataset {
		c.Limit = 0
	}
	c.LayerLUTs = layers
	if o.set["noise-sigma"] {
		c.NoiseSigma = &noiseSigma
	}
	if o.set["noise-mu"] {
		c.NoiseMu = &noiseMu
	}
	if c.LUT == noLUT {
		c.LUT = ""
	}
	g, err := canonicalGradient(c.Gradient)
	if err != nil {
		return nil, fmt.Errorf("-grad: %w", err)
	}
	c.Gradient = g
	if o.set["momentum"] {
		c.Momentum = &momentum
	}
	if o.set["milestones"] {
		m, err := parseMilestones(milestones)
		if err != nil {
			return nil, err
		}
		c.Milestones = m
	}
	if o.set["recipe"] {
		rc, err := train.ApplyRecipe(recipe, *c)
		if err != nil {
			return nil, err
		}
		if !o.set["limit"] {
			rc.Limit = 0
		}
		for _, name := range configFlags {
			if o.set[name] && name != "recipe" {
				copyFlag(name, &rc, *c)
			}
		}
		overridePhases(&rc, o.set)
		*c = rc
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.out == "" {
		o.out = fmt.Sprintf("runs/%s-%s-%s", c.Model, folderWord(c.Dataset), now.Format("20060102-150405"))
	}
	return o, nil
}

// errDataWithFolder refuses -data beside an image folder, which it would
// not change.
var errDataWithFolder = errors.New("-data is where registered data sets' files are looked for; an image folder is read from the path in folder:DIR: drop -data or put the folder's path there")

// check rejects contradictory flags with a message saying what to do.
func (o *options) check() error {
	c := o.cfg
	var errs []error
	if o.resume && !o.set["out"] {
		errs = append(errs, errors.New("-resume needs -out DIR, the run folder to continue"))
	}
	if o.set["data"] && dataset.IsFolder(c.Dataset) {
		errs = append(errs, errDataWithFolder)
	}
	if o.resume && o.set["recipe"] {
		errs = append(errs, errors.New("-resume continues a run with the settings its checkpoint holds, recipe included: drop -recipe"))
	}
	if o.set["approx-epochs"] && c.ApproxEpochs > 0 && !c.HasApprox() {
		errs = append(errs, fmt.Errorf("-approx-epochs %d with -lut none and no -layer-lut: there is no multiplier to fine-tune with", c.ApproxEpochs))
	}
	if o.set["approx-lr"] && !c.HasApprox() && c.NoiseEpochs == 0 {
		errs = append(errs, errors.New("-approx-lr without a multiplier (-lut none) or noise epochs: there is no noise or approximate phase"))
	}
	if c.Gradient != "" && !c.HasApprox() {
		errs = append(errs, errors.New("-grad table without a multiplier (-lut none): table gradients act in the approximate phase only"))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if !c.HasApprox() {
		// No multiplier: the quick default of approximate epochs lapses.
		o.cfg.ApproxEpochs = 0
	}
	if o.resume {
		return nil // the checkpoint's configuration is checked later
	}
	return o.cfg.Validate()
}

// overridePhases makes the flags given beside a recipe replace what the
// recipe set per phase as well as run-wide: -lr is the rate of the float
// and QAT phases, -approx-lr that of the noise and approximate phases;
// -weight-decay, -momentum, -milestones and -gamma apply to every phase. A
// schedule or optimizer of the user's drops the recipe's settings that
// belong to the one it replaces (milestones and gamma to multistep,
// momentum and weight decay to SGD), unless those are given too.
func overridePhases(c *train.Config, set map[string]bool) {
	if set["lr"] {
		*c = c.WithPhaseLR(train.PhaseQAT, c.LR)
	}
	if set["approx-lr"] {
		*c = c.WithPhaseLR(train.PhaseNoise, c.ApproxLR).WithPhaseLR(train.PhaseApprox, c.ApproxLR)
	}
	if set["schedule"] && c.Schedule != "multistep" {
		if !set["milestones"] {
			c.Milestones = nil
		}
		if !set["gamma"] {
			c.Gamma = 0
		}
	}
	if set["optimizer"] && c.Optimizer != "sgd" {
		if !set["weight-decay"] {
			c.WeightDecay = 0
		}
		if !set["momentum"] {
			c.Momentum = nil
		}
	}
	settings := slices.Clone(c.PhaseSettings)
	for i := range settings {
		ps := &settings[i]
		if set["schedule"] && ps.Schedule != c.Schedule {
			ps.Schedule, ps.Milestones, ps.Gamma = c.Schedule, nil, 0
		}
		if set["milestones"] {
			ps.Milestones = c.Milestones
		}
		if set["gamma"] {
			ps.Gamma = c.Gamma
		}
		if set["optimizer"] {
			ps.Optimizer = ""
		}
		if set["weight-decay"] || set["optimizer"] && c.Optimizer != "sgd" {
			wd := c.WeightDecay
			ps.WeightDecay = &wd
		}
		if set["momentum"] || set["optimizer"] && c.Optimizer != "sgd" {
			ps.Momentum = c.Momentum
		}
	}
	c.PhaseSettings = settings
}

// configFlags are the flags that change a run's result; on -resume they
// must agree with the checkpoint.
var configFlags = []string{"model", "dataset", "float-epochs", "qat-epochs", "qat-observe-epochs", "noise-epochs", "noise-sigma", "noise-mu",
	"approx-epochs", "lut", "layer-lut", "grad",
	"quant", "batch", "lr", "approx-lr", "schedule", "optimizer", "seed", "limit",
	"momentum", "weight-decay", "nesterov", "milestones", "gamma", "warmup-epochs", "augment", "image-size"}

// canonicalGradient reads a -grad value into the form configurations
// record: "" for straight-through, "table:window=H" for table gradients, so
// that equal choices compare equal when a run is resumed.
func canonicalGradient(s string) (string, error) {
	g, err := ops.ParseGradient(s)
	if err != nil {
		return "", err
	}
	if g == (ops.Gradient{}) {
		return "", nil
	}
	return g.String(), nil
}

// absData makes a -data folder absolute: the checkpoint and the sweep and
// search records keep it, and later commands, run from another folder,
// read the data from there or compare it with their own -data.
func absData(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("-data %s: %w", dir, err)
	}
	return abs, nil
}

// parseMilestones parses "E1,E2,...".
func parseMilestones(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		e, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-milestones %q: want epochs separated by commas, e.g. 100,150", s)
		}
		out = append(out, e)
	}
	return out, nil
}

// resumeConfig is the checkpoint's configuration with the data directory
// and threads of this command line. Flags that change the result may be
// repeated but must agree with the checkpoint.
func (o *options) resumeConfig(ck train.Config) (train.Config, error) {
	given := ck
	var named []string
	for _, name := range configFlags {
		if o.set[name] {
			copyFlag(name, &given, o.cfg)
			// Name the flags that differ, not every flag repeated.
			one := ck
			copyFlag(name, &one, o.cfg)
			if train.SameRun(ck, one) != nil {
				named = append(named, "-"+name)
			}
		}
	}
	if err := train.SameRun(ck, given); err != nil {
		return ck, fmt.Errorf("-resume continues a run as it was configured; drop %s or start a new run (another -out): %w",
			strings.Join(named, ", "), err)
	}
	cfg := ck
	if o.set["data"] {
		cfg.DataDir = o.cfg.DataDir
	}
	if o.set["threads"] {
		cfg.Threads = o.cfg.Threads
	}
	return cfg, cfg.Validate()
}

// copyFlag copies the field a flag sets from src to dst.
func copyFlag(name string, dst *train.Config, src train.Config) {
	switch name {
	case "model":
		dst.Model = src.Model
	case "dataset":
		dst.Dataset = src.Dataset
	case "float-epochs":
		dst.FloatEpochs = src.FloatEpochs
	case "qat-epochs":
		dst.QATEpochs = src.QATEpochs
	case "qat-observe-epochs":
		dst.QATObserveEpochs = src.QATObserveEpochs
	case "noise-epochs":
		dst.NoiseEpochs = src.NoiseEpochs
	case "noise-sigma":
		dst.NoiseSigma = src.NoiseSigma
	case "noise-mu":
		dst.NoiseMu = src.NoiseMu
	case "approx-epochs":
		dst.ApproxEpochs = src.ApproxEpochs
	case "lut":
		dst.LUT = src.LUT
	case "layer-lut":
		dst.LayerLUTs = src.LayerLUTs
	case "grad":
		dst.Gradient = src.Gradient
	case "quant":
		dst.Quant = src.Quant
	case "batch":
		dst.Batch = src.Batch
	case "lr":
		dst.LR = src.LR
	case "approx-lr":
		dst.ApproxLR = src.ApproxLR
	case "schedule":
		dst.Schedule = src.Schedule
	case "optimizer":
		dst.Optimizer = src.Optimizer
	case "augment":
		dst.Augment = src.Augment
	case "image-size":
		dst.ImageSize = src.ImageSize
	case "seed":
		dst.Seed = src.Seed
	case "limit":
		dst.Limit = src.Limit
	case "momentum":
		dst.Momentum = src.Momentum
	case "weight-decay":
		dst.WeightDecay = src.WeightDecay
	case "nesterov":
		dst.Nesterov = src.Nesterov
	case "milestones":
		dst.Milestones = src.Milestones
	case "gamma":
		dst.Gamma = src.Gamma
	case "warmup-epochs":
		dst.WarmupEpochs = src.WarmupEpochs
	}
}

// folderWord is a data set's name as a part of a folder name: an image
// folder (folder:DIR) is named by its last path element.
func folderWord(name string) string {
	if dir, ok := strings.CutPrefix(name, "folder:"); ok {
		base := filepath.Base(filepath.Clean(dir))
		if base == "." || base == string(filepath.Separator) {
			base = "images"
		}
		return "folder-" + base
	}
	return name
}
