package compare

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/search"
	"github.com/goapprox/goapprox/sweep"
)

// Method is one way of giving the layers multipliers.
type Method string

// The three methods, in the order reports list them.
const (
	// Uniform is one multiplier in every layer (a sweep with retraining).
	Uniform Method = "uniform"
	// Greedy is train assign's per-layer greedy choice.
	Greedy Method = "greedy"
	// Search is train search's gradient search (every lambda it tried).
	Search Method = "search"
)

// Methods lists the methods in report order.
func Methods() []Method { return []Method{Uniform, Greedy, Search} }

// Point is one assignment: its multiplication energy saved against the
// exact multiplier everywhere and its accuracy after retraining (fractions).
type Point struct {
	Method Method `json:"method"`
	// Label says which assignment: the multiplier, the budget of assign,
	// or the lambda of a search.
	Label string `json:"label"`
	// Source is the run folder the point comes from.
	Source        string  `json:"source"`
	EnergySaved   float64 `json:"energy_saved"`
	AccuracyAfter float64 `json:"accuracy_after"`
	// AccuracyBefore is the accuracy before retraining where the run
	// recorded it.
	AccuracyBefore *float64 `json:"accuracy_before,omitempty"`
}

// Set is the points of runs on one trained model.
type Set struct {
	Model, Dataset string
	// AccuracyExact is the model's accuracy with exact products, which
	// every run measured.
	AccuracyExact float64
	Points        []Point
	// Notes say what the runs held that the comparison leaves out.
	Notes []string
	runs  int
	// sha is the checkpoint's SHA-256 as the first run recording it
	// (sweeps and assignments) gave it.
	sha string
}

// File names a comparison writes.
const (
	CSVFile  = "compare.csv"
	MDFile   = "compare.md"
	PlotFile = "compare.png"
)

// Load reads every run folder in dirs: each holds a sweep (sweep.json, with
// retraining and costs), an assignment (assignment.json, retrained) or a
// search (search.json, with costs).
func Load(dirs []string) (*Set, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no run folders given: name sweep, assign and search folders of one checkpoint")
	}
	s := &Set{}
	for _, dir := range dirs {
		if err := s.load(dir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Set) load(dir string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a folder: name the folders of train sweep, assign and search runs", dir)
	}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	switch {
	case exists(sweep.JSONFile):
		r, err := sweep.ReadResult(dir)
		if err != nil {
			return err
		}
		return s.AddSweep(dir, r)
	case exists(sweep.AssignmentJSON):
		a, err := sweep.ReadAssignment(dir)
		if err != nil {
			return err
		}
		return s.AddAssignment(dir, a)
	case exists(search.ReportJSON):
		r, err := search.ReadReport(filepath.Join(dir, search.ReportJSON))
		if err != nil {
			return err
		}
		return s.AddSearch(dir, r)
	}
	return fmt.Errorf("%s holds none of %s (train sweep), %s (train assign) and %s (train search)",
		dir, sweep.JSONFile, sweep.AssignmentJSON, search.ReportJSON)
}

// join checks that a run is of the same model as the runs before it: the
// same model, data set and exact accuracy (which the same checkpoint
// always measures), and the same checkpoint where the runs record its
// SHA-256 (sha, "" when the run does not).
func (s *Set) join(dir, model, dataset string, exact float64, sha string) error {
	if s.runs == 0 {
		s.Model, s.Dataset, s.AccuracyExact = model, dataset, exact
	} else if model != s.Model || dataset != s.Dataset || exact != s.AccuracyExact {
		return fmt.Errorf("%s is of %s on %s with exact accuracy %.4f%%, the runs before it of %s on %s with %.4f%%: compare runs of one checkpoint",
			dir, model, dataset, 100*exact, s.Model, s.Dataset, 100*s.AccuracyExact)
	}
	if sha != "" {
		if s.sha == "" {
			s.sha = sha
		} else if sha != s.sha {
			return fmt.Errorf("%s was made from another checkpoint (SHA-256 %.12s…) than the runs before it (%.12s…): compare runs of one checkpoint", dir, sha, s.sha)
		}
	}
	s.runs++
	return nil
}

