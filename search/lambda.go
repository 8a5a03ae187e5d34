package search

import (
	"errors"
	"fmt"
	"math"
)

// Schedule is the order in which the budget search tries lambdas:
//
//  1. Coarse: the decade grid Min, 10·Min, ..., Min·10^(Decades−1), in
//     increasing order. A larger lambda pushes the noise up, so it saves
//     more and loses more accuracy; the walk stops at the first lambda that
//     misses the budget, taking the larger ones to miss it too.
//  2. Fine: Refine bisection steps in log space between the largest lambda
//     that met the budget and the smallest that missed it: the geometric
//     mean of the two is tried and replaces the bound it falls on.
//
// When every grid lambda meets the budget there is nothing to refine and
// the largest is the answer; raise Min or Decades to search further.
type Schedule struct {
	Min     float64 `json:"min"`
	Decades int     `json:"decades"`
	Refine  int     `json:"refine"`
}

// DefaultSchedule tries agn-approx's lambda sweep, 0.005, 0.05 and 0.5, then
// two bisection steps: at most five searches with retraining.
func DefaultSchedule() Schedule { return Schedule{Min: 0.005, Decades: 3, Refine: 2} }

// Grid returns the coarse lambdas in the order they are tried. A sharded
// runner can evaluate them in parallel and give SearchLambda an evaluate
// that returns the results it already has.
func (s Schedule) Grid() []float64 {
	g := make([]float64, s.Decades)
	for i := range g {
		g[i] = s.Min * math.Pow(10, float64(i))
	}
	return g
}

// Check returns the first problem of the schedule.
func (s Schedule) Check() error {
	if !(s.Min > 0) || math.IsInf(s.Min, 0) {
		return fmt.Errorf("search: the smallest lambda of the grid is %g; it must be finite and > 0", s.Min)
	}
	if s.Decades < 1 || s.Decades > 12 {
		return fmt.Errorf("search: %d decades of lambda; try 1 to 12", s.Decades)
	}
	if s.Refine < 0 || s.Refine > 20 {
		return fmt.Errorf("search: %d refinement steps; try 0 to 20", s.Refine)
	}
	return nil
}

// Outcome is what one lambda gave: the assignment's energy saving (nil
// without costs) and its accuracy after retraining (a fraction).
type Outcome struct {
	EnergySaved *float64
	Accuracy    float64
	// AccuracyBefore is the assigned model's accuracy before retraining
	// (0: not measured).
	AccuracyBefore float64
}

// Point is one lambda tried.
type Point struct {
	Lambda      float64  `json:"lambda"`
	Phase       string   `json:"phase"` // "coarse" or "refine"
	EnergySaved *float64 `json:"energy_saved"`
	Accuracy    float64  `json:"accuracy_after"`
	// AccuracyBefore is the accuracy before retraining (absent in reports
	// of older versions).
	AccuracyBefore float64 `json:"accuracy_before,omitempty"`
	// Loss is the accuracy lost, in points below the exact model.
	Loss         float64 `json:"loss_points"`
	WithinBudget bool    `json:"within_budget"`
}

// LambdaResult is what SearchLambda tried and chose.
type LambdaResult struct {
	Points []Point `json:"points"`
	// Best indexes Points: the largest saving within the budget (ties to
	// the higher accuracy, then the smaller lambda); without savings, the
	// largest lambda within the budget. −1 when none is.
	Best int `json:"best"`
}

// ErrBudgetNotMet is wrapped by SearchLambda's error when no lambda tried
// keeps the accuracy within the budget.
var ErrBudgetNotMet = errors.New("no lambda keeps the accuracy within the budget")

// budgetSlack absorbs rounding in the comparison of a loss with the budget.
const budgetSlack = 1e-9

