package sweep

import "testing"

// FuzzParseShard: any -shard value is a valid shard that prints back to
// itself, or an error.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/4", "3/4", "4/4", "-1/2", "1", "a/b", " 1 / 2 ", "0/0", "9223372036854775807/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ParseShard(v)
		if err != nil {
			return
		}
		if s.Validate() != nil {
			t.Fatalf("%q parsed into invalid %v", v, s)
		}
		if again, err := ParseShard(s.String()); err != nil || again != s {
			t.Fatalf("%q -> %v -> %v, %v", v, s, again, err)
		}
		// The shard selects a share of a list without going out of range.
		for _, i := range s.Select(10) {
			if i < 0 || i >= 10 {
				t.Fatalf("%v selects %d of 10", s, i)
			}
		}
	})
}

// FuzzShardFromEnv: any Slurm or Kubernetes environment gives a valid
// shard, no shard, or an error.
func FuzzShardFromEnv(f *testing.F) {
	f.Add("3", "4", "0", "", 0)
	f.Add("4", "4", "1", "", 4)
	f.Add("", "", "", "2", 4)
	f.Add("", "", "", "2", 0)
	f.Add("x", "4", "", "", 0)
	f.Fuzz(func(t *testing.T, id, count, min, index string, n int) {
		env := map[string]string{"SLURM_ARRAY_TASK_ID": id, "SLURM_ARRAY_TASK_COUNT": count,
			"SLURM_ARRAY_TASK_MIN": min, "JOB_COMPLETION_INDEX": index}
		s, ok, err := ShardFromEnv(func(k string) string { return env[k] }, n)
		if err != nil || !ok {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("env %v count %d gave invalid shard %v: %v", env, n, s, err)
		}
		if n > 0 && s.Count != n {
			t.Fatalf("env %v: shard %v ignores the count %d", env, s, n)
		}
	})
}
