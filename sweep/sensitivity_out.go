package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/internal/plotpng"
)

// File names of a sensitivity folder.
const (
	SensitivityCSV  = "sensitivity.csv"
	SensitivityJSON = "sensitivity.json"
	SensitivityPlot = "sensitivity.png"
)

// WriteSensitivity saves a sensitivity result into dir: json, csv (one row
// per multiplier and layer) and a bar chart of the drops.
func WriteSensitivity(dir string, r SensitivityResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, SensitivityJSON), append(js, '\n')); err != nil {
		return err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	header := []string{"lut", "name", "layer", "kind", "muls_per_sample", "mul_share", "accuracy", "drop",
		"predicted_mean", "predicted_std", "output_std", "predicted_sigma", "predicted_mean_rel"}
	if r.Retraining != nil {
		header = append(header, "accuracy_retrained", "drop_retrained")
	}
	w.Write(header)
	for _, m := range r.Multipliers {
		for _, l := range m.Layers {
			row := []string{m.LUT, m.Name, l.Layer, l.Kind, fmt.Sprint(l.Muls), num(l.Share), num(l.Accuracy), num(l.Drop),
				num(l.PredictedMean), num(l.PredictedStd), num(l.OutputStd), num(l.PredictedSigma), num(l.PredictedMeanRel)}
			if r.Retraining != nil {
				row = append(row, optNum(l.AccuracyRetrained), optNum(l.DropRetrained))
			}
			w.Write(row)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, SensitivityCSV), b.Bytes()); err != nil {
		return err
	}
	png, err := sensitivityPlot(r)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, SensitivityPlot), png)
}

// optNum is num of *v, or empty when v is nil.
func optNum(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

// sensitivityPlot draws, per layer (labelled with its share of the
// multiplications), one bar per multiplier: the accuracy drop in points.
func sensitivityPlot(r SensitivityResult) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s on %s: one layer approximate at a time (exact %.2f%%)", r.Model, r.Dataset, 100*r.AccuracyExact)
	p.Y.Label.Text = "accuracy drop (points)"
	names := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		names[i] = fmt.Sprintf("%s\n%.1f%% of muls", l.Layer, 100*l.Share)
	}
	nm := len(r.Multipliers)
	width := vg.Points(math.Max(4, math.Min(18, 60/float64(max(nm, 1)))))
	lo, hi := 0.0, 0.0
	for i, m := range r.Multipliers {
		v := make(plotter.Values, len(m.Layers))
		for k, l := range m.Layers {
			v[k] = 100 * l.Drop
			lo, hi = math.Min(lo, v[k]), math.Max(hi, v[k])
		}
		bars, err := plotter.NewBarChart(v, width)
		if err != nil {
			return nil, err
		}
		bars.Color = seriesColor(i, nm)
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(i)-float64(nm-1)/2) * width
		p.Add(bars)
		p.Legend.Add(m.Name, bars)
	}
	p.NominalX(names...)
	p.X.Tick.Label.XAlign = text.XCenter
	p.X.Min, p.X.Max = -0.7, float64(len(names)-1)+0.7
	p.Y.Min = lo - 0.05*(hi-lo)
	p.Y.Max = hi + 0.35*(hi-lo) + 0.01 // room for the legend
	p.Legend.Top = true
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Transparent
	p.Add(grid)
	w := vg.Length(math.Max(7, 1.2*float64(len(names))+1)) * vg.Inch
	return plotpng.Render(p, w, 5*vg.Inch)
}

// ReadSensitivity reads the sensitivity.json of a sensitivity or
// assignment folder (dir), or that file itself.
func ReadSensitivity(path string) (SensitivityResult, error) {
	var r SensitivityResult
	return r, readResultFile(path, SensitivityJSON, "train sensitivity or assign", &r)
}

// seriesColor is the colour of series i of n: plotutil's palette while it
// has a colour for each, otherwise n hues evenly spaced around the colour
// wheel, so that no two bars of a layer share a colour.
func seriesColor(i, n int) color.Color {
	if n <= len(plotutil.DefaultColors) {
		return plotutil.Color(i)
	}
	h := 6 * float64(i) / float64(n) // sector 0..6 of the hue circle
	x := 1 - math.Abs(math.Mod(h, 2)-1)
	var r, g, b float64
	switch int(h) {
	case 0:
		r, g = 1, x
	case 1:
		r, g = x, 1
	case 2:
		g, b = 1, x
	case 3:
		g, b = x, 1
	case 4:
		r, b = x, 1
	default:
		r, b = 1, x
	}
	const v, s = 0.85, 0.75 // value and saturation: readable on white
	c := func(f float64) uint8 { return uint8(math.Round(255 * v * (1 - s + s*f))) }
	return color.RGBA{R: c(r), G: c(g), B: c(b), A: 255}
}
