package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/goapprox/goapprox/train"
)

// TestWriteFiles writes a two-epoch result and reads the CSV back value
// for value, and checks that the plot is a PNG.
func TestWriteFiles(t *testing.T) {
	r := &train.Result{
		Config: train.Config{Model: "mine", Dataset: "blobs"},
		Epochs: []train.EpochMetrics{
			{Phase: train.PhaseQAT, Epoch: 1, Index: 1, Steps: 15, LR: 0.01, TrainLoss: 0.5, TrainAccuracy: 0.75, TestLoss: 0.25, TestAccuracy: 0.875, Seconds: 1.5, EvalSeconds: 0.125},
			{Phase: train.PhaseApprox, Epoch: 1, Index: 2, Steps: 15, LR: 0.001, TrainLoss: 0.125, TrainAccuracy: 1, TestLoss: 0.0625, TestAccuracy: 1, Seconds: 2, EvalSeconds: 0.25},
		},
		Evaluations: []train.Evaluation{{Label: "approx_before", Loss: 1, Accuracy: 0.5}},
	}
	dir := t.TempDir()
	if err := WriteFiles(dir, r); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		metricsHeader,
		{"1", "qat", "1", "15", "0.01", "0.5", "0.75", "0.25", "0.875", "1.5", "0.125"},
		{"2", "approx", "1", "15", "0.001", "0.125", "1", "0.0625", "1", "2", "0.25"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("metrics.csv is\n%v\nwant\n%v", rows, want)
	}

	// A run that measured top-5 (100 classes or more) has it in a last
	// column.
	r.Accuracy.Top5 = &train.Accuracy{}
	r.Epochs[0].TestTop5, r.Epochs[1].TestTop5 = 0.5, 0.75
	var buf bytes.Buffer
	if err := WriteMetricsCSV(&buf, r.Epochs, true); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want[0] = append(append([]string(nil), metricsHeader...), "test_top5")
	want[1], want[2] = append(want[1], "0.5"), append(want[2], "0.75")
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("metrics.csv with top-5 is\n%v\nwant\n%v", rows, want)
	}

	png, err := os.ReadFile(filepath.Join(dir, PlotFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG", PlotFile)
	}
}
