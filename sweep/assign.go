package sweep

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/goapprox/goapprox/train"
)

// The assignment algorithm (Assign):
//
//  1. Sensitivity: each candidate multiplier cheaper than the exact one is
//     measured in each layer alone (MeasureSensitivity): drop[l][m].
//  2. Greedy: every layer starts exact. The estimated loss of an assignment
//     is the sum of its layers' drops (drops taken as additive, negative
//     drops as 0). Among the moves "layer l takes the cheaper multiplier m"
//     that keep the estimate within the budget, the one saving the most
//     energy per point of estimated loss is taken (a move that adds no loss
//     is taken first, the largest saving first), until no move fits.
//  3. Check: the assignment is measured as a whole. Drops do not add up
//     exactly; when the measured loss exceeds the budget, the greedy step is
//     repeated with the estimate's budget scaled down by budget/measured
//     (at most MaxTries times).
//  4. Retraining: the chosen assignment is fine-tuned RetrainEpochs epochs.
//
// Drops measured before retraining overstate what retraining cannot
// repair, so the greedy step can leave savings behind that one epoch of
// retraining would recover. With RankRetrainEpochs > 0 every drop of
// steps 1 and 3 is measured after that many epochs of approximate
// retraining from the checkpoint instead, against the exact model
// retrained as long (retraining alone moves the accuracy), at the price
// of one short retraining per layer and cheaper candidate.
//
// Energy is that of the multiplications only: Σ_l muls_l · power(m_l), with
// muls_l the layer's multiplications per sample and power the costs file's
// power of the layer's multiplier. At one clock frequency, energy per
// multiplication is proportional to power, so the ratio to the all-exact
// network (Σ_l muls_l · power(exact)) is the relative multiplication
// energy; adders, memory and data movement are not counted.

// MaxTries bounds the greedy step's retries when the measured loss exceeds
// the budget.
const MaxTries = 4

// AssignOptions configure Assign.
type AssignOptions struct {
	// Candidates are the multipliers to choose from; one of them must be
	// exact (its power is the reference) and each needs a power in Costs.
	Candidates []string
	Costs      Costs
	// MaxLoss is the tolerated accuracy loss, a fraction (0.005 = half a
	// point) below the exact model's accuracy.
	MaxLoss       float64
	RetrainEpochs int
	// RankRetrainEpochs, when above 0, measures the drops the greedy step
	// ranks by, and the check of the whole assignment, after that many
	// epochs of approximate retraining (see the algorithm above).
	RankRetrainEpochs int
	// Sensitivity, when given, holds the per-layer drops of an earlier
	// measurement of the same checkpoint (train sensitivity, or an earlier
	// Assign) covering every cheaper candidate; Assign then measures
	// none of them again before retraining, nor after retraining when
	// they include retrained drops of the same RankRetrainEpochs, training
	// samples, learning rate and gradient.
	Sensitivity *SensitivityResult
	// RankModel is the model the ranking retrains: the same checkpoint
	// opened with a smaller ModelOptions.Limit makes each ranking
	// retraining shorter. nil: the model Assign was given.
	RankModel *Model
	Progress  func(string)
}

// LayerChoice is the multiplier chosen for one layer.
type LayerChoice struct {
	LayerFacts
	LUT   string  `json:"lut"`
	Name  string  `json:"name"`
	Power float64 `json:"power"`
	// Drop is the layer's measured drop with this multiplier alone (after
	// RankRetrainEpochs of retraining when ranking retrained).
	Drop float64 `json:"drop"`
}

// Assignment is Assign's result.
type Assignment struct {
	Checkpoint       string  `json:"checkpoint"`
	CheckpointSHA256 string  `json:"checkpoint_sha256"`
	Model            string  `json:"model"`
	Dataset          string  `json:"dataset"`
	MaxLoss          float64 `json:"max_loss"`
	AccuracyExact    float64 `json:"accuracy_exact"`
	// Exact is the reference multiplier and its power.
	Exact      string        `json:"exact"`
	ExactPower float64       `json:"exact_power"`
	Layers     []LayerChoice `json:"layers"`
	// EstimatedLoss is the sum of the chosen layers' drops; MeasuredLoss
	// the loss of the whole assignment before retraining.
	EstimatedLoss float64 `json:"estimated_loss"`
	Accuracy      float64 `json:"accuracy"`
	MeasuredLoss  float64 `json:"measured_loss"`
	Tries         int     `json:"tries"`
	// Energy is Σ muls·power per sample (power units × multiplications),
	// EnergyExact the same with the exact multiplier everywhere, and
	// Saving = 1 − Energy/EnergyExact.
	Energy      float64 `json:"energy"`
	EnergyExact float64 `json:"energy_exact"`
	Saving      float64 `json:"saving"`
	// RetrainEpochs and AccuracyRetrained: after fine-tuning (nil without).
	RetrainEpochs     int      `json:"retrain_epochs"`
	AccuracyRetrained *float64 `json:"accuracy_retrained,omitempty"`
	// Gradient is the fine-tuning's backward pass (absent:
	// straight-through).
	Gradient string `json:"gradient,omitempty"`
	// RankRetrainEpochs is AssignOptions.RankRetrainEpochs; with it,
	// RankReference is the exact model's accuracy after that retraining,
	// which the ranked drops, Accuracy and MeasuredLoss refer to.
	RankRetrainEpochs int      `json:"rank_retrain_epochs,omitempty"`
	RankReference     *float64 `json:"rank_reference_accuracy,omitempty"`
	// RankRetrainSamples is the number of training samples each ranking
	// retraining epoch ran on.
	RankRetrainSamples int `json:"rank_retrain_samples,omitempty"`
	// Sensitivity holds the per-layer measurements the choice rests on:
	// before retraining, and with RankRetrainEpochs after the ranking's
	// retraining too (Sensitivity.Retraining), so that a later Assign
	// with the same retraining can reuse them.
	Sensitivity SensitivityResult `json:"sensitivity"`
}

