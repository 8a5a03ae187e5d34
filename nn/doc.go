// Package nn provides the Gorgonia building blocks the GoApprox model zoo
// needs and Gorgonia v0.9.18 lacks or gets wrong, float32 (Dropout also
// float64):
//
//   - BatchNorm: per-channel batch normalisation for (N, C, H, W) and (N, F)
//     inputs with learnable scale and bias of shape (C) and PyTorch's running
//     statistics (momentum 0.1, eps 1e-5, unbiased running variance). The
//     training flag lives in a shared *BatchNormState read at run time, so one
//     compiled graph serves training and evaluation. Gorgonia's own BatchNorm
//     creates scale and bias with the batch dimension included when none are
//     given and hashes epsilon to one decimal.
//   - BatchNormAct: BatchNorm followed by ReLU or ReLU6 as one op, bit-identical
//     to the two ops but one pass over the activations forward and backward
//     instead of two (bnact.go).
//   - SoftmaxCrossEntropy: mean cross-entropy of integer labels under
//     softmax(logits), one op with a numerically stable log-softmax and an
//     exact gradient (Gorgonia has no categorical cross-entropy); Accuracy.
//   - ReLU and ReLU6: max(x, 0) and min(max(x, 0), 6) as one clamp op
//     (float32 and float64), with gradient 0 outside (0, ∞) and (0, 6), as
//     PyTorch.
//   - GlobalAvgPool: (N, C, H, W) -> (N, C) mean with gradient. Gorgonia's
//     GlobalAveragePool2D has no gradient and returns (N, C, 1, 1).
//   - Dropout: seeded (one generator per op, the same masks for the same
//     seed), with its probability hashed and the gradient scaled by
//     1/(1-p). Gorgonia's seeds from the clock, merges dropouts of different
//     probabilities and divides the gradient by p; graph.Rewrite replaces
//     it by this one.
//   - Kaiming (He) and Glorot initialisers taking an explicit *rand.Rand, since
//     Gorgonia's initialisers seed from the clock.
//
// What Gorgonia already does right is not repeated: Rectify (ReLU), MaxPool2D,
// Reshape and Add are used as they are (tests here pin MaxPool2D's and
// Rectify's values and gradients on hand-computed cases).
//
// Every op hashes all fields that change its result, checks input ranks and
// sizes in InferShape and Do, returns errors rather than panicking, and
// differentiates through a private gradient op (SDOp), which the TapeMachine
// uses. Ops reuse the machine's preallocated output when it fits.
//
// The batch norm and ReLU/ReLU6 loops (vec.go) have AVX2 assembly versions,
// chosen at run time when the CPU has AVX2 (golang.org/x/sys/cpu); the
// purego build tag turns them off. Both give the same bits: the float64
// sums of batch norm use a fixed lane order in either, so results depend
// neither on the CPU nor on the number of threads.
//
// Batch norm over (N, C, H, W), ReLU, ReLU6 and max pooling, forward and
// backward, split large inputs by channel, element or plane over the
// module's shared workers (internal/parallel), each part computed exactly
// as the single-threaded loop computes it, so the bits do not depend on
// GOMAXPROCS either (parallel_test.go).
package nn
