package sweep

import (
	"reflect"
	"strings"
	"testing"
)

func TestShardSelectCoversListOnce(t *testing.T) {
	for n := 0; n <= 7; n++ {
		for count := 1; count <= 4; count++ {
			seen := make([]int, n)
			for i := 0; i < count; i++ {
				for _, k := range (Shard{i, count}).Select(n) {
					seen[k]++
				}
			}
			for k, c := range seen {
				if c != 1 {
					t.Fatalf("n=%d count=%d: position %d run %d times", n, count, k, c)
				}
			}
		}
	}
	if got := (Shard{1, 3}).Select(8); !reflect.DeepEqual(got, []int{1, 4, 7}) {
		t.Errorf("shard 1/3 of 8: %v", got)
	}
}

func TestParseShard(t *testing.T) {
	s, err := ParseShard("2/5")
	if err != nil || s != (Shard{2, 5}) {
		t.Fatalf("2/5: %v %v", s, err)
	}
	for _, bad := range []string{"5/5", "-1/3", "1", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		name  string
		get   func(string) string
		count int
		want  Shard
		ok    bool
		err   string
	}{
		{"none", env(), 0, Shard{}, false, ""},
		{"slurm 0-based", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN", "0"), 0, Shard{2, 4}, true, ""},
		{"slurm 1-based array", env("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN", "1"), 0, Shard{3, 4}, true, ""},
		{"slurm count disagrees", env("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_COUNT", "4"), 3, Shard{}, true, "disagrees"},
		{"slurm no count", env("SLURM_ARRAY_TASK_ID", "0"), 0, Shard{}, true, "-shard-count"},
		{"kubernetes", env("JOB_COMPLETION_INDEX", "1"), 3, Shard{1, 3}, true, ""},
		{"kubernetes without count", env("JOB_COMPLETION_INDEX", "1"), 0, Shard{}, true, "-shard-count"},
		{"kubernetes out of range", env("JOB_COMPLETION_INDEX", "3"), 3, Shard{}, true, "index"},
		{"not a number", env("JOB_COMPLETION_INDEX", "x"), 3, Shard{}, true, "not an integer"},
	} {
		s, ok, err := ShardFromEnv(tc.get, tc.count)
		if ok != tc.ok || (tc.err == "" && (err != nil || s != tc.want)) || (tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err))) {
			t.Errorf("%s: got %v %v %v, want %v %v error containing %q", tc.name, s, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}
