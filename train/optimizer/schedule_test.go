package optimizer

import (
	"math"
	"testing"
)

// TestSchedules checks each schedule against rates worked out by hand for
// a stage of 4 epochs of 10 steps at base rate 0.2.
func TestSchedules(t *testing.T) {
	at := func(epoch, step int) Position {
		return Position{Epoch: epoch, Step: step, StepsPerEpoch: 10, Epochs: 4}
	}
	cases := []struct {
		name  string
		s     Schedule
		pos   Position
		want  float64
		exact bool
	}{
		{"constant", Constant{}, at(3, 7), 0.2, true},
		{"cosine start", Cosine{}, at(1, 0), 0.2, true},
		// Halfway (step 20 of 40): cos(π/2) = 0, half the rate.
		{"cosine middle", Cosine{}, at(3, 0), 0.1, false},
		// Step 30 of 40: (1+cos(3π/4))/2 = (1-√2/2)/2.
		{"cosine 3/4", Cosine{}, at(4, 0), 0.2 * (1 - math.Sqrt2/2) / 2, false},
		// An epoch past the plan: the stage is taken to end with it
		// (step 40 of 50).
		{"cosine past the end", Cosine{}, at(5, 0), 0.2 * (1 + math.Cos(math.Pi*0.8)) / 2, false},
		{"multistep before", MultiStep{Milestones: []int{2, 3}, Gamma: 0.1}, at(2, 9), 0.2, true},
		{"multistep after one", MultiStep{Milestones: []int{2, 3}, Gamma: 0.1}, at(3, 0), 0.02, false},
		{"multistep after two", MultiStep{Milestones: []int{2, 3}, Gamma: 0.1}, at(4, 5), 0.002, false},
		{"multistep gamma 0.5", MultiStep{Milestones: []int{1}, Gamma: 0.5}, at(2, 0), 0.1, true},
		// Warm-up over 1 epoch (10 steps): step t gives (t+1)/10 of the rate.
		{"warmup first step", Warmup{Epochs: 1, Then: Constant{}}, at(1, 0), 0.02, false},
		{"warmup fifth step", Warmup{Epochs: 1, Then: Constant{}}, at(1, 4), 0.1, false},
		{"warmup last step", Warmup{Epochs: 1, Then: Constant{}}, at(1, 9), 0.2, false},
		{"after warmup", Warmup{Epochs: 1, Then: Constant{}}, at(2, 0), 0.2, true},
		// Warm-up times the cosine: step 4 of 40 is 5/20 of
		// 0.2·(1+cos(π/10))/2.
		{"warmup cosine", Warmup{Epochs: 2, Then: Cosine{}}, at(1, 4), 0.25 * 0.2 * (1 + math.Cos(math.Pi/10)) / 2, false},
		{"warmup multistep", Warmup{Epochs: 1, Then: MultiStep{Milestones: []int{1}, Gamma: 0.1}}, at(2, 3), 0.02, false},
	}
	for _, tc := range cases {
		got := tc.s.LR(0.2, tc.pos)
		if tc.exact && got != tc.want || math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
