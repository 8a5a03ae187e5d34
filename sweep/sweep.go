package sweep

import (
	"fmt"
	"io"
	"time"

	"github.com/goapprox/goapprox/lut/metrics"
)

// Row is the result of one multiplier.
type Row struct {
	// Index is the multiplier's position in the sweep's full list.
	Index int `json:"index"`
	// LUT is the argument as given: a spec or a table file.
	LUT         string  `json:"lut"`
	Name        string  `json:"name"` // the table's name, which costs are matched by
	Fingerprint string  `json:"fingerprint"`
	MAE         float64 `json:"mae"`
	WCE         float64 `json:"wce"`
	EP          float64 `json:"ep"`
	MRE         float64 `json:"mre"`
	Bias        float64 `json:"bias"`
	Std         float64 `json:"std"`
	Cost
	// AccuracyBefore is the test accuracy in Approximate mode as trained,
	// AccuracyAfter after the retraining epochs (nil without retraining).
	AccuracyBefore float64  `json:"accuracy_before"`
	AccuracyAfter  *float64 `json:"accuracy_after,omitempty"`
	// Seconds is the measured time of the row (evaluation and retraining):
	// the one value that differs between repeated runs.
	Seconds float64 `json:"seconds"`
}

// Result is a sweep, or one shard of it.
type Result struct {
	Checkpoint       string `json:"checkpoint"`
	CheckpointSHA256 string `json:"checkpoint_sha256"`
	Model            string `json:"model"`
	Dataset          string `json:"dataset"`
	Quant            string `json:"quant"`
	TestSamples      int    `json:"test_samples"`
	// TrainSamples is the number of training samples each retraining
	// epoch ran on.
	TrainSamples  int `json:"train_samples,omitempty"`
	RetrainEpochs int `json:"retrain_epochs"`
	// Gradient is the retraining's backward pass (train.Config.Gradient;
	// absent: straight-through).
	Gradient string `json:"gradient,omitempty"`
	// AccuracyExact is the accuracy with exact products (Quantized mode).
	AccuracyExact float64 `json:"accuracy_exact"`
	// LUTs is the full list of the sweep, in order; shards run slices of it.
	LUTs []string `json:"luts"`
	// Shard is set on a shard's result; nil for a whole (or merged) sweep.
	Shard *Shard `json:"shard,omitempty"`
	Rows  []Row  `json:"rows"`
}

// Options configure Run.
type Options struct {
	LUTs          []string // the full list (ExpandLUTs)
	RetrainEpochs int
	Costs         Costs // may be nil
	Shard         Shard // zero value: Whole
	// Progress, when not nil, receives one line per multiplier.
	Progress io.Writer
	// RowDone, when not nil, is called with the result so far after each
	// row, so that a long sweep can save what it has.
	RowDone func(Result) error
	// Resumed, when not nil, is what an interrupted run of the same sweep
	// measured (Resume): its rows are kept, not measured again, once the
	// tables and the exact accuracy are found unchanged.
	Resumed *Result
}

// Run measures every multiplier of the shard's slice of o.LUTs on m: the
// table's metrics, its cost, the accuracy in Approximate mode and after
// o.RetrainEpochs of fine-tuning.
func Run(m *Model, o Options) (Result, error) {
	if o.Shard.Count == 0 {
		o.Shard = Whole
	}
	if err := o.Shard.Validate(); err != nil {
		return Result{}, err
	}
	cfg := m.Config()
	res := Result{
		Checkpoint: m.Path, CheckpointSHA256: m.SHA256,
		Model: cfg.Model, Dataset: cfg.Dataset, Quant: cfg.Quant,
		TestSamples: m.Trainer().TestSamples(), RetrainEpochs: o.RetrainEpochs, Gradient: m.Gradient(),
		LUTs: append([]string(nil), o.LUTs...), Rows: []Row{},
	}
	if o.RetrainEpochs > 0 {
		res.TrainSamples = m.Trainer().TrainSamples()
	}
	if !o.Shard.IsWhole() {
		s := o.Shard
		res.Shard = &s
	}
	// Load every table first: a bad entry fails before hours of work.
	sel := o.Shard.Select(len(o.LUTs))
	rows := make([]Row, len(sel))
	for k, i := range sel {
		t, err := m.Table(o.LUTs[i])
		if err != nil {
			return res, fmt.Errorf("multiplier %s: %w", o.LUTs[i], err)
		}
		mt := metrics.Compute(t)
		rows[k] = Row{Index: i, LUT: o.LUTs[i], Name: t.Name(), Fingerprint: t.Fingerprint(),
			MAE: mt.MAE, WCE: mt.WCE, EP: mt.EP, MRE: mt.MRE, Bias: mt.Bias, Std: mt.Std,
			Cost: o.Costs[t.Name()]}
	}
	exact, err := m.ExactAccuracy()
	if err != nil {
		return res, err
	}
	res.AccuracyExact = exact
	done, err := resumedRows(o.Resumed, rows, res)
	if err != nil {
		return res, err
	}
	for k := range rows {
		r := &rows[k]
		if d, ok := done[r.Index]; ok {
			res.Rows = append(res.Rows, d)
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "[%d/%d] %s: measured before the interruption\n", k+1, len(rows), r.Name)
			}
			continue
		}
		start := time.Now()
		meas, err := m.Measure(r.LUT, nil, o.RetrainEpochs)
		if err != nil {
			return res, fmt.Errorf("multiplier %s: %w", r.LUT, err)
		}
		r.AccuracyBefore = meas.Before
		if n := len(meas.After); n > 0 {
			a := meas.After[n-1]
			r.AccuracyAfter = &a
		}
		r.Seconds = time.Since(start).Seconds()
		res.Rows = append(res.Rows, *r)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "[%d/%d] %s: accuracy %.2f%%%s (%.1fs)\n", k+1, len(rows), r.Name,
				100*r.AccuracyBefore, afterText(r.AccuracyAfter), r.Seconds)
		}
		if o.RowDone != nil {
			if err := o.RowDone(res); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func afterText(a *float64) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf(" -> %.2f%% retrained", 100**a)
}

// resumedRows checks the rows of an interrupted run against the sweep
// about to run (its table fingerprints, exact accuracy and test samples)
// and returns them by list position.
func resumedRows(prev *Result, rows []Row, res Result) (map[int]Row, error) {
	if prev == nil || len(prev.Rows) == 0 {
		return nil, nil
	}
	if prev.AccuracyExact != res.AccuracyExact || prev.TestSamples != res.TestSamples {
		return nil, fmt.Errorf("-resume: the earlier run measured an exact accuracy of %v on %d test samples, this one %v on %d: "+
			"not the same data or code; start the sweep again in another -out",
			prev.AccuracyExact, prev.TestSamples, res.AccuracyExact, res.TestSamples)
	}
	byIndex := make(map[int]Row, len(rows))
	for _, r := range rows {
		byIndex[r.Index] = r
	}
	done := make(map[int]Row, len(prev.Rows))
	for _, p := range prev.Rows {
		r, ok := byIndex[p.Index]
		if !ok || r.LUT != p.LUT {
			return nil, fmt.Errorf("-resume: the earlier run measured %s at position %d, which this shard does not run", p.LUT, p.Index)
		}
		if r.Fingerprint != p.Fingerprint {
			return nil, fmt.Errorf("-resume: multiplier %s has changed since the earlier run measured it (fingerprint %s, then %s): "+
				"start the sweep again in another -out", p.LUT, r.Fingerprint, p.Fingerprint)
		}
		done[p.Index] = p
	}
	return done, nil
}
