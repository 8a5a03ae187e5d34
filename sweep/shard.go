package sweep

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one slice of a sweep: Index of Count, 0-based. The zero value
// is not valid; Whole is the single shard that runs everything.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Whole is the unsharded sweep.
var Whole = Shard{Index: 0, Count: 1}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// IsWhole reports whether the shard runs the whole list.
func (s Shard) IsWhole() bool { return s.Count == 1 }

// Validate checks 0 <= Index < Count.
func (s Shard) Validate() error {
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: the index must be in 0..count-1 and the count at least 1", s.Index, s.Count)
	}
	return nil
}

// Select returns the positions in a list of n items that the shard runs:
// every Count-th, starting at Index. Interleaving rather than cutting the
// list into blocks spreads similar neighbours (a family of one design at
// rising error) over the shards.
func (s Shard) Select(n int) []int {
	var idx []int
	for i := s.Index; i < n; i += s.Count {
		idx = append(idx, i)
	}
	return idx
}

// ParseShard parses "i/n" (0-based i).
func ParseShard(v string) (Shard, error) {
	a, b, ok := strings.Cut(v, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: write it as INDEX/COUNT, e.g. 0/4 (0-based)", v)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: INDEX and COUNT must be integers, e.g. 0/4", v)
	}
	s := Shard{Index: i, Count: n}
	return s, s.Validate()
}

// ShardFromEnv finds the shard of a cluster job in the environment (looked
// up with getenv):
//
//   - Slurm job arrays: SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, the
//     index counted from SLURM_ARRAY_TASK_MIN (so --array=1-4 works too);
//     count, when not 0, must agree with the array's size.
//   - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with count (the Job's
//     completions) given on the command line, since the pod does not see it.
//
// ok is false when neither is set.
func ShardFromEnv(getenv func(string) string, count int) (s Shard, ok bool, err error) {
	atoi := func(name string) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(getenv(name)))
		if err != nil {
			return 0, fmt.Errorf("%s=%q is not an integer", name, getenv(name))
		}
		return v, nil
	}
	if getenv("SLURM_ARRAY_TASK_ID") != "" {
		id, err := atoi("SLURM_ARRAY_TASK_ID")
		if err != nil {
			return Shard{}, true, err
		}
		first := 0
		if getenv("SLURM_ARRAY_TASK_MIN") != "" {
			if first, err = atoi("SLURM_ARRAY_TASK_MIN"); err != nil {
				return Shard{}, true, err
			}
		}
		n := count
		if getenv("SLURM_ARRAY_TASK_COUNT") != "" {
			if n, err = atoi("SLURM_ARRAY_TASK_COUNT"); err != nil {
				return Shard{}, true, err
			}
			if count != 0 && count != n {
				return Shard{}, true, fmt.Errorf("-shard-count %d disagrees with SLURM_ARRAY_TASK_COUNT=%d", count, n)
			}
		}
		if n == 0 {
			return Shard{}, true, fmt.Errorf("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT: give -shard-count")
		}
		s = Shard{Index: id - first, Count: n}
		if err := s.Validate(); err != nil {
			return Shard{}, true, fmt.Errorf("from SLURM_ARRAY_TASK_ID=%d (min %d): %w; use a contiguous array such as --array=0-%d", id, first, err, n-1)
		}
		return s, true, nil
	}
	if getenv("JOB_COMPLETION_INDEX") != "" {
		id, err := atoi("JOB_COMPLETION_INDEX")
		if err != nil {
			return Shard{}, true, err
		}
		if count == 0 {
			return Shard{}, true, fmt.Errorf("JOB_COMPLETION_INDEX is set: give -shard-count N (the Job's completions)")
		}
		s = Shard{Index: id, Count: count}
		if err := s.Validate(); err != nil {
			return Shard{}, true, fmt.Errorf("from JOB_COMPLETION_INDEX=%d: %w", id, err)
		}
		return s, true, nil
	}
	return Shard{}, false, nil
}
