package sweep

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/goapprox/goapprox/internal/atomicfile"

	"github.com/goapprox/goapprox/internal/plotpng"
)

var (
	beforeColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	afterColor  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	exactColor  = color.Gray{Y: 120}
)

func writePlots(dir string, r Result) error {
	title := fmt.Sprintf("%s on %s (%s preset)", r.Model, r.Dataset, r.Quant)
	byMAE := func(row Row) (float64, bool) { return row.MAE, row.MAE > 0 }
	if countRows(r.Rows, byMAE) > 0 {
		png, err := scatterPlot(r, title, "MAE of the product (log scale; the exact multiplier is the dashed line)", true, byMAE)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, PlotMAE), png); err != nil {
			return err
		}
	}
	byPower := func(row Row) (float64, bool) {
		if row.Power == nil {
			return 0, false
		}
		return *row.Power, true
	}
	if n := countRows(r.Rows, byPower); n > 0 {
		png, err := scatterPlot(r, title, "power of the multiplier (units of the costs file)", false, byPower)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, PlotPower), png); err != nil {
			return err
		}
	}
	png, err := barPlot(r, title)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, PlotBars), png)
}

func countRows(rows []Row, x func(Row) (float64, bool)) int {
	n := 0
	for _, r := range rows {
		if _, ok := x(r); ok {
			n++
		}
	}
	return n
}

// scatterPlot draws accuracy against x(row) for the rows where x is known:
// before retraining, after it (when measured), and the exact accuracy.
func scatterPlot(r Result, title, xLabel string, logX bool, x func(Row) (float64, bool)) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = "test accuracy (%)"
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
	}
	var before, after plotter.XYs
	var labels []string
	for _, row := range r.Rows {
		v, ok := x(row)
		if !ok {
			continue
		}
		before = append(before, plotter.XY{X: v, Y: 100 * row.AccuracyBefore})
		labels = append(labels, row.Name)
		if row.AccuracyAfter != nil {
			after = append(after, plotter.XY{X: v, Y: 100 * *row.AccuracyAfter})
		}
	}
	if len(before) == 0 {
		return nil, fmt.Errorf("no rows to plot against %s", xLabel)
	}
	s, err := plotter.NewScatter(before)
	if err != nil {
		return nil, err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: beforeColor, Shape: draw.CircleGlyph{}, Radius: vg.Points(3)}
	p.Add(s)
	p.Legend.Add("approximate, as trained", s)
	if len(after) > 0 {
		a, err := plotter.NewScatter(after)
		if err != nil {
			return nil, err
		}
		a.GlyphStyle = draw.GlyphStyle{Color: afterColor, Shape: draw.PyramidGlyph{}, Radius: vg.Points(3)}
		p.Add(a)
		p.Legend.Add(fmt.Sprintf("after %d retraining epoch(s)", r.RetrainEpochs), a)
	}
	lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: before, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range lbl.TextStyle {
		lbl.TextStyle[i].Font.Size = vg.Points(6)
		lbl.TextStyle[i].Color = color.Gray{Y: 60}
	}
	lbl.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(-2)}
	p.Add(lbl)
	exact := plotter.NewFunction(func(float64) float64 { return 100 * r.AccuracyExact })
	exact.Color = exactColor
	exact.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(exact)
	p.Legend.Add(fmt.Sprintf("exact products %.2f%%", 100*r.AccuracyExact), exact)
	p.Legend.Left = true
	p.Legend.Top = false
	p.Add(plotter.NewGrid())
	p.Y.Max = math.Max(p.Y.Max, 100*r.AccuracyExact)
	p.Y.Min = math.Min(p.Y.Min, 100*r.AccuracyExact)
	span := math.Max(p.Y.Max-p.Y.Min, 0.5)
	p.Y.Max += 0.05 * span
	p.Y.Min -= 0.3 * span // room for the legend below the points
	// Room on the right for the last labels.
	if logX {
		p.X.Max *= 1.6
	} else {
		p.X.Max += 0.12 * (p.X.Max - p.X.Min)
	}
	return plotpng.Render(p, 8*vg.Inch, 6*vg.Inch)
}

// barPlot draws one bar per multiplier (before retraining) and, when
// retrained, a second one after.
func barPlot(r Result, title string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "test accuracy (%)"
	n := len(r.Rows)
	names := make([]string, n)
	before := make(plotter.Values, n)
	var after plotter.Values
	retrained := r.Rows[0].AccuracyAfter != nil
	for i, row := range r.Rows {
		names[i] = row.Name
		before[i] = 100 * row.AccuracyBefore
		if retrained {
			after = append(after, 100**row.AccuracyAfter)
		}
	}
	width := vg.Points(12)
	b, err := plotter.NewBarChart(before, width)
	if err != nil {
		return nil, err
	}
	b.Color = beforeColor
	b.LineStyle.Width = 0
	p.Add(b)
	p.Legend.Add("approximate, as trained", b)
	if retrained {
		b.Offset = -width / 2
		a, err := plotter.NewBarChart(after, width)
		if err != nil {
			return nil, err
		}
		a.Color = afterColor
		a.LineStyle.Width = 0
		a.Offset = width / 2
		p.Add(a)
		p.Legend.Add(fmt.Sprintf("after %d retraining epoch(s)", r.RetrainEpochs), a)
	}
	exact := plotter.NewFunction(func(float64) float64 { return 100 * r.AccuracyExact })
	exact.Color = exactColor
	exact.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(exact)
	p.Legend.Add(fmt.Sprintf("exact products %.2f%%", 100*r.AccuracyExact), exact)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.7, float64(n-1)+0.7
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign = text.XRight
	p.X.Tick.Label.YAlign = text.YCenter
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.Y.Min = 0
	p.Y.Max = 100 * 1.12 // room for the legend
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	w := vg.Length(math.Max(6, 0.4*float64(n)+1.5)) * vg.Inch
	return plotpng.Render(p, w, 6*vg.Inch)
}

// logTicks labels a log axis by decades when it spans them, and with
// ordinary ticks when the data sit within one decade (where plot.LogTicks
// would leave the axis unlabelled).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi/lo >= 10 {
		return plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	}
	return plot.DefaultTicks{}.Ticks(lo, hi)
}
