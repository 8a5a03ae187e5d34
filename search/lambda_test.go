package search

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// monotone loses 10·lambda points from an exact accuracy of 0.99 and saves
// lambda/(1+lambda) of the energy.
func monotone(calls *[]float64) func(float64) (Outcome, error) {
	return func(l float64) (Outcome, error) {
		*calls = append(*calls, l)
		s := l / (1 + l)
		return Outcome{EnergySaved: &s, Accuracy: 0.99 - 0.1*l}, nil
	}
}

func TestSearchLambdaSchedule(t *testing.T) {
	var calls []float64
	r, err := SearchLambda(monotone(&calls), 0.99, 1, DefaultSchedule())
	if err != nil {
		t.Fatal(err)
	}
	// Losses 0.05, 0.5, 5 points: the grid stops at 0.5; bisection tries
	// sqrt(0.05·0.5) (1.58 points: out) and sqrt(0.05·0.158) (0.89: in).
	m1 := math.Sqrt(0.05 * 0.5)
	m2 := math.Sqrt(0.05 * m1)
	want := []float64{0.005, 0.05, 0.5, m1, m2}
	if len(calls) != len(want) {
		t.Fatalf("tried %v, want %v", calls, want)
	}
	for i := range want {
		if math.Abs(calls[i]-want[i]) > 1e-12 || r.Points[i].Lambda != calls[i] {
			t.Errorf("try %d: lambda %v, want %v", i, calls[i], want[i])
		}
	}
	phases := []string{"coarse", "coarse", "coarse", "refine", "refine"}
	within := []bool{true, true, false, false, true}
	for i, p := range r.Points {
		if p.Phase != phases[i] || p.WithinBudget != within[i] || math.Abs(p.Loss-100*0.1*p.Lambda) > 1e-9 {
			t.Errorf("point %d: %+v", i, p)
		}
	}
	if r.Best != 4 {
		t.Errorf("best %d, want 4", r.Best)
	}
}

// For any budget the answer is within the budget and, after R bisection
// steps, within a factor 10^(1/2^R) of the largest lambda that is.
func TestSearchLambdaConverges(t *testing.T) {
	s := Schedule{Min: 0.001, Decades: 4, Refine: 5}
	for _, budget := range []float64{0.02, 0.3, 1, 2.5, 7, 9.99} {
		var calls []float64
		r, err := SearchLambda(monotone(&calls), 0.99, budget, s)
		if err != nil {
			t.Fatal(err)
		}
		b := r.Points[r.Best]
		limit := budget / 10
		if b.Lambda > limit*(1+1e-9) || b.Lambda < limit/math.Pow(10, 1/32.0) {
			t.Errorf("budget %v: best lambda %v, the largest within it is %v", budget, b.Lambda, limit)
		}
	}
}

func TestSearchLambdaEveryGridPointFits(t *testing.T) {
	var calls []float64
	r, err := SearchLambda(monotone(&calls), 0.99, 50, DefaultSchedule())
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || r.Points[r.Best].Lambda != 0.5 {
		t.Errorf("tried %v, best %+v; want the grid only and 0.5", calls, r.Points[r.Best])
	}
}

func TestSearchLambdaBudgetNotMet(t *testing.T) {
	var calls []float64
	r, err := SearchLambda(monotone(&calls), 0.99, 0.01, DefaultSchedule())
	if !errors.Is(err, ErrBudgetNotMet) || !strings.Contains(err.Error(), "0.005") || !strings.Contains(err.Error(), "raise -budget") {
		t.Errorf("error %v", err)
	}
	if len(r.Points) != 1 || r.Best != -1 {
		t.Errorf("points %v best %d; want the one point tried and no best", r.Points, r.Best)
	}
}

// The best point is the largest saving, not the largest lambda; equal
// savings go to the higher accuracy; without savings, the largest lambda.
func TestSearchLambdaBestPoint(t *testing.T) {
	table := map[float64]Outcome{}
	save := func(v float64) *float64 { return &v }
	table[0.005] = Outcome{EnergySaved: save(0.5), Accuracy: 0.985}
	table[0.05] = Outcome{EnergySaved: save(0.4), Accuracy: 0.985}
	table[0.5] = Outcome{EnergySaved: save(0.5), Accuracy: 0.986}
	eval := func(l float64) (Outcome, error) { return table[l], nil }
	r, err := SearchLambda(eval, 0.99, 1, Schedule{Min: 0.005, Decades: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Points[r.Best].Lambda != 0.5 {
		t.Errorf("best %+v, want lambda 0.5 (saving 0.5 at the higher accuracy)", r.Points[r.Best])
	}
	table[0.5] = Outcome{EnergySaved: save(0.5), Accuracy: 0.985}
	if r, _ = SearchLambda(eval, 0.99, 1, Schedule{Min: 0.005, Decades: 3}); r.Points[r.Best].Lambda != 0.005 {
		t.Errorf("full tie: best %+v, want the smaller lambda", r.Points[r.Best])
	}
	for l, o := range table {
		o.EnergySaved = nil
		table[l] = o
	}
	if r, _ = SearchLambda(eval, 0.99, 1, Schedule{Min: 0.005, Decades: 3}); r.Points[r.Best].Lambda != 0.5 {
		t.Errorf("no savings: best %+v, want the largest lambda", r.Points[r.Best])
	}
}

func TestSearchLambdaErrors(t *testing.T) {
	var calls []float64
	ok := monotone(&calls)
	failing := func(l float64) (Outcome, error) {
		if l > 0.01 {
			return Outcome{}, errors.New("out of memory")
		}
		return ok(l)
	}
	cases := []struct {
		eval   func(float64) (Outcome, error)
		exact  float64
		budget float64
		s      Schedule
		want   string
	}{
		{ok, 0.99, -1, DefaultSchedule(), "budget"},
		{ok, 0.99, math.NaN(), DefaultSchedule(), "budget"},
		{ok, 1.5, 1, DefaultSchedule(), "exact accuracy"},
		{ok, 0.99, 1, Schedule{Min: 0, Decades: 3}, "smallest lambda"},
		{ok, 0.99, 1, Schedule{Min: 1, Decades: 0}, "decades"},
		{ok, 0.99, 1, Schedule{Min: 1, Decades: 1, Refine: -1}, "refinement"},
		{failing, 0.99, 1, DefaultSchedule(), "lambda 0.05: out of memory"},
		{func(float64) (Outcome, error) { return Outcome{Accuracy: math.NaN()}, nil }, 0.99, 1, DefaultSchedule(), "accuracy NaN"},
	}
	for i, c := range cases {
		r, err := SearchLambda(c.eval, c.exact, c.budget, c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, c.want)
		}
		if r.Best != -1 {
			t.Errorf("case %d: best %d after an error", i, r.Best)
		}
	}
}