// LayerLUTs returns the assignment as per-layer multipliers (exact layers
// left out: they stay Quantized).
func (a Assignment) LayerLUTs() []train.LayerLUT {
	var out []train.LayerLUT
	for _, l := range a.Layers {
		if l.Name != a.Exact {
			out = append(out, train.LayerLUT{Layer: l.Layer, LUT: l.LUT})
		}
	}
	return out
}

type candidate struct {
	arg, name, fingerprint string
	power                  float64
	exact                  bool
}

// Assign chooses a multiplier per layer (see the algorithm above), measures
// the assignment and retrains it.
func Assign(m *Model, o AssignOptions) (Assignment, error) {
	if !(o.MaxLoss >= 0) || o.MaxLoss > 1 {
		return Assignment{}, fmt.Errorf("max loss %v must be a fraction from 0 to 1 (0.005 = half a point)", o.MaxLoss)
	}
	var cands []candidate
	var exact *candidate
	var missing []string
	for _, arg := range o.Candidates {
		t, err := m.Table(arg)
		if err != nil {
			return Assignment{}, fmt.Errorf("multiplier %s: %w", arg, err)
		}
		c, ok := o.Costs[t.Name()]
		if !ok || c.Power == nil {
			missing = append(missing, t.Name())
			continue
		}
		cands = append(cands, candidate{arg: arg, name: t.Name(), fingerprint: t.Fingerprint(), power: *c.Power, exact: t.IsExact()})
	}
	if len(missing) > 0 {
		return Assignment{}, fmt.Errorf("no power in the costs file for %v: every candidate needs one (name,power,area rows)", missing)
	}
	for i := range cands {
		if cands[i].exact {
			exact = &cands[i]
			break
		}
	}
	if exact == nil {
		return Assignment{}, errors.New("no exact multiplier among the candidates: add one (exact, or mul8u_1JFF.bin) with its power; savings are relative to it")
	}
	// Only multipliers cheaper than the exact one are worth measuring.
	var cheaper []candidate
	for _, c := range cands {
		if !c.exact && c.power < exact.power {
			cheaper = append(cheaper, c)
		}
	}
	args := make([]string, len(cheaper))
	for i, c := range cheaper {
		args[i] = c.arg
	}
	var sens SensitivityResult
	var err error
	if o.Sensitivity != nil {
		sens, err = reuseSensitivity(m, *o.Sensitivity, cheaper)
	} else {
		sens, err = MeasureSensitivity(m, args, o.Progress)
	}
	if err != nil {
		return Assignment{}, err
	}
	layers := sens.Layers
	a := Assignment{Checkpoint: m.Path, CheckpointSHA256: m.SHA256, Model: sens.Model, Dataset: sens.Dataset,
		MaxLoss: o.MaxLoss, AccuracyExact: sens.AccuracyExact, Exact: exact.name, ExactPower: exact.power,
		RetrainEpochs: o.RetrainEpochs, Gradient: m.Gradient(), Sensitivity: sens}
	for _, l := range layers {
		a.EnergyExact += float64(l.Muls) * exact.power
	}
	rank := m
	if o.RankModel != nil {
		if o.RankModel.SHA256 != m.SHA256 {
			return a, fmt.Errorf("the ranking model %s is not the checkpoint %s being assigned", o.RankModel.Path, m.Path)
		}
		rank = o.RankModel
	}
	drops, reference, err := rankDrops(rank, o, &a.Sensitivity, cheaper, exact)
	if err != nil {
		return a, err
	}
	if o.RankRetrainEpochs > 0 {
		a.RankRetrainEpochs, a.RankReference = o.RankRetrainEpochs, &reference
		a.RankRetrainSamples = rank.Trainer().TrainSamples()
	}
	drop := func(l, c int) float64 { return math.Max(0, drops[l][c]) }

	budget := o.MaxLoss
	for try := 1; try <= MaxTries; try++ {
		choice := greedy(layers, cheaper, exact.power, drop, budget)
		a.Layers = a.Layers[:0]
		a.Energy, a.EstimatedLoss, a.Tries = 0, 0, try
		for l, c := range choice {
			lc := LayerChoice{LayerFacts: layers[l], LUT: exact.arg, Name: exact.name, Power: exact.power}
			if c >= 0 {
				lc.LUT, lc.Name, lc.Power = cheaper[c].arg, cheaper[c].name, cheaper[c].power
				lc.Drop = drops[l][c]
				a.EstimatedLoss += drop(l, c)
			}
			a.Energy += float64(lc.Muls) * lc.Power
			a.Layers = append(a.Layers, lc)
		}
		a.Saving = 1 - a.Energy/a.EnergyExact
		a.Accuracy, a.MeasuredLoss = reference, 0
		if per := a.LayerLUTs(); len(per) > 0 {
			meas, err := rank.Measure("", per, o.RankRetrainEpochs)
			if err != nil {
				return a, err
			}
			a.Accuracy = meas.Before
			if o.RankRetrainEpochs > 0 {
				a.Accuracy = meas.After[len(meas.After)-1]
			}
			a.MeasuredLoss = reference - a.Accuracy
		}
		if o.Progress != nil {
			o.Progress(fmt.Sprintf("try %d: estimated loss %.2f points, measured %.2f, energy saving %.1f%%",
				try, 100*a.EstimatedLoss, 100*a.MeasuredLoss, 100*a.Saving))
		}
		if a.MeasuredLoss <= o.MaxLoss || a.EstimatedLoss == 0 {
			break
		}
		budget = tightened(budget, a.EstimatedLoss, o.MaxLoss, a.MeasuredLoss)
	}
	if o.Progress != nil && a.MeasuredLoss > o.MaxLoss {
		o.Progress(fmt.Sprintf("the budget of %.2f points is not met after %d tries (measured %.2f): the assignment kept is the last one tried",
			100*o.MaxLoss, a.Tries, 100*a.MeasuredLoss))
	}
	if o.RetrainEpochs > 0 && o.Progress != nil && len(a.LayerLUTs()) == 0 {
		o.Progress("every layer keeps the exact multiplier: nothing to retrain")
	}
	if o.RetrainEpochs > 0 {
		if per := a.LayerLUTs(); len(per) > 0 {
			meas, err := m.Measure("", per, o.RetrainEpochs)
			if err != nil {
				return a, err
			}
			after := meas.After[len(meas.After)-1]
			a.AccuracyRetrained = &after
		}
	}
	return a, nil
}

