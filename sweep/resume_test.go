package sweep

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRecordDifferences(t *testing.T) {
	base := Record{Checkpoint: "a.ckpt", CheckpointSHA256: "aaaaaaaaaaaaaaaa", LUTs: []string{"x", "y", "z"},
		Shard: Shard{1, 2}, RetrainEpochs: 1, RetrainLR: 0.01, DataDir: "", CostsSHA256: "c1"}
	moved := base
	moved.Checkpoint = "elsewhere/a.ckpt" // same digest: the same model
	if d := base.Differences(moved); len(d) != 0 {
		t.Fatalf("a moved checkpoint with the same digest: %q", d)
	}
	// A -data folder recorded relative is the same as it made absolute
	// from the working directory.
	rel, now := base, base
	rel.DataDir = "data"
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	now.DataDir = filepath.Join(wd, "data")
	if d := rel.Differences(now); len(d) != 0 {
		t.Errorf("-data recorded as data, given as %s: %q", now.DataDir, d)
	}
	for _, tc := range []struct {
		change func(*Record)
		want   string
	}{
		{func(r *Record) { r.CheckpointSHA256 = "bbbbbbbbbbbbbbbb" }, "-checkpoint: a.ckpt has sha256 bbbbbbbbbbbb…, the earlier run used a.ckpt with aaaaaaaaaaaa…"},
		{func(r *Record) { r.LUTs = []string{"x", "w", "z"} }, "entry 1 is w now, y in the earlier run"},
		{func(r *Record) { r.LUTs = []string{"x", "y"} }, "2 entries now, 3 in the earlier run"},
		{func(r *Record) { r.Shard = Shard{0, 2} }, "shard: 0/2 now, 1/2 in the earlier run"},
		{func(r *Record) { r.RetrainEpochs = 3 }, "-retrain-epochs: 3 now, 1 in the earlier run"},
		{func(r *Record) { r.RetrainLR = 0.1 }, "-retrain-lr: 0.1 now, 0.01 in the earlier run"},
		{func(r *Record) { r.DataDir = "/data" }, `-data: "/data" now, "" in the earlier run`},
		{func(r *Record) { r.CostsSHA256 = "" }, "-costs: the costs differ"},
	} {
		now := base
		now.LUTs = append([]string(nil), base.LUTs...)
		tc.change(&now)
		d := base.Differences(now)
		if len(d) != 1 || !strings.Contains(d[0], tc.want) {
			t.Errorf("got %q, want one difference containing %q", d, tc.want)
		}
	}
}

