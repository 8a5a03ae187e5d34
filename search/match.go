package search

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/goapprox/goapprox/errmodel"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/metrics"
)

// Multiplier is one multiplier the search may give a layer.
type Multiplier struct {
	Name string `json:"name"`
	// Cost is its hardware cost per multiplication (the costs file's
	// power); nil when not given.
	Cost *float64 `json:"cost,omitempty"`
	// MAE is the mean absolute error of its table over all operand pairs:
	// the ranking when no multiplier has a cost.
	MAE   float64 `json:"mae"`
	Exact bool    `json:"exact"`
}

// Library is the multipliers to choose from, in the order ties are broken.
type Library []Multiplier

// LibraryOf describes tables as a library: costs maps a table's name
// (lut.Table.Name) to its cost; names absent from costs get none, and
// costs may name tables not given.
func LibraryOf(tables []*lut.Table, costs map[string]float64) (Library, error) {
	if err := CheckMultipliers(len(tables)); err != nil {
		return nil, err
	}
	lib := make(Library, len(tables))
	seen := map[string]bool{}
	for i, t := range tables {
		if t == nil {
			return nil, fmt.Errorf("search: multiplier %d has no table", i)
		}
		if seen[t.Name()] {
			return nil, fmt.Errorf("search: multiplier %q is given twice", t.Name())
		}
		seen[t.Name()] = true
		lib[i] = Multiplier{Name: t.Name(), MAE: metrics.Compute(t).MAE, Exact: t.IsExact()}
		if c, ok := costs[t.Name()]; ok {
			c := c
			lib[i].Cost = &c
		}
	}
	return lib, nil
}

// Ranking says how a library ranks its multipliers from cheap to dear.
type Ranking string

const (
	// ByCost: every multiplier has a cost; the cheapest has the lowest.
	ByCost Ranking = "cost"
	// ByMAE: no multiplier has a cost; a larger mean absolute error is
	// taken as a cheaper circuit (approximate multipliers save energy by
	// erring), and no energy saving can be stated.
	ByMAE Ranking = "mae"
)

// ranking checks the library and returns how it ranks. A library with
// costs for some multipliers only is an error: a cost and an MAE do not
// compare.
func (lib Library) ranking() (Ranking, error) {
	if err := CheckMultipliers(len(lib)); err != nil {
		return "", err
	}
	var missing []string
	seen := map[string]bool{}
	for i, m := range lib {
		if m.Name == "" {
			return "", fmt.Errorf("search: multiplier %d has no name", i)
		}
		if seen[m.Name] {
			return "", fmt.Errorf("search: multiplier %q is given twice", m.Name)
		}
		seen[m.Name] = true
		if m.Cost == nil {
			missing = append(missing, m.Name)
		} else if math.IsNaN(*m.Cost) || math.IsInf(*m.Cost, 0) || *m.Cost < 0 {
			return "", fmt.Errorf("search: multiplier %q has cost %g; costs must be finite and >= 0", m.Name, *m.Cost)
		}
		if math.IsNaN(m.MAE) || math.IsInf(m.MAE, 0) || m.MAE < 0 {
			return "", fmt.Errorf("search: multiplier %q has MAE %g", m.Name, m.MAE)
		}
	}
	switch len(missing) {
	case 0:
		return ByCost, nil
	case len(lib):
		return ByMAE, nil
	}
	return "", fmt.Errorf("search: no cost for %s: give every multiplier a cost (a name,power row in the costs file) or none (then multipliers are ranked by MAE)", strings.Join(missing, ", "))
}

// key is the multiplier's rank: lower is cheaper.
func (lib Library) key(r Ranking, i int) float64 {
	if r == ByCost {
		return *lib[i].Cost
	}
	return -lib[i].MAE
}

// ReferenceCost is the cost savings are measured against: the exact
// multiplier's (the dearest, if the library has several exact ones), or,
// when the library has no exact multiplier, the dearest multiplier's (as
// agn-approx does). The second result is false when the library has no
// costs.
func (lib Library) ReferenceCost() (float64, bool) {
	if r, err := lib.ranking(); err != nil || r != ByCost {
		return 0, false
	}
	ref, exact := math.Inf(-1), false
	for _, m := range lib {
		if m.Exact && (!exact || *m.Cost > ref) {
			ref, exact = *m.Cost, true
		} else if !exact && *m.Cost > ref {
			ref = *m.Cost
		}
	}
	return ref, true
}

