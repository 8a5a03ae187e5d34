package compare

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/goapprox/goapprox/internal/plotpng"
)

var (
	methodStyle = map[Method]draw.GlyphStyle{
		Uniform: {Color: color.RGBA{R: 31, G: 119, B: 180, A: 255}, Shape: draw.CircleGlyph{}, Radius: vg.Points(3.5)},
		Greedy:  {Color: color.RGBA{R: 44, G: 160, B: 44, A: 255}, Shape: draw.BoxGlyph{}, Radius: vg.Points(4)},
		Search:  {Color: color.RGBA{R: 214, G: 39, B: 40, A: 255}, Shape: draw.TriangleGlyph{}, Radius: vg.Points(4)},
	}
	exactColor  = color.Gray{Y: 90}
	budgetColor = color.Gray{Y: 150}
)

// Plot draws every point, energy saved against accuracy after retraining,
// one glyph per method, with the exact accuracy and each budget's floor
// dashed. Accuracies more than floor points below the exact model are
// left out (the title says how many), so that a multiplier that ruins the
// model does not squash the interesting region.
func (s *Set) Plot(budgets []float64, floor float64) ([]byte, error) {
	if !(floor > 0) || math.IsInf(floor, 0) {
		return nil, fmt.Errorf("compare: plot floor %g points must be finite and > 0", floor)
	}
	p := plot.New()
	p.X.Label.Text = "multiplication energy saved (%)"
	p.Y.Label.Text = "accuracy after retraining (%)"
	lo := 100*s.AccuracyExact - floor
	hidden := 0
	for _, m := range Methods() {
		var xys plotter.XYs
		for _, q := range s.Points {
			if q.Method != m {
				continue
			}
			if 100*q.AccuracyAfter < lo {
				hidden++
				continue
			}
			xys = append(xys, plotter.XY{X: 100 * q.EnergySaved, Y: 100 * q.AccuracyAfter})
		}
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = methodStyle[m]
		p.Add(sc)
		p.Legend.Add(string(m), sc)
	}
	p.Title.Text = fmt.Sprintf("%s on %s: assignments after retraining", s.Model, s.Dataset)
	if hidden > 0 {
		p.Title.Text += fmt.Sprintf(" (%d more than %s below exact not shown)", hidden, points(floor))
	}
	exact := plotter.NewFunction(func(float64) float64 { return 100 * s.AccuracyExact })
	exact.Color = exactColor
	exact.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	p.Add(exact)
	p.Legend.Add(fmt.Sprintf("exact %.2f%%", 100*s.AccuracyExact), exact)
	for _, b := range budgets {
		level := 100*s.AccuracyExact - b
		f := plotter.NewFunction(func(float64) float64 { return level })
		f.Color = budgetColor
		f.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(f)
		p.Legend.Add("budget "+points(b), f)
	}
	p.Add(plotter.NewGrid())
	top := 100 * s.AccuracyExact
	bottom := lo
	for _, q := range s.Points {
		if a := 100 * q.AccuracyAfter; a >= lo {
			top = math.Max(top, a)
		}
	}
	span := top - bottom
	p.Y.Min, p.Y.Max = bottom-0.02*span, top+0.05*span
	p.X.Min, p.X.Max = 0, 100
	p.Legend.Left, p.Legend.Top = true, false
	return plotpng.Render(p, 7*vg.Inch, 5*vg.Inch)
}
