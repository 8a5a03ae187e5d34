package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/goapprox/goapprox/train"
)

// progress reports training as it goes: a bar per epoch (rate, ETA, running
// loss and accuracy) on a terminal, one line per epoch otherwise.
type progress struct {
	w    io.Writer
	bars bool
	bar  *progressbar.ProgressBar
	// epochs is the planned length of each phase, for "epoch 2/8".
	epochs map[train.Phase]int
	// batch is the images per step: the bars count images, so their rate
	// is images per second, comparable across batch sizes and models.
	batch int
	// top5: the run measures top-5 accuracy, printed beside top-1.
	top5 bool
}

func newProgress(w io.Writer, bars bool, cfg train.Config) *progress {
	return &progress{w: w, bars: bars, batch: cfg.Batch, epochs: map[train.Phase]int{
		train.PhaseFloat: cfg.FloatEpochs, train.PhaseQAT: cfg.QATEpochs, train.PhaseNoise: cfg.NoiseEpochs,
		train.PhaseApprox: cfg.ApproxEpochs,
	}}
}

func (p *progress) hooks() train.Hooks {
	return train.Hooks{
		EpochStart: p.epochStart,
		Step:       p.step,
		EpochEnd:   p.epochEnd,
		Evaluated:  p.evaluated,
	}
}

func (p *progress) title(phase train.Phase, epoch int) string {
	if n := p.epochs[phase]; n > 0 {
		return fmt.Sprintf("%-6s epoch %d/%d", phase, epoch, n)
	}
	return fmt.Sprintf("%-6s epoch %d", phase, epoch)
}

func (p *progress) epochStart(phase train.Phase, epoch, steps int) {
	if !p.bars {
		return
	}
	p.bar = progressbar.NewOptions(steps*p.batch,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.title(phase, epoch)),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *progress) step(phase train.Phase, epoch, step int, loss, acc float64) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s loss %.4f acc %.2f%%", p.title(phase, epoch), loss, 100*acc))
	p.bar.Set(step * p.batch)
}

func (p *progress) epochEnd(m train.EpochMetrics) {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
	top5 := ""
	if p.top5 {
		top5 = fmt.Sprintf(" top-5 %.2f%%", 100*m.TestTop5)
	}
	observing := ""
	if m.Observing {
		observing = "  (observers only: float products)"
	}
	fmt.Fprintf(p.w, "%s  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%%s  (%.1fs, %.1f ms/step, %.0f img/s, eval %.1fs)%s\n",
		p.title(m.Phase, m.Epoch), m.TrainLoss, 100*m.TrainAccuracy, m.TestLoss, 100*m.TestAccuracy, top5,
		m.Seconds, 1000*m.Seconds/float64(m.Steps), float64(m.Steps*p.batch)/m.Seconds, m.EvalSeconds, observing)
}

func (p *progress) evaluated(e train.Evaluation) {
	what := map[string]string{
		"qat":           "quantized, exact products",
		"approx_before": "approximate, before fine-tuning",
	}[e.Label]
	if what == "" {
		what = e.Label
	}
	top5 := ""
	if p.top5 {
		top5 = fmt.Sprintf(" top-5 %.2f%%", 100*e.Top5)
	}
	fmt.Fprintf(p.w, "evaluation (%s): test loss %.4f acc %.2f%%%s  (%.1fs)\n", what, e.Loss, 100*e.Accuracy, top5, e.Seconds)
}