// PredictLayer returns the error model's prediction of the output error of
// each table in layer: template is the layer's errmodel.Layer (fan-in,
// quantization parameters, weight histogram, sampled receptive fields)
// without a Table, and the Population model (agn-approx's) is used.
func PredictLayer(template errmodel.Layer, tables []*lut.Table) ([]errmodel.Moments, error) {
	out := make([]errmodel.Moments, len(tables))
	for i, t := range tables {
		l := template
		l.Table = t
		p, err := errmodel.Predict(l, errmodel.Population)
		if err != nil {
			name := "<nil>"
			if t != nil {
				name = t.Name()
			}
			return nil, fmt.Errorf("search: multiplier %s: %w", name, err)
		}
		out[i] = p.Output
	}
	return out, nil
}

// LayerFacts is what matching needs to know about one layer.
type LayerFacts struct {
	Name string
	// Ops is the layer's multiplications per forward pass.
	Ops int64
	// Sigma is the learned relative noise (its sign does not matter).
	Sigma float64
	// OutputStd is the standard deviation of the layer's output (the tensor
	// the learned noise stood after: the layer op's output before any
	// bias) on a calibration run with exact products.
	OutputStd float64
	// Predicted[i] is the error model's prediction for library multiplier
	// i in this layer (PredictLayer), in output units.
	Predicted []errmodel.Moments
}

// MatchOptions change how predictions are compared with the tolerance.
type MatchOptions struct {
	// WithMean compares the predicted root mean square error
	// sqrt(mean² + std²) instead of the std alone, so that a multiplier
	// that shifts the output is charged for the shift. agn-approx compares
	// the std alone (the default).
	WithMean bool
}

// Choice is the multiplier matched to one layer.
type Choice struct {
	Name         string  `json:"name"`
	Ops          int64   `json:"ops"`
	Sigma        float64 `json:"sigma"`
	OutputStd    float64 `json:"output_std"`
	ToleratedStd float64 `json:"tolerated_std"`
	Multiplier   string  `json:"multiplier"`
	// Index is the multiplier's position in the library.
	Index int `json:"index"`
	// PredictedStd (and PredictedMean) are the error model's moments of
	// the chosen multiplier's error in this layer.
	PredictedStd  float64 `json:"predicted_std"`
	PredictedMean float64 `json:"predicted_mean"`
	// PredictedStds is every library multiplier's predicted std in this
	// layer, in library order, so that other choices can be judged later.
	PredictedStds []float64 `json:"predicted_stds"`
	Cost          *float64  `json:"cost,omitempty"`
	Exact         bool      `json:"exact"`
	// Fits is false when no multiplier's prediction fits the tolerance and
	// the layer got the most accurate one.
	Fits bool `json:"fits"`
}

// Assignment is the result of Match.
type Assignment struct {
	Layers  []Choice `json:"layers"`
	Ranking Ranking  `json:"ranking"`
	// ReferenceCost, Energy and EnergyReference are nil without costs:
	// Energy = Σ ops_l·cost(m_l), EnergyReference = Σ ops_l·ReferenceCost.
	ReferenceCost   *float64 `json:"reference_cost,omitempty"`
	Energy          *float64 `json:"energy,omitempty"`
	EnergyReference *float64 `json:"energy_reference,omitempty"`
	// EnergySaved = 1 − Energy/EnergyReference, the fraction of
	// multiplication energy saved; nil without costs.
	EnergySaved *float64 `json:"energy_saved,omitempty"`
}

// Multipliers returns each layer's multiplier name, by layer name.
func (a Assignment) Multipliers() map[string]string {
	m := make(map[string]string, len(a.Layers))
	for _, c := range a.Layers {
		m[c.Name] = c.Multiplier
	}
	return m
}

