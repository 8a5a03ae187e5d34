// Package search is the gradient search of agn-approx (Trommer, Waschneck
// and Kumar, ICCAD 2022): instead of measuring each layer's sensitivity to
// each multiplier, it learns how much relative noise every layer tolerates
// and then gives each layer the cheapest multiplier whose predicted error
// fits. The package holds the method's parts as graph ops and pure
// functions over plain data, so that a trainer runs it with a few calls:
//
//   - LearnedNoise stands after a layer's output y and adds
//     N(0,1)·std(y)·σ_l, σ_l a trainable scalar node; the gradient reaches
//     σ_l and y (through std(y) too, as in TorchApprox). The noise is
//     seeded per op and run, and the same for any thread count.
//   - SearchLoss is cross_entropy − λ·R with the Regulariser
//     R = Σ_l (ops_l/Σops)·min(|σ_l|, σ_max): every σ_l is pushed up in
//     proportion to the multiplications its layer costs until the accuracy
//     pushes back.
//   - Match turns the learned σ_l into multipliers: layer l tolerates an
//     error std of |σ_l|·std(y_l), y_l its output on a calibration run with
//     exact products; PredictLayer gives each multiplier's predicted error
//     there (errmodel's Population model with the layer's own operand
//     distributions and fan-in); the layer gets the cheapest multiplier (by
//     cost, or by MAE when no costs are given) whose prediction fits, and
//     the energy saved is 1 − Σ ops_l·cost(m_l) / Σ ops_l·cost(exact).
//   - SearchLambda finds, for an accuracy budget, the λ with the largest
//     saving: a decade grid, then bisection in log space (Schedule), each
//     λ evaluated by a caller-supplied function (search, match, retrain,
//     evaluate).
//   - WriteReport writes search.json, search.csv, search.md and plots of
//     the learned σ per layer and of the λ tried.
//
// # Defaults
//
// agn-approx leaves the settings to each experiment. The defaults follow
// its code: λ 0.2 and initial σ 0.1 (its train_gradient defaults), σ_max
// 1.0, and a budget search over λ = 0.005, 0.05, 0.5 (its lambda sweep)
// with two bisection steps; the Population prediction samples 512
// receptive fields per layer, as agn-approx does. Settings.Check and the Check functions reject
// what cannot work: no multipliers, λ < 0, σ_max <= 0, an initial σ not in
// (0, σ_max), a negative budget.
//
// # Using it in a trainer
//
// Search phase, per approximate layer l: a scalar σ_l node initialised to
// the initial σ and trained with the other parameters; y_l' =
// LearnedNoise(y_l, σ_l, name, seed_l, threads) in place of the layer
// op's output, before any bias is added (where ops' Noise mode adds its
// noise and where agn-approx measures std(features·weights)), with the
// layers in Quantized mode; the loss SearchLoss(xent, σs, ops, λ,
// σ_max). Switch the noise ops off (SetTraining(false)) to evaluate, and
// restore their run index (SetRuns) on resume.
//
// Matching: after the search, one calibration run with exact products
// (Quantized mode, histograms and receptive fields recorded) gives each
// layer's output std (errmodel.Std of the tensor the noise stood after) and
// its errmodel.Layer template (fan-in, quantization parameters, weight
// histogram, DefaultFieldSamples fields from errmodel.LinearFields or
// ConvFields); PredictLayer(template,
// tables) and the learned σ_l make the layer's LayerFacts, and Match with
// LibraryOf(tables, costs) gives the assignment, to retrain in Approximate
// mode. Report's fields say what to record. Package train does all of
// this (train.WithSearch, Trainer.Search, SearchFacts, SearchAssign), and
// `train search` runs it from a checkpoint.
package search
