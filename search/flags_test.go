package search

import (
	"math"
	"strings"
	"testing"
)

func TestSettingsCheck(t *testing.T) {
	good := DefaultSettings()
	good.Multipliers = 3
	if err := good.Check(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	b := func(v float64) *float64 { return &v }
	cases := []struct {
		mod  func(*Settings)
		want string
	}{
		{func(s *Settings) { s.Multipliers = 0 }, "no multipliers"},
		{func(s *Settings) { s.Lambda = -0.1 }, "lambda -0.1"},
		{func(s *Settings) { s.Lambda = math.Inf(1) }, "lambda +Inf"},
		{func(s *Settings) { s.SigmaMax = 0 }, "sigma max 0"},
		{func(s *Settings) { s.SigmaMax = math.NaN() }, "sigma max NaN"},
		{func(s *Settings) { s.SigmaInitial = 0 }, "initial sigma 0"},
		{func(s *Settings) { s.SigmaInitial = -0.2 }, "initial sigma -0.2"},
		{func(s *Settings) { s.SigmaInitial = 1 }, "not below sigma max"},
		{func(s *Settings) { s.Budget = b(-1) }, "budget -1"},
		{func(s *Settings) { s.Budget = b(math.NaN()) }, "budget NaN"},
	}
	for _, c := range cases {
		s := good
		c.mod(&s)
		err := s.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
	ok := good
	ok.Lambda, ok.Budget = 0, b(0)
	if err := ok.Check(); err != nil {
		t.Errorf("lambda 0 and budget 0 are valid: %v", err)
	}
}
