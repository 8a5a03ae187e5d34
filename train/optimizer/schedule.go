package optimizer

import (
	"fmt"
	"math"
	"sort"
)

// Position is where a step stands in a training stage (a phase).
type Position struct {
	Epoch         int // 1-based epoch of the stage
	Step          int // 0-based step within the epoch
	StepsPerEpoch int
	// Epochs is the stage's planned length; a step beyond it is treated
	// as if the stage had been planned to end with its epoch.
	Epochs int
}

// done is the number of steps of the stage before this one, and total the
// number of steps of the stage.
func (p Position) done() int  { return (p.Epoch-1)*p.StepsPerEpoch + p.Step }
func (p Position) total() int { return max(p.Epochs, p.Epoch) * p.StepsPerEpoch }

// Schedule gives the learning rate of a step from the stage's base rate.
type Schedule interface {
	LR(base float64, p Position) float64
}

// Constant keeps the base rate.
type Constant struct{}

// LR returns base.
func (Constant) LR(base float64, _ Position) float64 { return base }

// Cosine anneals the rate from base to 0 over the stage, step by step:
// base·(1+cos(π·t/T))/2 at step t of T.
type Cosine struct{}

// LR returns the annealed rate.
func (Cosine) LR(base float64, p Position) float64 {
	return base * 0.5 * (1 + math.Cos(math.Pi*float64(p.done())/float64(p.total())))
}

// MultiStep multiplies the rate by Gamma at each milestone: in epoch e
// (1-based) the rate is base·Gamma^k, k the number of milestones below e,
// as torch.optim.lr_scheduler.MultiStepLR stepped once an epoch gives.
type MultiStep struct {
	Milestones []int // epochs after which the rate drops, ascending
	Gamma      float64
}

// DefaultGamma is MultiStep's usual factor.
const DefaultGamma = 0.1

// Validate checks the milestones and the factor.
func (s MultiStep) Validate() error {
	if !sort.IntsAreSorted(s.Milestones) {
		return fmt.Errorf("milestones %v must be in ascending order", s.Milestones)
	}
	for _, m := range s.Milestones {
		if m <= 0 {
			return fmt.Errorf("milestone %d must be a positive epoch", m)
		}
	}
	if !(s.Gamma > 0) || math.IsInf(s.Gamma, 0) {
		return fmt.Errorf("gamma %v must be a positive number", s.Gamma)
	}
	return nil
}

// LR returns the stepped rate.
func (s MultiStep) LR(base float64, p Position) float64 {
	lr := base
	for _, m := range s.Milestones {
		if m < p.Epoch {
			lr *= s.Gamma
		}
	}
	return lr
}

// Warmup raises the rate linearly over the first Epochs epochs of the
// stage, step by step, to what Then gives: at step t of the W warm-up
// steps the rate is Then's times (t+1)/W. After the warm-up Then is used
// as it is (its own position counts from the start of the stage).
type Warmup struct {
	Epochs int
	Then   Schedule
}

// LR returns the warmed-up rate.
func (w Warmup) LR(base float64, p Position) float64 {
	lr := w.Then.LR(base, p)
	if n := w.Epochs * p.StepsPerEpoch; p.done() < n {
		lr *= float64(p.done()+1) / float64(n)
	}
	return lr
}