// WithinBudget reports whether a loss of lossPoints accuracy points (below
// the exact model) stays within budget points. Every comparison of a result
// with a budget uses it, so the search and the comparison of methods
// (package compare) agree on what meets a budget.
func WithinBudget(lossPoints, budget float64) bool { return lossPoints <= budget+budgetSlack }

// SearchLambda tries lambdas by the schedule, calling evaluate (a search,
// the matching, retraining and evaluation) once per lambda, and returns
// every point tried with the best one. budget is in accuracy points below
// accuracyExact (a fraction). The points tried are returned with any error.
func SearchLambda(evaluate func(lambda float64) (Outcome, error), accuracyExact, budget float64, s Schedule) (LambdaResult, error) {
	res := LambdaResult{Best: -1}
	if err := CheckBudget(budget); err != nil {
		return res, err
	}
	if err := s.Check(); err != nil {
		return res, err
	}
	if math.IsNaN(accuracyExact) || accuracyExact < 0 || accuracyExact > 1 {
		return res, fmt.Errorf("search: exact accuracy %g must be a fraction in [0, 1]", accuracyExact)
	}
	try := func(lambda float64, phase string) (bool, error) {
		o, err := evaluate(lambda)
		if err != nil {
			return false, fmt.Errorf("search: lambda %g: %w", lambda, err)
		}
		if math.IsNaN(o.Accuracy) || o.Accuracy < 0 || o.Accuracy > 1 {
			return false, fmt.Errorf("search: lambda %g gave accuracy %g; want a fraction in [0, 1]", lambda, o.Accuracy)
		}
		if o.EnergySaved != nil && (math.IsNaN(*o.EnergySaved) || math.IsInf(*o.EnergySaved, 0)) {
			return false, fmt.Errorf("search: lambda %g gave energy saving %g", lambda, *o.EnergySaved)
		}
		loss := 100 * (accuracyExact - o.Accuracy)
		p := Point{Lambda: lambda, Phase: phase, EnergySaved: o.EnergySaved, Accuracy: o.Accuracy, AccuracyBefore: o.AccuracyBefore,
			Loss: loss, WithinBudget: WithinBudget(loss, budget)}
		res.Points = append(res.Points, p)
		return p.WithinBudget, nil
	}
	lo, hi := math.NaN(), math.NaN()
	for _, lambda := range s.Grid() {
		ok, err := try(lambda, "coarse")
		if err != nil {
			return res, err
		}
		if !ok {
			hi = lambda
			break
		}
		lo = lambda
	}
	if math.IsNaN(lo) {
		p := res.Points[0]
		return res, fmt.Errorf("search: %w: the smallest lambda, %g, lost %.2f points (accuracy %.2f%% against %.2f%% exact), beyond the budget of %.2f; raise -budget or lower the grid's smallest lambda",
			ErrBudgetNotMet, p.Lambda, p.Loss, 100*p.Accuracy, 100*accuracyExact, budget)
	}
	if !math.IsNaN(hi) {
		for range s.Refine {
			mid := math.Sqrt(lo * hi)
			ok, err := try(mid, "refine")
			if err != nil {
				return res, err
			}
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	res.Best = best(res.Points)
	return res, nil
}

// best returns the index of the best point within the budget (see
// LambdaResult.Best).
func best(points []Point) int {
	known := true
	for _, p := range points {
		if p.WithinBudget && p.EnergySaved == nil {
			known = false
		}
	}
	b := -1
	for i, p := range points {
		if !p.WithinBudget {
			continue
		}
		if b < 0 {
			b = i
			continue
		}
		q := points[b]
		switch {
		case !known:
			if p.Lambda > q.Lambda {
				b = i
			}
		case *p.EnergySaved != *q.EnergySaved:
			if *p.EnergySaved > *q.EnergySaved {
				b = i
			}
		case p.Accuracy != q.Accuracy:
			if p.Accuracy > q.Accuracy {
				b = i
			}
		case p.Lambda < q.Lambda:
			b = i
		}
	}
	return b
}