// Match gives every layer the cheapest multiplier whose predicted error
// fits the layer's tolerance |σ_l|·OutputStd_l (prediction <= tolerance).
// Among multipliers of equal rank the more accurate one (smaller
// prediction) wins, then the one listed first. A layer that no multiplier
// fits gets the most accurate one (ties to the cheaper, then the first
// listed) and Fits false; an exact multiplier in the library (prediction 0)
// always fits, so include it to keep such layers exact.
func Match(layers []LayerFacts, lib Library, o MatchOptions) (Assignment, error) {
	rank, err := lib.ranking()
	if err != nil {
		return Assignment{}, err
	}
	if len(layers) == 0 {
		return Assignment{}, errors.New("search: no layers to match")
	}
	names := map[string]bool{}
	for _, l := range layers {
		if err := l.check(len(lib)); err != nil {
			return Assignment{}, err
		}
		if names[l.Name] {
			return Assignment{}, fmt.Errorf("search: layer %q is listed twice", l.Name)
		}
		names[l.Name] = true
	}
	a := Assignment{Ranking: rank}
	for _, l := range layers {
		tol := math.Abs(l.Sigma) * l.OutputStd
		predicted := func(i int) float64 {
			p := l.Predicted[i]
			if o.WithMean {
				return math.Hypot(p.Mean, p.Std)
			}
			return p.Std
		}
		order := make([]int, len(lib))
		for i := range order {
			order[i] = i
		}
		// Cheapest first; ties to the more accurate, then library order.
		sort.SliceStable(order, func(x, y int) bool {
			i, j := order[x], order[y]
			if ki, kj := lib.key(rank, i), lib.key(rank, j); ki != kj {
				return ki < kj
			}
			return predicted(i) < predicted(j)
		})
		best, fits := -1, false
		for _, i := range order {
			if predicted(i) <= tol {
				best, fits = i, true
				break
			}
		}
		if best < 0 {
			// Nothing fits: the most accurate, ties to the cheaper.
			for _, i := range order {
				if best < 0 || predicted(i) < predicted(best) {
					best = i
				}
			}
		}
		m := lib[best]
		all := make([]float64, len(lib))
		for i, p := range l.Predicted {
			all[i] = p.Std
		}
		a.Layers = append(a.Layers, Choice{Name: l.Name, Ops: l.Ops, Sigma: l.Sigma, OutputStd: l.OutputStd,
			ToleratedStd: tol, Multiplier: m.Name, Index: best, PredictedStd: l.Predicted[best].Std,
			PredictedMean: l.Predicted[best].Mean, PredictedStds: all, Cost: m.Cost, Exact: m.Exact, Fits: fits})
	}
	if ref, ok := lib.ReferenceCost(); ok {
		var e, eRef float64
		for _, c := range a.Layers {
			e += float64(c.Ops) * *c.Cost
			eRef += float64(c.Ops) * ref
		}
		if eRef == 0 {
			return Assignment{}, errors.New("search: every multiplier costs 0: no energy saving can be measured; check the costs file")
		}
		saved := 1 - e/eRef
		a.ReferenceCost, a.Energy, a.EnergyReference, a.EnergySaved = &ref, &e, &eRef, &saved
	}
	return a, nil
}

func (l *LayerFacts) check(multipliers int) error {
	if l.Name == "" {
		return errors.New("search: a layer has no name")
	}
	if l.Ops <= 0 {
		return fmt.Errorf("search: layer %q has %d multiplications per forward pass; it needs a positive op count", l.Name, l.Ops)
	}
	if math.IsNaN(l.Sigma) || math.IsInf(l.Sigma, 0) {
		return fmt.Errorf("search: layer %q has sigma %g; the search diverged (lower lambda or the learning rate)", l.Name, l.Sigma)
	}
	if math.IsNaN(l.OutputStd) || math.IsInf(l.OutputStd, 0) || l.OutputStd < 0 {
		return fmt.Errorf("search: layer %q has output std %g; measure it on a calibration run with exact products", l.Name, l.OutputStd)
	}
	if len(l.Predicted) != multipliers {
		return fmt.Errorf("search: layer %q has %d predictions for %d multipliers", l.Name, len(l.Predicted), multipliers)
	}
	for i, p := range l.Predicted {
		if math.IsNaN(p.Std) || math.IsInf(p.Std, 0) || p.Std < 0 || math.IsNaN(p.Mean) || math.IsInf(p.Mean, 0) {
			return fmt.Errorf("search: layer %q: prediction %d is mean %g std %g; predictions must be finite, std >= 0", l.Name, i, p.Mean, p.Std)
		}
	}
	return nil
}