func TestCostsDigest(t *testing.T) {
	a, err := ParseCosts(strings.NewReader("name,power,area\nm1,1,2\nm2,0.5,\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseCosts(strings.NewReader("area,name,power\n,m2,0.50\n2.0,m1,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCosts(strings.NewReader("name,power,area\nm1,1,2\nm2,0.6,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if CostsDigest(a) != CostsDigest(b) || CostsDigest(a) == CostsDigest(c) || CostsDigest(nil) != "" || CostsDigest(a) == "" {
		t.Fatalf("digests: same costs reordered %q %q, other costs %q, none %q", CostsDigest(a), CostsDigest(b), CostsDigest(c), CostsDigest(nil))
	}
}

func TestResume(t *testing.T) {
	luts := []string{"a", "b", "c", "d", "e"}
	s := Shard{0, 2}
	rec := Record{CheckpointSHA256: "abc", LUTs: luts, Shard: s, RetrainEpochs: 0}

	dir := t.TempDir()
	if _, started, err := Resume(dir, rec); started || err != nil {
		t.Fatalf("empty folder: started %v, %v; want nothing started", started, err)
	}
	// A sweep without a record (an older version's, a merge's) cannot be checked.
	if err := Write(dir, fakeSweep(luts, &s)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Resume(dir, rec); err == nil || !strings.Contains(err.Error(), "holds a sweep without the record of its settings (sweep-run.json)") {
		t.Fatalf("sweep without a record: %v", err)
	}
	os.Remove(filepath.Join(dir, JSONFile))
	if err := WriteRecord(dir, rec); err != nil {
		t.Fatal(err)
	}
	// Killed before the first row.
	r, started, err := Resume(dir, rec)
	if err != nil || !started || len(r.Rows) != 0 {
		t.Fatalf("record without rows: %+v, %v, %v", r, started, err)
	}
	other := rec
	other.RetrainEpochs = 2
	if _, _, err := Resume(dir, other); err == nil || !strings.Contains(err.Error(), "started with other settings:\n  -retrain-epochs: 2 now, 0 in the earlier run") {
		t.Fatalf("other settings: %v", err)
	}

	// Two of the shard's three rows saved.
	part := fakeSweep(luts, &s)
	part.Rows = part.Rows[:2]
	if err := Write(dir, part); err != nil {
		t.Fatal(err)
	}
	r, _, err = Resume(dir, rec)
	if err != nil || !reflect.DeepEqual(r.Rows, part.Rows) {
		t.Fatalf("resume: %+v, %v; want %+v", r.Rows, err, part.Rows)
	}

	// A sweep.json of another run, or with another shard's row.
	foreign := part
	foreign.CheckpointSHA256 = "def"
	if err := Write(dir, foreign); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Resume(dir, rec); err == nil || !strings.Contains(err.Error(), "is not from the sweep") {
		t.Fatalf("foreign sweep.json: %v", err)
	}
	stray := fakeSweep(luts, &s)
	stray.Rows[1].Index, stray.Rows[1].LUT = 1, "b"
	if err := Write(dir, stray); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Resume(dir, rec); err == nil || !strings.Contains(err.Error(), "holds a row for b at position 1, which is not this shard's") {
		t.Fatalf("row of another shard: %v", err)
	}

	// A record file of absurd size is refused without being read.
	f, err := os.OpenFile(filepath.Join(dir, RecordFile), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(maxRecordBytes + 1)
	f.Close()
	if _, _, err := Resume(dir, rec); err == nil || !strings.Contains(err.Error(), "larger than a sweep record can be") {
		t.Fatalf("huge record: %v", err)
	}
}

// The rows of an interrupted run are kept only when the tables and the
// exact accuracy are what they were.
func TestResumedRowsChecks(t *testing.T) {
	rows := []Row{{Index: 0, LUT: "a", Fingerprint: "fa"}, {Index: 2, LUT: "c", Fingerprint: "fc"}}
	now := Result{AccuracyExact: 0.9, TestSamples: 100}
	prev := Result{AccuracyExact: 0.9, TestSamples: 100, Rows: []Row{{Index: 2, LUT: "c", Fingerprint: "fc", AccuracyBefore: 0.8, Seconds: 3}}}
	done, err := resumedRows(&prev, rows, now)
	if err != nil || len(done) != 1 || !reflect.DeepEqual(done[2], prev.Rows[0]) {
		t.Fatalf("kept %+v, %v; want the saved row of position 2", done, err)
	}
	if done, err := resumedRows(nil, rows, now); err != nil || len(done) != 0 {
		t.Fatalf("nothing to resume: %+v, %v", done, err)
	}
	for _, tc := range []struct {
		change func(*Result)
		want   string
	}{
		{func(p *Result) { p.AccuracyExact = 0.91 }, "measured an exact accuracy of 0.91 on 100 test samples, this one 0.9 on 100: not the same data or code"},
		{func(p *Result) { p.TestSamples = 50 }, "on 50 test samples"},
		{func(p *Result) { p.Rows[0].Fingerprint = "old" }, "multiplier c has changed since the earlier run measured it (fingerprint fc, then old)"},
		{func(p *Result) { p.Rows[0].Index, p.Rows[0].LUT = 1, "b" }, "measured b at position 1, which this shard does not run"},
	} {
		p := prev
		p.Rows = append([]Row(nil), prev.Rows...)
		tc.change(&p)
		if _, err := resumedRows(&p, rows, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
}
