package search

import (
	"errors"
	"fmt"
	"math"
)

// Defaults of the search. agn-approx leaves them to each experiment
// (train_gradient's defaults are lambda 0.2 and initial sigma 0.1, its
// experiment script uses sigma max 1.0 and sweeps lambda over 0.005, 0.05
// and 0.5); these follow it.
const (
	// DefaultLambda weighs the regulariser against the cross-entropy.
	DefaultLambda = 0.2
	// DefaultSigmaInitial is every layer's relative noise at the start of
	// the search.
	DefaultSigmaInitial = 0.1
	// DefaultSigmaMax caps the sigma the regulariser rewards: noise of the
	// output's own spread.
	DefaultSigmaMax = 1.0
	// DefaultFieldSamples is how many receptive fields of a layer the
	// calibration run samples for the Population prediction
	// (errmodel.LinearFields, ConvFields), agn-approx's number.
	DefaultFieldSamples = 512
)

// Settings are the search's flags, checked together by Check.
type Settings struct {
	Lambda       float64
	SigmaInitial float64
	SigmaMax     float64
	// Budget is the accuracy, in points below the exact model's, the lambda
	// search may lose; nil when no budget search is asked for.
	Budget *float64
	// Multipliers is the number of multipliers to choose from.
	Multipliers int
}

// DefaultSettings returns the defaults, with no budget and no
// multipliers.
func DefaultSettings() Settings {
	return Settings{Lambda: DefaultLambda, SigmaInitial: DefaultSigmaInitial, SigmaMax: DefaultSigmaMax}
}

// Check returns the first problem of the settings.
func (s Settings) Check() error {
	if err := CheckMultipliers(s.Multipliers); err != nil {
		return err
	}
	if err := CheckLambda(s.Lambda); err != nil {
		return err
	}
	if err := CheckSigmaMax(s.SigmaMax); err != nil {
		return err
	}
	if err := CheckSigmaInitial(s.SigmaInitial, s.SigmaMax); err != nil {
		return err
	}
	if s.Budget != nil {
		return CheckBudget(*s.Budget)
	}
	return nil
}

// CheckMultipliers requires at least one multiplier to choose from.
func CheckMultipliers(n int) error {
	if n <= 0 {
		return errors.New("search: no multipliers to choose from: give tables with -luts DIR or -lut SPEC (include the exact multiplier, which every layer may fall back to)")
	}
	return nil
}

// CheckLambda requires a finite lambda >= 0 (0 trains the noise without
// any push towards cheaper multipliers).
func CheckLambda(lambda float64) error {
	if math.IsNaN(lambda) || math.IsInf(lambda, 0) || lambda < 0 {
		return fmt.Errorf("search: lambda %g must be a finite number >= 0 (larger values push harder towards cheap multipliers; default %g)", lambda, DefaultLambda)
	}
	return nil
}

// CheckSigmaMax requires a finite sigma max > 0.
func CheckSigmaMax(sigmaMax float64) error {
	if !(sigmaMax > 0) || math.IsInf(sigmaMax, 0) {
		return fmt.Errorf("search: sigma max %g must be finite and > 0 (it caps the relative noise the regulariser rewards; default %g)", sigmaMax, DefaultSigmaMax)
	}
	return nil
}

// CheckSigmaInitial requires 0 < initial sigma < sigma max: at 0 the
// regulariser's gradient (sign of sigma) is 0 and noise never starts; at
// or above the cap it gives no push either.
func CheckSigmaInitial(sigma, sigmaMax float64) error {
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return fmt.Errorf("search: initial sigma %g must be finite and > 0 (at 0 the regulariser has no gradient; default %g)", sigma, DefaultSigmaInitial)
	}
	if sigma >= sigmaMax {
		return fmt.Errorf("search: initial sigma %g is not below sigma max %g: the regulariser would not push it; lower it or raise sigma max", sigma, sigmaMax)
	}
	return nil
}

// CheckBudget requires a budget of 0 to 100 points.
func CheckBudget(points float64) error {
	if math.IsNaN(points) || math.IsInf(points, 0) || points < 0 || points > 100 {
		return fmt.Errorf("search: budget %g must be a number of accuracy points from 0 to 100 below the exact model (0.5 = half a point)", points)
	}
	return nil
}
