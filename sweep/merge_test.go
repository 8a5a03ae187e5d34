package sweep

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func fakeSweep(luts []string, s *Shard) Result {
	r := Result{CheckpointSHA256: "abc", Model: "mlp", Dataset: "digits", LUTs: luts, AccuracyExact: 0.9, Shard: s, Rows: []Row{}}
	sel := Whole.Select(len(luts))
	if s != nil {
		sel = s.Select(len(luts))
	}
	for _, i := range sel {
		r.Rows = append(r.Rows, Row{Index: i, LUT: luts[i], Name: luts[i], MAE: float64(i), AccuracyBefore: 0.5 + float64(i)/100})
	}
	return r
}

func TestMergeEqualsWhole(t *testing.T) {
	luts := []string{"a", "b", "c", "d", "e"}
	whole := fakeSweep(luts, nil)
	parts := []Result{fakeSweep(luts, &Shard{1, 2}), fakeSweep(luts, &Shard{0, 2})}
	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(merged, whole) {
		t.Fatalf("merged %+v\nwhole  %+v", merged, whole)
	}
	// Written files are byte-identical too.
	d1, d2 := t.TempDir(), t.TempDir()
	if err := Write(d1, whole); err != nil {
		t.Fatal(err)
	}
	if err := Write(d2, merged); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{CSVFile, JSONFile, MDFile, PlotMAE, PlotBars} {
		a, _ := os.ReadFile(filepath.Join(d1, f))
		b, _ := os.ReadFile(filepath.Join(d2, f))
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s differs between the whole and the merged sweep", f)
		}
	}
}

func TestMergeErrors(t *testing.T) {
	luts := []string{"a", "b", "c"}
	s0, s1 := fakeSweep(luts, &Shard{0, 2}), fakeSweep(luts, &Shard{1, 2})
	other := fakeSweep(luts, &Shard{1, 2})
	other.CheckpointSHA256 = "def"
	partial := fakeSweep(luts, &Shard{1, 2})
	partial.Rows = nil
	for _, tc := range []struct {
		parts []Result
		want  string
	}{
		{nil, "nothing to merge"},
		{[]Result{s0}, "shard 1/2 is missing"},
		{[]Result{s0, s0}, "given twice"},
		{[]Result{s0, other}, "another checkpoint"},
		{[]Result{s0, partial}, "incomplete"},
		{[]Result{s0, fakeSweep([]string{"a", "b", "x"}, &Shard{1, 2})}, "another multiplier list"},
		{[]Result{s0, fakeSweep(luts, &Shard{1, 3})}, "3 shards"},
		{[]Result{fakeSweep(luts, nil)}, "whole sweep"},
	} {
		_, err := Merge(tc.parts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to mention %q", err, tc.want)
		}
	}
	if _, err := Merge([]Result{s1, s0}); err != nil {
		t.Errorf("shards in any order: %v", err)
	}
}
