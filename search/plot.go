package search

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/goapprox/goapprox/internal/plotpng"
)

var (
	sigmaColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	bestColor  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	exactColor = color.Gray{Y: 120}
)

// sigmaPlot draws each layer's learned |sigma| as a bar, with sigma max
// dashed.
func sigmaPlot(r Report) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("learned relative noise per layer (lambda %g)", r.Lambda)
	p.Y.Label.Text = "|sigma| (noise std / output std)"
	n := len(r.Layers)
	names := make([]string, n)
	vals := make(plotter.Values, n)
	for i, l := range r.Layers {
		names[i] = l.Name
		vals[i] = math.Abs(l.Sigma)
	}
	b, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return nil, err
	}
	b.Color = sigmaColor
	b.LineStyle.Width = 0
	p.Add(b)
	if r.SigmaMax > 0 {
		capLine := plotter.NewFunction(func(float64) float64 { return r.SigmaMax })
		capLine.Color = exactColor
		capLine.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(capLine)
		p.Legend.Add(fmt.Sprintf("sigma max %g", r.SigmaMax), capLine)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.7, float64(n-1)+0.7
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign = text.XRight
	p.X.Tick.Label.YAlign = text.YCenter
	p.Y.Min = 0
	p.Y.Max = 1.15 * math.Max(p.Y.Max, r.SigmaMax)
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return plotpng.Render(p, vg.Length(math.Max(5, 0.4*float64(n)+2))*vg.Inch, 5*vg.Inch)
}

// lambdaPlot draws accuracy after retraining against the energy saved for
// every lambda tried that has a saving, the chosen one in red, with the
// exact accuracy and the budget's floor dashed. ok is false when no point
// has a saving.
func lambdaPlot(r Report) (png []byte, ok bool, err error) {
	var pts, chosen plotter.XYs
	var labels []string
	for _, q := range r.LambdasTried {
		if q.EnergySaved == nil {
			continue
		}
		xy := plotter.XY{X: 100 * *q.EnergySaved, Y: 100 * q.Accuracy}
		pts = append(pts, xy)
		labels = append(labels, fmt.Sprintf("λ=%.3g", q.Lambda))
		if q.Lambda == r.Lambda {
			chosen = append(chosen, xy)
		}
	}
	if len(pts) == 0 {
		return nil, false, nil
	}
	p := plot.New()
	p.Title.Text = "lambdas tried"
	p.X.Label.Text = "multiplication energy saved (%)"
	p.Y.Label.Text = "accuracy after retraining (%)"
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, false, err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: sigmaColor, Shape: draw.CircleGlyph{}, Radius: vg.Points(3)}
	p.Add(s)
	p.Legend.Add("tried", s)
	if len(chosen) > 0 {
		c, err := plotter.NewScatter(chosen)
		if err != nil {
			return nil, false, err
		}
		c.GlyphStyle = draw.GlyphStyle{Color: bestColor, Shape: draw.PyramidGlyph{}, Radius: vg.Points(5)}
		p.Add(c)
		p.Legend.Add("chosen", c)
	}
	lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return nil, false, err
	}
	for i := range lbl.TextStyle {
		lbl.TextStyle[i].Font.Size = vg.Points(7)
	}
	lbl.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(-3)}
	p.Add(lbl)
	exact := plotter.NewFunction(func(float64) float64 { return 100 * r.AccuracyExact })
	exact.Color = exactColor
	exact.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(exact)
	p.Legend.Add(fmt.Sprintf("exact %.2f%%", 100*r.AccuracyExact), exact)
	lo := 100 * r.AccuracyExact
	if r.Budget != nil {
		lo -= *r.Budget
		floor := plotter.NewFunction(func(float64) float64 { return 100*r.AccuracyExact - *r.Budget })
		floor.Color = bestColor
		floor.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(floor)
		p.Legend.Add(fmt.Sprintf("budget %.2f points", *r.Budget), floor)
	}
	p.Add(plotter.NewGrid())
	p.Y.Max = math.Max(p.Y.Max, 100*r.AccuracyExact)
	p.Y.Min = math.Min(p.Y.Min, lo)
	span := math.Max(p.Y.Max-p.Y.Min, 0.5)
	p.Y.Max += 0.05 * span
	p.Y.Min -= 0.3 * span // room for the legend below the points
	xs := math.Max(p.X.Max-p.X.Min, 1)
	p.X.Min -= 0.05 * xs
	p.X.Max += 0.2 * xs // room for the labels
	p.Legend.Left = true
	p.Legend.Top = false
	png, err = plotpng.Render(p, 7*vg.Inch, 5*vg.Inch)
	return png, err == nil, err
}