// reuseSensitivity returns the measurements of s for the candidates, in
// their order, after checking that s measured this checkpoint's layers.
func reuseSensitivity(m *Model, s SensitivityResult, cands []candidate) (SensitivityResult, error) {
	if s.CheckpointSHA256 != m.SHA256 {
		return s, fmt.Errorf("the sensitivity measurements are of checkpoint %s (SHA-256 %.12s…), not of %s (%.12s…): measure this one", s.Checkpoint, s.CheckpointSHA256, m.Path, m.SHA256)
	}
	layers := m.Layers()
	if len(s.Layers) != len(layers) {
		return s, fmt.Errorf("the sensitivity measurements have %d layers, the model %d", len(s.Layers), len(layers))
	}
	for i := range layers {
		if s.Layers[i].Layer != layers[i].Layer {
			return s, fmt.Errorf("the sensitivity measurements' layer %d is %s, the model's %s", i, s.Layers[i].Layer, layers[i].Layer)
		}
	}
	byFingerprint := map[string]Sensitivity{}
	for _, ms := range s.Multipliers {
		if len(ms.Layers) != len(layers) {
			return s, fmt.Errorf("the sensitivity measurements of %s cover %d of the %d layers", ms.Name, len(ms.Layers), len(layers))
		}
		byFingerprint[ms.Fingerprint] = ms
	}
	out := s
	out.Multipliers = nil
	var missing []string
	for _, c := range cands {
		ms, ok := byFingerprint[c.fingerprint]
		if !ok {
			missing = append(missing, c.name)
			continue
		}
		out.Multipliers = append(out.Multipliers, ms)
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("the sensitivity measurements lack %v (by table content): measure them too, or leave the reuse out", missing)
	}
	return out, nil
}

