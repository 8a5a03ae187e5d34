package train

import "github.com/goapprox/goapprox/train/optimizer"

// Optimizer is the trainer's optimizer, for training loops outside a
// Trainer (benchmarks) that must update parameters exactly as it does.
//
// Deprecated: use package optimizer.
type Optimizer = optimizer.Optimizer

// NewOptimizer returns a fresh optimizer of the given kind (Optimizers)
// with its default settings.
//
// Deprecated: use optimizer.New.
func NewOptimizer(kind string) (*Optimizer, error) { return optimizer.New(kind) }

// float32s is how checkpoints store the optimizer's moments.
type float32s = optimizer.Float32s
