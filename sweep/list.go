package sweep

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/lut"
)

// ExpandLUTs returns the multiplier list of a sweep: the arguments in the
// order given, then the table files (.npy, .bin, .csv) of dir, if any, in
// name order. The order is part of the sweep: shards select by position.
// A CSV file of dir whose first line is not a row of integers (a costs
// file kept beside the tables) is not a table and is left out.
func ExpandLUTs(args []string, dir string) ([]string, error) {
	list := append([]string(nil), args...)
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("-luts: %w", err)
		}
		var files []string
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if e.IsDir() || !lut.IsTableFile(e.Name()) {
				continue
			}
			if strings.EqualFold(filepath.Ext(path), ".csv") && !startsWithIntegers(path) {
				continue
			}
			files = append(files, path)
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

// startsWithIntegers reports whether the first line of the file at path
// that is neither empty nor a # comment holds only integers separated by
// commas, as a table CSV's rows do. A file that cannot be read counts as a
// table, so that reading it reports the error.
func startsWithIntegers(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for field := range strings.SplitSeq(line, ",") {
			if _, err := strconv.Atoi(strings.TrimSpace(field)); err != nil {
				return false
			}
		}
		return true
	}
	return true
}
