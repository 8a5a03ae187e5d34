package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/goapprox/goapprox/lut"
)

// ExpandLUTs returns the multiplier list of a sweep: the arguments in the
// order given, then the table files (.npy, .bin, .csv) of dir, if any, in
// name order. The order is part of the sweep: shards select by position.
func ExpandLUTs(args []string, dir string) ([]string, error) {
	list := append([]string(nil), args...)
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("-luts: %w", err)
		}
		var files []string
		for _, e := range entries {
			if !e.IsDir() && lut.IsTableFile(e.Name()) {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("-luts %s holds no table files (.npy, .bin, .csv)", dir)
		}
		sort.Strings(files)
		list = append(list, files...)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no multipliers: give -lut SPEC|FILE (repeatable) or -luts DIR")
	}
	seen := map[string]bool{}
	for _, a := range list {
		if seen[a] {
			return nil, fmt.Errorf("multiplier %s is listed twice", a)
		}
		seen[a] = true
	}
	return list, nil
}
