// Package train is GoApprox's training and evaluation loop: it takes a
// model, a zoo model by name (Config.Model) or any Gorgonia graph a user
// built with its input, logits and parameters (Model, WithModel,
// WithGraph), rewrites it into approximate layers (package graph), adds
// the loss (nn.SoftmaxCrossEntropy) and its gradients, and trains it in
// phases on a TapeMachine:
//
//  1. float (optional): ordinary float training;
//  2. qat: quantization-aware training with exact products (Quantized mode),
//     the observers setting the quantization parameters as they go;
//  3. noise (optional, Config.NoiseEpochs): the observers are frozen and
//     the layers train in Noise mode, each output plus Gaussian noise whose
//     sigma and mu are configured or predicted from the layer's multiplier
//     and operands by package errmodel (PopulationChannels model; see
//     NoiseLayer): the approximate-Gaussian-noise method of agn-approx, so
//     that the network learns to tolerate the error before it meets it;
//  4. approx: the observers are frozen, every layer gets its multiplier
//     table (Approximate mode), the model is evaluated, fine-tuned and
//     evaluated again.
//
// The noise generators cannot be saved in a checkpoint; each noise epoch
// reseeds them from the seed, the epoch's index in the run and the layer's
// position, so a resumed run draws the same noise.
//
// Evaluations use the full test set, in batches of the training batch size
// (the last one padded), with batch norm on its running statistics and the
// layers' observers off; only the forward subgraph runs.
//
// # Observers across phases
//
// TorchApprox leaves the fake-quantization observers to PyTorch: they run on
// every training step in every mode unless the user disables them
// (torch.ao.quantization.disable_observer). Here the observers are frozen
// when the approximate phase starts, so fine-tuning adapts the weights to
// the multiplier under the quantization parameters QAT settled on, and the
// codes the multiplier sees do not drift while it trains (PyTorch's own QAT
// recipe also freezes the observers before the end). Without QAT epochs, a
// calibration pass over 32 training batches sets the parameters first
// (post-training quantization).
//
// A user's model gets the same pipeline as a zoo model: QAT, the noise and
// approximate phases, checkpoints, reports (Result) and, through
// cmd/train's plots, figures. Its batch normalisations are found by their
// op (nn.BatchNorm) unless listed.
//
// # Layout
//
// A core (core.go) holds the model made trainable: the rewritten graph,
// the machines, one training step and evaluation. The Trainer runs the
// phase pipeline on top of it (phase.go, run.go, noise.go), with the
// multipliers (multipliers.go) and checkpoints (checkpoint.go). The
// optimizers and learning-rate schedules are package train/optimizer.
//
// # Optimizers and reproducibility
//
// Adam (PyTorch's defaults, no weight decay) or SGD (momentum 0.9 by
// default, optional weight decay of the dense and convolution weights and
// Nesterov momentum), from package train/optimizer, whose state
// checkpoints save. Each phase starts a fresh optimizer, as each training
// stage of the reference does. Learning rates are constant, follow a
// cosine from the configured rate to 0 over the phase, or drop by Gamma at
// milestones (multistep), optionally after a linear warm-up.
//
// Everything random is seeded by Config.Seed: the initial weights, and the
// batch order of each epoch, which depends only on the seed and the epoch's
// index in the run. A checkpoint (written atomically after every epoch by
// Run) holds the configuration, progress, metrics, model state
// (approxlayer), batch-norm running statistics and optimizer moments, so a
// run resumed from it ends bit for bit where an uninterrupted run ends.
//
// # Divergence
//
// A NaN produced by any op during a training step, a NaN or infinite loss,
// or a parameter an update leaves NaN or infinite, stops training with a
// *DivergedError naming the phase, epoch and step and the first place in
// the forward pass (the input batch, a parameter, or a layer's output)
// that holds a NaN or an infinity, with its layer. So does a NaN or an
// infinity anywhere else in the state: an observer's range, a quantization
// scale, batch-norm running statistics (checked after every step), an
// optimizer moment or an evaluation's loss (checked after every epoch and
// before every checkpoint). The last checkpoint stays as it was.
//
// # Gradient search
//
// A trainer built WithSearch carries agn-approx's gradient search (package
// search) in its graph: a learned noise after every approximate layer's
// product, before the bias, each with a trainable relative sigma (a
// one-element parameter without weight decay), and the loss
// cross_entropy − λ·R(σ). Outside Search the noise is off and λ is 0, so
// the trainer evaluates and retrains like any other. SearchAssign takes
// one λ end to end from a checkpoint: Search (train the sigmas with the
// weights, logging every sigma per epoch), SearchFacts (a calibration run
// with exact products: each layer's output std and the error model's
// prediction for every multiplier), search.Match, then the assignment in
// Approximate mode, evaluated before and after retraining. cmd/train's
// `train search` drives it, with a budget search over λ.
//
// # Sweeps
//
// A tool comparing multipliers builds a Trainer from a checkpoint's
// configuration, then for each multiplier:
//
//	ck, _ := train.ReadCheckpoint("runs/x/checkpoints/qat.ckpt")
//	tr, _ := train.New(ck.Config)
//	for _, m := range multipliers {
//		tr.Restore(ck)                 // the QAT-trained model, fresh
//		tr.SetMultipliers(m, nil)      // or per layer
//		tr.SetPhase(train.PhaseApprox) // freeze, set tables, Approximate
//		before, _ := tr.Evaluate()
//		for i := 0; i < n; i++ {
//			tr.TrainEpoch()            // evaluates after each epoch
//		}
//	}
package train
