package report

import (
	"testing"

	"github.com/goapprox/goapprox/train"
)

// TestPlotAxesHoldEveryPoint: the accuracy before fine-tuning is usually the
// lowest point of the accuracy plot (and the loss before it the highest of
// the loss plot); each y axis must hold every plotted point with a margin,
// not put the lowest one on its edge.
func TestPlotAxesHoldEveryPoint(t *testing.T) {
	r := &train.Result{
		Config: train.Config{Model: "lenet5", Dataset: "mnist"},
		Epochs: []train.EpochMetrics{
			{Phase: train.PhaseQAT, Epoch: 1, Index: 1, TrainLoss: 0.99, TestLoss: 0.46, TrainAccuracy: 0.93, TestAccuracy: 0.95},
			{Phase: train.PhaseApprox, Epoch: 1, Index: 2, TrainLoss: 0.44, TestLoss: 0.30, TrainAccuracy: 0.94, TestAccuracy: 0.96},
		},
		Evaluations: []train.Evaluation{{Label: "approx_before", Loss: 1.30, Accuracy: 0.88}},
	}
	loss, acc, err := runPlots(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		min, max float64 // of the data above, by hand
		lo, hi   float64 // the axis range
	}{
		{"loss", 0.30, 1.30, loss.Y.Min, loss.Y.Max},
		{"accuracy", 88, 96, acc.Y.Min, acc.Y.Max},
	} {
		margin := 0.1 * (c.max - c.min)
		if c.lo > c.min-margin || c.hi < c.max+margin {
			t.Errorf("%s axis %g..%g; want it to hold the data %g..%g with at least %g either side",
				c.name, c.lo, c.hi, c.min, c.max, margin)
		}
	}
	if _, err := Plot(r); err != nil {
		t.Errorf("drawing the plot: %v", err)
	}
}

// TestPlotMarksTheQuantizedEvaluation: after a QAT that only observed, the
// quantized evaluation is a point of its own in both plots, where QAT ends
// (the axes reach down to its accuracy and up to its loss).
func TestPlotMarksTheQuantizedEvaluation(t *testing.T) {
	r := &train.Result{
		Config: train.Config{Model: "lenet5", Dataset: "mnist"},
		Epochs: []train.EpochMetrics{
			{Phase: train.PhaseQAT, Epoch: 1, Index: 1, Observing: true, TrainLoss: 0.5, TestLoss: 0.4, TrainAccuracy: 0.93, TestAccuracy: 0.95},
			{Phase: train.PhaseApprox, Epoch: 1, Index: 2, TrainLoss: 0.45, TestLoss: 0.35, TrainAccuracy: 0.94, TestAccuracy: 0.96},
		},
		Evaluations: []train.Evaluation{{Label: "qat", Loss: 2.0, Accuracy: 0.70}},
	}
	loss, acc, err := runPlots(r)
	if err != nil {
		t.Fatal(err)
	}
	if !(acc.Y.Min < 70) || !(loss.Y.Max > 2.0) {
		t.Errorf("axes accuracy from %g, loss to %g: the quantized evaluation (70%%, loss 2) is not plotted", acc.Y.Min, loss.Y.Max)
	}
}