// AddSweep adds a point per multiplier of a sweep that was retrained and
// has a power; the saving is relative to the sweep's exact multiplier.
func (s *Set) AddSweep(dir string, r sweep.Result) error {
	if r.Shard != nil {
		return fmt.Errorf("%s is one shard of a sweep: merge the shards first (train merge)", dir)
	}
	if r.RetrainEpochs == 0 {
		return fmt.Errorf("the sweep in %s did not retrain (-retrain-epochs 0): the methods are compared after retraining", dir)
	}
	exactPower := math.NaN()
	for _, row := range r.Rows {
		if row.MAE == 0 && row.WCE == 0 && row.Power != nil {
			exactPower = *row.Power
			break
		}
	}
	if math.IsNaN(exactPower) || exactPower <= 0 {
		return fmt.Errorf("the sweep in %s has no exact multiplier with a power (include one, e.g. mul8u_1JFF.bin, with -costs): its savings have no reference", dir)
	}
	if err := s.join(dir, r.Model, r.Dataset, r.AccuracyExact, r.CheckpointSHA256); err != nil {
		return err
	}
	var unpriced []string
	for _, row := range r.Rows {
		if row.Power == nil {
			unpriced = append(unpriced, row.Name)
			continue
		}
		if row.AccuracyAfter == nil {
			continue
		}
		before := row.AccuracyBefore
		s.Points = append(s.Points, Point{Method: Uniform, Label: row.Name, Source: dir,
			EnergySaved: 1 - *row.Power/exactPower, AccuracyAfter: *row.AccuracyAfter, AccuracyBefore: &before})
	}
	if len(unpriced) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("the sweep in %s has no power for %s: left out (give them a row in its -costs)", dir, strings.Join(unpriced, ", ")))
	}
	return nil
}

// AddAssignment adds a retrained assignment of train assign.
func (s *Set) AddAssignment(dir string, a sweep.Assignment) error {
	allExact := len(a.LayerLUTs()) == 0
	if a.AccuracyRetrained == nil && !allExact {
		return fmt.Errorf("the assignment in %s was not retrained (-retrain-epochs 0): the methods are compared after retraining; run train assign again with -retrain-epochs N", dir)
	}
	if err := s.join(dir, a.Model, a.Dataset, a.AccuracyExact, a.CheckpointSHA256); err != nil {
		return err
	}
	if allExact {
		// Every layer kept the exact multiplier: nothing to retrain, the
		// exact model's accuracy at no saving.
		s.Points = append(s.Points, Point{Method: Greedy, Label: fmt.Sprintf("max loss %.2f points: every layer exact", 100*a.MaxLoss),
			Source: dir, EnergySaved: 0, AccuracyAfter: a.AccuracyExact})
		return nil
	}
	label := fmt.Sprintf("max loss %.2f points", 100*a.MaxLoss)
	if a.RankRetrainEpochs > 0 {
		label += fmt.Sprintf(", ranked after %d epoch(s) on %d samples", a.RankRetrainEpochs, a.RankRetrainSamples)
	}
	var before *float64
	if len(a.LayerLUTs()) > 0 && a.RankRetrainEpochs == 0 {
		v := a.Accuracy // measured before retraining
		before = &v
	}
	s.Points = append(s.Points, Point{Method: Greedy, Label: label, Source: dir,
		EnergySaved: a.Saving, AccuracyAfter: *a.AccuracyRetrained, AccuracyBefore: before})
	return nil
}

// AddSearch adds every lambda a search tried (each assigned and
// retrained).
func (s *Set) AddSearch(dir string, r search.Report) error {
	if r.RetrainEpochs == 0 {
		return fmt.Errorf("the search in %s did not retrain (-retrain-epochs 0): the methods are compared after retraining", dir)
	}
	if r.EnergySaved == nil {
		return fmt.Errorf("the search in %s has no energy savings (run it with -costs)", dir)
	}
	if err := s.join(dir, r.Model, r.Dataset, r.AccuracyExact, ""); err != nil {
		return err
	}
	for _, q := range r.LambdasTried {
		if q.EnergySaved == nil {
			continue
		}
		p := Point{Method: Search, Label: "λ " + strconv.FormatFloat(q.Lambda, 'g', 4, 64), Source: dir,
			EnergySaved: *q.EnergySaved, AccuracyAfter: q.Accuracy}
		switch {
		case q.AccuracyBefore != 0:
			before := q.AccuracyBefore
			p.AccuracyBefore = &before
		case q.Lambda == r.Lambda: // a report that records it for the chosen lambda only
			before := r.AccuracyBefore
			p.AccuracyBefore = &before
		}
		s.Points = append(s.Points, p)
	}
	return nil
}

// Within reports whether p loses at most budget points against the exact
// model.
func (s *Set) Within(p Point, budget float64) bool {
	return search.WithinBudget(100*(s.AccuracyExact-p.AccuracyAfter), budget)
}