// rankDrops returns the drops the greedy step ranks by (retraining m), drops[l][c] for
// layer l and cheaper candidate c, and the accuracy they are measured
// from: the sensitivity's (before retraining), or, with
// RankRetrainEpochs, each measured after that retraining against the
// exact model retrained as long. Those it takes from sens when sens holds
// them for the same retraining, and otherwise measures and records in
// sens.
func rankDrops(m *Model, o AssignOptions, sens *SensitivityResult, cheaper []candidate, exact *candidate) ([][]float64, float64, error) {
	if o.RankRetrainEpochs < 0 {
		return nil, 0, fmt.Errorf("rank retrain epochs %d must not be negative", o.RankRetrainEpochs)
	}
	drops := make([][]float64, len(sens.Layers))
	for l := range drops {
		drops[l] = make([]float64, len(cheaper))
		for c := range cheaper {
			drops[l][c] = sens.Multipliers[c].Layers[l].Drop
		}
	}
	if o.RankRetrainEpochs == 0 {
		return drops, sens.AccuracyExact, nil
	}
	n := o.RankRetrainEpochs
	want := retrainingOf(m, n)
	if saved, ok := sens.retrainedDrops(want); ok {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf("the drops after %d retraining epoch(s) are those of the sensitivity measurements given (exact model %.2f%%)", n, 100*sens.Retraining.AccuracyExact))
		}
		return saved, sens.Retraining.AccuracyExact, nil
	}
	ref, err := m.Measure(exact.arg, nil, n)
	if err != nil {
		return nil, 0, fmt.Errorf("retraining the exact model: %w", err)
	}
	want.AccuracyExact = ref.After[n-1]
	if o.Progress != nil {
		o.Progress(fmt.Sprintf("exact model after %d retraining epoch(s): %.2f%%", n, 100*want.AccuracyExact))
	}
	// The measurements are recorded in copies of the layers: sens may
	// share them with the sensitivity it reuses. Until they are all in,
	// sens describes no retraining.
	sens.Retraining = nil
	for c := range sens.Multipliers {
		sens.Multipliers[c].Layers = slices.Clone(sens.Multipliers[c].Layers)
	}
	for c, cand := range cheaper {
		for l, f := range sens.Layers {
			meas, err := m.Measure("", []train.LayerLUT{{Layer: f.Layer, LUT: cand.arg}}, n)
			if err != nil {
				return nil, 0, fmt.Errorf("multiplier %s in layer %s: %w", cand.name, f.Layer, err)
			}
			acc := meas.After[n-1]
			drop := want.AccuracyExact - acc
			drops[l][c] = drop
			ls := &sens.Multipliers[c].Layers[l]
			ls.AccuracyRetrained, ls.DropRetrained = &acc, &drop
			if o.Progress != nil {
				o.Progress(fmt.Sprintf("%s in %s after %d retraining epoch(s): %.2f%% (drop %+.2f points; %+.2f before retraining)",
					cand.name, f.Layer, n, 100*acc, 100*drops[l][c], 100*ls.Drop))
			}
		}
	}
	sens.Retraining = &want
	return drops, want.AccuracyExact, nil
}

// greedy returns, per layer, the index of its cheaper candidate, or -1 for
// exact (see the algorithm at the top of the file).
func greedy(layers []LayerFacts, cands []candidate, exactPower float64, drop func(l, c int) float64, budget float64) []int {
	choice := make([]int, len(layers))
	for i := range choice {
		choice[i] = -1
	}
	power := func(c int) float64 {
		if c < 0 {
			return exactPower
		}
		return cands[c].power
	}
	dropOf := func(l, c int) float64 {
		if c < 0 {
			return 0
		}
		return drop(l, c)
	}
	loss := 0.0
	for {
		bestL, bestC := -1, -1
		var bestFree bool
		var bestScore float64
		for l := range layers {
			for c := range cands {
				save := float64(layers[l].Muls) * (power(choice[l]) - power(c))
				if save <= 0 {
					continue
				}
				dl := dropOf(l, c) - dropOf(l, choice[l])
				if loss+dl > budget+1e-12 {
					continue
				}
				free := dl <= 0
				score := save
				if !free {
					score = save / dl
				}
				// Loss-free moves first; then the best saving per loss.
				// Ties go to the first layer and candidate: deterministic.
				if bestL < 0 || (free && !bestFree) || (free == bestFree && score > bestScore) {
					bestL, bestC, bestFree, bestScore = l, c, free, score
				}
			}
		}
		if bestL < 0 {
			return choice
		}
		loss += dropOf(bestL, bestC) - dropOf(bestL, choice[bestL])
		choice[bestL] = bestC
	}
}

// tightened is the greedy step's next budget after a choice whose loss,
// estimated at estimated, measured more than maxLoss: scaled by how far
// the measurement overshot, and below the choice's own estimate, so that
// the next try cannot take the same choice again (a budget still above
// its estimate would).
func tightened(budget, estimated, maxLoss, measured float64) float64 {
	return math.Min(budget, estimated) * maxLoss / measured
}
