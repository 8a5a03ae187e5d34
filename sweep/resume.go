package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/goapprox/goapprox/internal/atomicfile"
)

// RecordFile is the file of a sweep (or shard) folder that records the
// settings the sweep started with, which a resumed run must repeat.
const RecordFile = "sweep-run.json"

// Record is what a sweep's rows depend on besides the code: a resumed run
// continues only with the same. Threads are left out: results do not
// depend on them.
type Record struct {
	Checkpoint       string   `json:"checkpoint"` // where it was; the digest is what must match
	CheckpointSHA256 string   `json:"checkpoint_sha256"`
	LUTs             []string `json:"luts"`
	Shard            Shard    `json:"shard"`
	RetrainEpochs    int      `json:"retrain_epochs"`
	RetrainLR        float64  `json:"retrain_lr"`
	Gradient         string   `json:"gradient,omitempty"`
	Limit            int      `json:"limit,omitempty"`
	DataDir          string   `json:"data_dir"`
	// CostsSHA256 is CostsDigest of the costs; empty without costs.
	CostsSHA256 string `json:"costs_sha256"`
}

// CostsDigest identifies a set of costs by content (not by file layout):
// the SHA-256 of their JSON encoding, whose map keys are sorted. Empty for
// no costs.
func CostsDigest(c Costs) string {
	if len(c) == 0 {
		return ""
	}
	b, err := json.Marshal(c)
	if err != nil { // a map of pointers to floats always encodes
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// WriteRecord saves r as dir's RecordFile (atomically).
func WriteRecord(dir string, r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, RecordFile), append(b, '\n'))
}

// ReadRecord reads dir's RecordFile; the error wraps fs.ErrNotExist when
// there is none.
func ReadRecord(dir string) (Record, error) {
	var r Record
	path := filepath.Join(dir, RecordFile)
	b, err := boundedfile.ReadFile(path, maxRecordBytes, "a sweep record")
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// maxRecordBytes bounds what is read of a record file: a real one is a
// few kilobytes even for thousands of multipliers.
const maxRecordBytes = 16 << 20

// Differences lists, one phrase each, the settings in which now differs
// from r (the earlier run); none when a resumed run may continue r.
func (r Record) Differences(now Record) []string {
	var d []string
	if now.CheckpointSHA256 != r.CheckpointSHA256 {
		d = append(d, fmt.Sprintf("-checkpoint: %s has sha256 %.12s…, the earlier run used %s with %.12s…",
			now.Checkpoint, now.CheckpointSHA256, r.Checkpoint, r.CheckpointSHA256))
	}
	if !equalStrings(now.LUTs, r.LUTs) {
		d = append(d, "the multiplier list (-lut, -luts): "+listDifference(now.LUTs, r.LUTs))
	}
	if now.Shard != r.Shard {
		d = append(d, fmt.Sprintf("shard: %s now, %s in the earlier run", now.Shard, r.Shard))
	}
	if now.RetrainEpochs != r.RetrainEpochs {
		d = append(d, fmt.Sprintf("-retrain-epochs: %d now, %d in the earlier run", now.RetrainEpochs, r.RetrainEpochs))
	}
	if now.RetrainLR != r.RetrainLR {
		d = append(d, fmt.Sprintf("-retrain-lr: %g now, %g in the earlier run", now.RetrainLR, r.RetrainLR))
	}
	if now.Gradient != r.Gradient {
		d = append(d, fmt.Sprintf("-grad: %q now, %q in the earlier run", now.Gradient, r.Gradient))
	}
	if now.Limit != r.Limit {
		d = append(d, fmt.Sprintf("-limit: %d now, %d in the earlier run", now.Limit, r.Limit))
	}
	if now.DataDir != AbsDataDir(r.DataDir) {
		d = append(d, fmt.Sprintf("-data: %q now, %q in the earlier run", now.DataDir, r.DataDir))
	}
	if now.CostsSHA256 != r.CostsSHA256 {
		d = append(d, "-costs: the costs differ from the earlier run's")
	}
	return d
}

// listDifference says where two multiplier lists first differ.
func listDifference(now, was []string) string {
	for i := 0; i < len(now) && i < len(was); i++ {
		if now[i] != was[i] {
			return fmt.Sprintf("entry %d is %s now, %s in the earlier run", i, now[i], was[i])
		}
	}
	return fmt.Sprintf("%d entries now, %d in the earlier run", len(now), len(was))
}

// Resume reads what the interrupted sweep in dir measured, after checking
// that now (the resuming run's settings) repeats its record. started is
// false when dir holds no sweep at all (the run then starts it): a command
// with -resume can be repeated by a scheduler until the sweep is done. A
// run killed before its first row returns a result without rows.
func Resume(dir string, now Record) (r Result, started bool, err error) {
	rec, err := ReadRecord(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, JSONFile)); err == nil {
			return Result{}, false, fmt.Errorf("-resume: %s holds a sweep without the record of its settings (%s), so it cannot be checked: start the sweep again in another -out",
				dir, RecordFile)
		}
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("-resume: %w", err)
	}
	if d := rec.Differences(now); len(d) > 0 {
		msg := fmt.Sprintf("-resume: the sweep in %s was started with other settings:", dir)
		for _, s := range d {
			msg += "\n  " + s
		}
		return Result{}, true, errors.New(msg + "\nresume with the same flags, checkpoint and costs, or start the sweep again in another -out")
	}
	r, err = ReadResult(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Result{Rows: []Row{}}, true, nil
	}
	if err != nil {
		return Result{}, true, fmt.Errorf("-resume: %w", err)
	}
	shard := Whole
	if r.Shard != nil {
		shard = *r.Shard
	}
	if r.CheckpointSHA256 != rec.CheckpointSHA256 || !equalStrings(r.LUTs, rec.LUTs) || shard != rec.Shard ||
		r.RetrainEpochs != rec.RetrainEpochs {
		return Result{}, true, fmt.Errorf("-resume: %s in %s is not from the sweep %s records (another run wrote into the folder): start the sweep again in another -out",
			JSONFile, dir, RecordFile)
	}
	want := map[int]bool{}
	for _, i := range shard.Select(len(r.LUTs)) {
		want[i] = true
	}
	for _, row := range r.Rows {
		if !want[row.Index] || row.LUT != r.LUTs[row.Index] {
			return Result{}, true, fmt.Errorf("-resume: %s in %s holds a row for %s at position %d, which is not this shard's: start the sweep again in another -out",
				JSONFile, dir, row.LUT, row.Index)
		}
		delete(want, row.Index) // a second row for one position fails above
	}
	return r, true, nil
}

// AbsDataDir is a recorded -data folder as an absolute path. Commands
// record it absolute; a record holding it as typed, relative to the folder
// its run started in, is taken relative to the current one.
func AbsDataDir(dir string) string {
	if dir == "" || filepath.IsAbs(dir) {
		return dir
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