// Best returns the point of method m that saves the most energy within
// budget points of the exact accuracy (ties: the higher accuracy); ok is
// false when none is within it. The lambdas of several search runs (one
// per budget, say) all count as points of the search.
func (s *Set) Best(m Method, budget float64) (best Point, ok bool) {
	for _, p := range s.Points {
		if p.Method != m || !s.Within(p, budget) {
			continue
		}
		if !ok || p.EnergySaved > best.EnergySaved || (p.EnergySaved == best.EnergySaved && p.AccuracyAfter > best.AccuracyAfter) {
			best, ok = p, true
		}
	}
	return best, ok
}

// CSV returns every point as a CSV table, sorted by method, then saving.
func (s *Set) CSV() []byte {
	pts := s.sorted()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"method", "label", "energy_saved", "accuracy_after", "accuracy_before", "loss_points", "source"})
	for _, p := range pts {
		before := ""
		if p.AccuracyBefore != nil {
			before = strconv.FormatFloat(*p.AccuracyBefore, 'g', -1, 64)
		}
		w.Write([]string{string(p.Method), p.Label, strconv.FormatFloat(p.EnergySaved, 'g', -1, 64),
			strconv.FormatFloat(p.AccuracyAfter, 'g', -1, 64), before,
			strconv.FormatFloat(100*(s.AccuracyExact-p.AccuracyAfter), 'f', 4, 64), p.Source})
	}
	w.Flush()
	return b.Bytes()
}

func (s *Set) sorted() []Point {
	order := map[Method]int{}
	for i, m := range Methods() {
		order[m] = i
	}
	pts := append([]Point(nil), s.Points...)
	sort.SliceStable(pts, func(i, j int) bool {
		if pts[i].Method != pts[j].Method {
			return order[pts[i].Method] < order[pts[j].Method]
		}
		return pts[i].EnergySaved < pts[j].EnergySaved
	})
	return pts
}

// Table is a Markdown table of each method's best point within each budget
// (points below the exact accuracy).
func (s *Set) Table(budgets []float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s, exact products %.2f%%. Energy saved: multiplications, against the exact multiplier everywhere; accuracy after retraining (before it, where recorded).\n\n",
		s.Model, s.Dataset, 100*s.AccuracyExact)
	b.WriteString("| budget | method | assignment | energy saved | accuracy after retraining |\n|---|---|---|---:|---:|\n")
	for _, budget := range budgets {
		for i, m := range Methods() {
			first := ""
			if i == 0 {
				first = fmt.Sprintf("%s (≥ %.2f%%)", points(budget), 100*s.AccuracyExact-budget)
			}
			p, ok := s.Best(m, budget)
			if !ok {
				fmt.Fprintf(&b, "| %s | %s | none within the budget | | |\n", first, m)
				continue
			}
			acc := fmt.Sprintf("%.2f%%", 100*p.AccuracyAfter)
			if p.AccuracyBefore != nil {
				acc += fmt.Sprintf(" (%.2f%%)", 100**p.AccuracyBefore)
			}
			label := p.Label
			if m != Uniform {
				label += " (" + filepath.Base(p.Source) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f%% | %s |\n", first, m, label, 100*p.EnergySaved, acc)
		}
	}
	return b.String()
}

// CheckBudgets returns the first budget that is not a finite number of
// points >= 0 (search.CheckBudget's rule).
func CheckBudgets(budgets []float64) error {
	seen := map[float64]bool{}
	for _, b := range budgets {
		if search.CheckBudget(b) != nil {
			return fmt.Errorf("budget %g points must be a number from 0 to 100", b)
		}
		if seen[b] {
			return fmt.Errorf("budget %g points is given twice", b)
		}
		seen[b] = true
	}
	return nil
}

// Write saves the comparison into dir: compare.csv (every point),
// compare.md (the best point of each method per budget) and compare.png
// (the points, with the exact accuracy and the budgets), each atomically.
// The plot shows accuracies down to floor points below the exact model.
func Write(dir string, s *Set, budgets []float64, floor float64) error {
	if err := CheckBudgets(budgets); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, CSVFile), s.CSV()); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, MDFile), []byte(s.Table(budgets))); err != nil {
		return err
	}
	png, err := s.Plot(budgets, floor)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, PlotFile), png)
}

// points writes an accuracy difference in points: "1 point", "0.5 points".
func points(v float64) string {
	if v == 1 {
		return "1 point"
	}
	return fmt.Sprintf("%g points", v)
}
