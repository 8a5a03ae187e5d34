package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
)

// File names of a sweep folder.
const (
	CSVFile   = "sweep.csv"
	JSONFile  = "sweep.json"
	MDFile    = "sweep.md"
	PlotMAE   = "accuracy_vs_mae.png"
	PlotPower = "accuracy_vs_power.png"
	PlotBars  = "accuracy_bars.png"
)

// CSVHeader is the header of sweep.csv. Empty cells are unknown (no cost
// given) or not measured (no retraining).
var CSVHeader = []string{"lut", "name", "fingerprint", "mae", "wce", "ep", "mre", "bias", "std",
	"power", "area", "accuracy_before", "accuracy_after", "seconds"}

// EncodeCSV writes the rows as CSV, one per multiplier, in list order.
func EncodeCSV(rows []Row) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(CSVHeader); err != nil {
		return nil, err
	}
	for _, r := range rows {
		rec := []string{r.LUT, r.Name, r.Fingerprint, num(r.MAE), num(r.WCE), num(r.EP), num(r.MRE), num(r.Bias),
			num(r.Std), opt(r.Power), opt(r.Area), num(r.AccuracyBefore), opt(r.AccuracyAfter),
			strconv.FormatFloat(r.Seconds, 'f', 3, 64)}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// num formats a float exactly (shortest representation that reads back to
// the same value), so that equal results give equal files.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func opt(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

// Write saves a result into dir: sweep.json and sweep.csv, and, for a whole
// sweep (not a shard), the plots. Each file is written atomically.
func Write(dir string, r Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sort.Slice(r.Rows, func(i, j int) bool { return r.Rows[i].Index < r.Rows[j].Index })
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, JSONFile), append(js, '\n')); err != nil {
		return err
	}
	cs, err := EncodeCSV(r.Rows)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, CSVFile), cs); err != nil {
		return err
	}
	if r.Shard != nil || len(r.Rows) == 0 {
		return nil
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, MDFile), []byte(Markdown(r))); err != nil {
		return err
	}
	return writePlots(dir, r)
}

// Markdown is the sweep as a Markdown table (accuracies in percent; no
// seconds, so that it is the same for every run of the same sweep).
func Markdown(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s (%s preset, %d test samples): %.2f%% with exact products.\n\n",
		r.Model, r.Dataset, r.Quant, r.TestSamples, 100*r.AccuracyExact)
	b.WriteString("| multiplier | MAE | WCE | EP | MRE | bias | std | power | area | accuracy |")
	if r.RetrainEpochs > 0 {
		fmt.Fprintf(&b, " after %d epoch(s) |", r.RetrainEpochs)
	}
	b.WriteString("\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	if r.RetrainEpochs > 0 {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	cell := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.4g", *v)
	}
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| `%s` | %.5g | %.0f | %.3f | %.4f | %.5g | %.5g | %s | %s | %.2f%% |", row.Name, row.MAE, row.WCE,
			row.EP, row.MRE, row.Bias, row.Std, cell(row.Power), cell(row.Area), 100*row.AccuracyBefore)
		if r.RetrainEpochs > 0 {
			if row.AccuracyAfter != nil {
				fmt.Fprintf(&b, " %.2f%% |", 100**row.AccuracyAfter)
			} else {
				b.WriteString(" – |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// maxResultBytes bounds a sweep.json: a row is about a kilobyte, so this
// holds tens of thousands of multipliers.
const maxResultBytes = 256 << 20

// ReadResult reads the sweep.json of a sweep or shard folder.
func ReadResult(dir string) (Result, error) {
	var r Result
	data, err := boundedfile.ReadFile(filepath.Join(dir, JSONFile), maxResultBytes, "a sweep's "+JSONFile)
	if err != nil {
		return r, fmt.Errorf("%s is not a sweep folder: %w", dir, err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Join(dir, JSONFile), err)
	}
	return r, nil
}

// Merge combines the results of all shards of one sweep into the result an
// unsharded run gives. It checks that they come from the same checkpoint,
// list and settings, that every shard is there once and every row was
// measured.
func Merge(parts []Result) (Result, error) {
	if len(parts) == 0 {
		return Result{}, fmt.Errorf("nothing to merge: give the shard folders")
	}
	first := parts[0]
	if first.Shard == nil {
		return Result{}, fmt.Errorf("the first folder holds a whole sweep, not a shard")
	}
	n := first.Shard.Count
	seen := make([]bool, n)
	merged := first
	merged.Shard = nil
	merged.Rows = nil
	for _, p := range parts {
		if p.Shard == nil {
			return Result{}, fmt.Errorf("a folder holds a whole sweep, not a shard: merge only shard folders")
		}
		where := fmt.Sprintf("shard %s", p.Shard)
		switch {
		case p.Shard.Count != n:
			return Result{}, fmt.Errorf("%s belongs to a sweep of %d shards, the first folder to one of %d", where, p.Shard.Count, n)
		case p.CheckpointSHA256 != first.CheckpointSHA256:
			return Result{}, fmt.Errorf("%s used another checkpoint (sha256 %.12s, first %.12s)", where, p.CheckpointSHA256, first.CheckpointSHA256)
		case !equalStrings(p.LUTs, first.LUTs):
			return Result{}, fmt.Errorf("%s swept another multiplier list", where)
		case p.RetrainEpochs != first.RetrainEpochs:
			return Result{}, fmt.Errorf("%s retrained %d epochs, the first %d", where, p.RetrainEpochs, first.RetrainEpochs)
		case p.Gradient != first.Gradient:
			return Result{}, fmt.Errorf("%s retrained with gradient %q, the first with %q", where, p.Gradient, first.Gradient)
		case p.AccuracyExact != first.AccuracyExact || p.TestSamples != first.TestSamples:
			return Result{}, fmt.Errorf("%s measured another exact accuracy (%v on %d samples, first %v on %d): not the same data or code",
				where, p.AccuracyExact, p.TestSamples, first.AccuracyExact, first.TestSamples)
		case seen[p.Shard.Index]:
			return Result{}, fmt.Errorf("%s is given twice", where)
		}
		seen[p.Shard.Index] = true
		want := p.Shard.Select(len(p.LUTs))
		if len(p.Rows) != len(want) {
			return Result{}, fmt.Errorf("%s is incomplete: %d of its %d multipliers measured (rerun it)", where, len(p.Rows), len(want))
		}
		for k, r := range p.Rows {
			if r.Index != want[k] || r.LUT != p.LUTs[r.Index] {
				return Result{}, fmt.Errorf("%s: row %d is %s at position %d, which is not this shard's", where, k, r.LUT, r.Index)
			}
		}
		merged.Rows = append(merged.Rows, p.Rows...)
	}
	for i, ok := range seen {
		if !ok {
			return Result{}, fmt.Errorf("shard %d/%d is missing: give its folder too, or run it (train sweep -shard %d/%d with the same flags) if it never ran", i, n, i, n)
		}
	}
	sort.Slice(merged.Rows, func(i, j int) bool { return merged.Rows[i].Index < merged.Rows[j].Index })
	return merged, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
