package report

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/goapprox/goapprox/internal/plotpng"
	"github.com/goapprox/goapprox/train"
)

var (
	trainColor  = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	testColor   = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	beforeColor = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	qatColor    = color.RGBA{R: 148, G: 103, B: 189, A: 255}
	phaseColor  = color.Gray{Y: 150}
)

// Plot draws a run's loss (top) and accuracy (bottom) against the epoch
// index of the run, with dashed lines where a phase starts and, for the
// approximate phase, the accuracy before fine-tuning as a marked point,
// and returns the PNG image.
func Plot(r *train.Result) ([]byte, error) {
	loss, acc, err := runPlots(r)
	if err != nil {
		return nil, err
	}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 2 * vg.Millimeter,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter}
	return plotpng.Draw(7*vg.Inch, 7*vg.Inch, func(dc draw.Canvas) {
		loss.Draw(tiles.At(dc, 0, 0))
		acc.Draw(tiles.At(dc, 0, 1))
	})
}

// runPlots builds the loss and accuracy plots that Plot draws.
func runPlots(r *train.Result) (loss, acc *plot.Plot, err error) {
	loss = plot.New()
	loss.Title.Text = r.Config.Model + " on " + r.Config.Dataset + ": loss"
	loss.X.Label.Text = "epoch"
	loss.Y.Label.Text = "cross-entropy"
	acc = plot.New()
	acc.Title.Text = "accuracy"
	acc.X.Label.Text = "epoch"
	acc.Y.Label.Text = "accuracy (%)"

	var trainLoss, testLoss, trainAcc, testAcc plotter.XYs
	for _, e := range r.Epochs {
		x := float64(e.Index)
		trainLoss = append(trainLoss, plotter.XY{X: x, Y: e.TrainLoss})
		testLoss = append(testLoss, plotter.XY{X: x, Y: e.TestLoss})
		trainAcc = append(trainAcc, plotter.XY{X: x, Y: 100 * e.TrainAccuracy})
		testAcc = append(testAcc, plotter.XY{X: x, Y: 100 * e.TestAccuracy})
	}
	if err := addSeries(loss, trainLoss, testLoss); err != nil {
		return nil, nil, err
	}
	if err := addSeries(acc, trainAcc, testAcc); err != nil {
		return nil, nil, err
	}

	// The evaluations between epochs sit on the line after the last epoch
	// of the phases before them: the quantized one ("qat", measured when
	// no QAT epoch quantized) where QAT ends, the one before fine-tuning
	// where the approximate phase starts.
	markers := map[string]struct {
		after  []train.Phase
		legend string
		color  color.Color
		shape  draw.GlyphDrawer
	}{
		"qat":           {[]train.Phase{train.PhaseFloat, train.PhaseQAT}, "quantized, exact products", qatColor, draw.BoxGlyph{}},
		"approx_before": {[]train.Phase{train.PhaseFloat, train.PhaseQAT, train.PhaseNoise}, "approximate, before fine-tuning", beforeColor, draw.PyramidGlyph{}},
	}
	for _, ev := range r.Evaluations {
		m, ok := markers[ev.Label]
		if !ok {
			continue
		}
		x := 0.5
		for _, e := range r.Epochs {
			if slices.Contains(m.after, e.Phase) {
				x = float64(e.Index) + 0.5
			}
		}
		for _, pt := range []struct {
			p *plot.Plot
			y float64
		}{{loss, ev.Loss}, {acc, 100 * ev.Accuracy}} {
			s, err := plotter.NewScatter(plotter.XYs{{X: x, Y: pt.y}})
			if err != nil {
				return nil, nil, err
			}
			s.GlyphStyle.Color = m.color
			s.GlyphStyle.Shape = m.shape
			s.GlyphStyle.Radius = vg.Points(4)
			pt.p.Add(s)
			pt.p.Legend.Add(m.legend, s)
		}
	}
	for _, p := range []*plot.Plot{loss, acc} {
		padY(p)
		p.Legend.Top = true
		addPhaseLines(p, r.Epochs)
		if n := len(r.Epochs); n > 0 {
			p.X.Max = float64(r.Epochs[n-1].Index) + 0.3
		}
		p.Add(plotter.NewGrid())
	}
	return loss, acc, nil
}

// Margins around the data on a y axis, as fractions of the data's span.
const (
	marginBelow = 0.12 // room for a marker's glyph and the phase names
	marginAbove = 0.4  // room for the legend (top right) off the curves
)

// padY widens the y range of p beyond its data. gonum fits the range to the
// data exactly, so the lowest point (often the accuracy before fine-tuning)
// would sit on the lower edge of the axes, its marker cut in half and under
// the phase names.
func padY(p *plot.Plot) {
	span := p.Y.Max - p.Y.Min
	if math.IsInf(span, 0) || math.IsNaN(span) {
		return // no data: gonum picks a range itself
	}
	p.Y.Min -= marginBelow * span
	p.Y.Max += marginAbove * span
}

func addSeries(p *plot.Plot, trainXY, testXY plotter.XYs) error {
	if len(trainXY) == 0 {
		return nil
	}
	for _, s := range []struct {
		xy    plotter.XYs
		name  string
		color color.Color
	}{{trainXY, "train", trainColor}, {testXY, "test", testColor}} {
		l, pts, err := plotter.NewLinePoints(s.xy)
		if err != nil {
			return err
		}
		l.Color = s.color
		pts.Color = s.color
		pts.Shape = draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	return nil
}

// addPhaseLines marks the start of each phase with a dashed vertical line
// and its name.
func addPhaseLines(p *plot.Plot, epochs []train.EpochMetrics) {
	if len(epochs) == 0 {
		return
	}
	p.X.Min = 0
	var labels plotter.XYLabels
	prev := train.Phase("")
	for _, e := range epochs {
		if e.Phase == prev {
			continue
		}
		prev = e.Phase
		x := float64(e.Index) - 0.5
		line, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
		if err != nil {
			continue
		}
		line.Color = phaseColor
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
		labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: p.Y.Min})
		labels.Labels = append(labels.Labels, " "+string(e.Phase))
	}
	if l, err := plotter.NewLabels(labels); err == nil {
		p.Add(l)
	}
}
