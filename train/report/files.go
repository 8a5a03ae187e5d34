package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/train"
)

// The files WriteFiles writes.
const (
	MetricsFile = "metrics.csv"
	PlotFile    = "training.png"
)

// WriteFiles writes the run's metrics (MetricsFile) and plot (PlotFile)
// into dir, each atomically.
func WriteFiles(dir string, r *train.Result) error {
	var buf bytes.Buffer
	if err := WriteMetricsCSV(&buf, r.Epochs, r.Accuracy.Top5 != nil); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, MetricsFile), buf.Bytes()); err != nil {
		return err
	}
	png, err := Plot(r)
	if err != nil {
		return fmt.Errorf("drawing %s: %w", PlotFile, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, PlotFile), png)
}

var metricsHeader = []string{"index", "phase", "epoch", "steps", "lr", "train_loss", "train_accuracy",
	"test_loss", "test_accuracy", "seconds", "eval_seconds"}

// WriteMetricsCSV writes one row per epoch: its index in the run, phase,
// epoch in the phase, steps, learning rate, training and test loss and
// accuracy, and seconds of training and evaluation; with top5 (a run that
// measured it: data sets of 100 classes or more) the test top-5 accuracy
// follows in a column test_top5; when some QAT epochs only observed
// (float products, Config.QATObserveEpochs) a last column observing says
// which (1) and which not (0).
func WriteMetricsCSV(w io.Writer, epochs []train.EpochMetrics, top5 bool) error {
	cw := csv.NewWriter(w)
	header := slices.Clone(metricsHeader)
	if top5 {
		header = append(header, "test_top5")
	}
	observing := slices.ContainsFunc(epochs, func(e train.EpochMetrics) bool { return e.Observing })
	if observing {
		header = append(header, "observing")
	}
	cw.Write(header)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, e := range epochs {
		row := []string{strconv.Itoa(e.Index), string(e.Phase), strconv.Itoa(e.Epoch), strconv.Itoa(e.Steps),
			f(e.LR), f(e.TrainLoss), f(e.TrainAccuracy), f(e.TestLoss), f(e.TestAccuracy), f(e.Seconds), f(e.EvalSeconds)}
		if top5 {
			row = append(row, f(e.TestTop5))
		}
		if observing {
			row = append(row, map[bool]string{true: "1", false: "0"}[e.Observing])
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
