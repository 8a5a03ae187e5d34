package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/internal/plotpng"
	"github.com/goapprox/goapprox/lut"
)

func runHeatmap(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("heatmap", "[-signed] [-grad x|w [-window H]] -o OUT.png SPEC|FILE",
		"Draws the error of each product, approx - exact, over the 256x256 operand grid:\n"+
			"the activation x up the vertical axis, the weight w along the horizontal one, both in\n"+
			"operand value order (signed axes run -128..127). Blue is too small, red too large,\n"+
			"light grey exact; the colour scale is symmetric around 0. With -grad it draws instead the\n"+
			"slope of the table along x or w, as lut grad writes it, on the same kind of scale.", stderr)
	out := fs.String("o", "", "output `file`, .png; required")
	signed := fs.Bool("signed", false, "read a table file with signed operands (specs say signed=true themselves)")
	grad := fs.String("grad", "", "draw the slope along the activation (x) or the weight (w) operand instead of the error (default: the error map)")
	var window lut.Window
	fs.Var(&window, "window", "with -grad: half-width `H` of the smoothing window, 0..127 (default 0: the raw table's slopes)")
	pos, err := parse(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprintln(stderr, "lut heatmap: needs exactly one SPEC or FILE and -o OUT.png, e.g. lut heatmap -o drum4.png drum:k=4")
		return errUsage
	}
	if !strings.EqualFold(filepath.Ext(*out), ".png") {
		return fmt.Errorf("output %s: the heat map is written as PNG; name it .png", *out)
	}
	if *grad != "" && *grad != "x" && *grad != "w" {
		return fmt.Errorf("-grad %q: draw the slope along x (the activation) or w (the weight)", *grad)
	}
	if *grad == "" && window != 0 {
		return fmt.Errorf("-window %d smooths the slopes of -grad x|w; the error map takes no window", window)
	}
	t, err := load(pos[0], *signed, stderr)
	if err != nil {
		return err
	}
	m := errorMap(t)
	if *grad != "" {
		if m, err = slopeMap(t, *grad, window); err != nil {
			return err
		}
	}
	png, err := drawHeatmap(m)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*out, png); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// heatmap is a quantity over the operand grid and how to label it.
type heatmap struct {
	t     *lut.Table
	z     func(xi, wi int) float64 // the quantity at a pair of byte indices
	title string                   // what the map shows
	what  string                   // the quantity's name in the title's max |what|
	label string                   // of the colour bar
}

// operandGrid presents a heatmap as a plotter.GridXYZ: column c is the c-th
// weight value and row r the r-th activation value in increasing order, so
// a signed axis reads -128..127 rather than in byte-index order.
type operandGrid struct{ m heatmap }

func (g operandGrid) Dims() (c, r int) { return 256, 256 }
func (g operandGrid) X(c int) float64  { return float64(value(c, g.m.t.Signs().W)) }
func (g operandGrid) Y(r int) float64  { return float64(value(r, g.m.t.Signs().X)) }
func (g operandGrid) Z(c, r int) float64 {
	s := g.m.t.Signs()
	return g.m.z(s.X.IndexAt(r), s.W.IndexAt(c))
}

// value is the k-th operand value in increasing order.
func value(k int, s lut.Signedness) int { return s.Value(s.IndexAt(k)) }

func errorAt(t *lut.Table, x, w int) int64 {
	return int64(t.At(int32(x), int32(w))) - int64(x)*int64(w)
}

func errorMap(t *lut.Table) heatmap {
	s := t.Signs()
	return heatmap{
		t: t,
		z: func(xi, wi int) float64 {
			return float64(errorAt(t, s.X.Value(xi), s.W.Value(wi)))
		},
		title: t.Name() + ": approx - exact",
		what:  "error",
		label: "error (approx - exact)",
	}
}

// slopeMap is the slope of t along the operand axis ("x" or "w").
func slopeMap(t *lut.Table, axis string, window lut.Window) (heatmap, error) {
	g, err := lut.Gradient(t, window)
	if err != nil {
		return heatmap{}, err
	}
	slope, name := &g.X, "x, the activation"
	if axis == "w" {
		slope, name = &g.W, "w, the weight"
	}
	return heatmap{
		t:     t,
		z:     func(xi, wi int) float64 { return float64(slope[xi<<8|wi]) },
		title: fmt.Sprintf("%s: slope along %s, window %d", t.Name(), name, window),
		what:  "slope",
		label: "slope along " + axis,
	}, nil
}

func drawHeatmap(m heatmap) ([]byte, error) {
	var maxAbs float64
	for xi := range 256 {
		for wi := range 256 {
			maxAbs = max(maxAbs, math.Abs(m.z(xi, wi)))
		}
	}
	limit := max(maxAbs, 1) // a zero map still gets a scale

	colours := moreland.SmoothBlueRed()
	colours.SetMin(-limit)
	colours.SetMax(limit)

	hm := plotter.NewHeatMap(operandGrid{m}, colours.Palette(255))
	hm.Min, hm.Max = -limit, limit
	hm.Rasterized = true

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s (max |%s| %s)", m.title, m.what, strconv.FormatFloat(maxAbs, 'g', 6, 64))
	p.X.Label.Text = "w, weight operand (column)"
	p.Y.Label.Text = "x, activation operand (row)"
	p.Add(hm)
	p.X.Tick.Marker = operandTicks{}
	p.Y.Tick.Marker = operandTicks{}

	bar := plot.New()
	bar.Y.Label.Text = m.label
	bar.HideX()
	bar.Add(&plotter.ColorBar{ColorMap: colours, Vertical: true})

	const width, height, barWidth = 7.5 * vg.Inch, 6.2 * vg.Inch, 1.3 * vg.Inch
	return plotpng.Draw(width, height, func(dc draw.Canvas) {
		mapArea := draw.Crop(dc, 0, -barWidth, 0, 0)
		p.Draw(mapArea)
		// The bar's ends are levelled with the map's: its area is cut by
		// the difference between the two plots' data areas, which the
		// axes, titles and labels around each make unequal.
		barArea := draw.Crop(dc, width-barWidth, 0, 0, 0)
		want, got := p.DataCanvas(mapArea), bar.DataCanvas(barArea)
		bar.Draw(draw.Crop(barArea, 0, 0, want.Min.Y-got.Min.Y, want.Max.Y-got.Max.Y))
	})
}

// operandTicks labels an operand axis every 32 values, including the ends
// of the signed (-128, 127) and unsigned (0, 255) ranges.
type operandTicks struct{}

func (operandTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for v := -128; v <= 255; v += 16 {
		if float64(v) < lo || float64(v) > hi {
			continue
		}
		label := ""
		if v%64 == 0 {
			label = fmt.Sprint(v)
		}
		ticks = append(ticks, plot.Tick{Value: float64(v), Label: label})
	}
	for _, end := range []float64{127, 255} {
		if end >= lo && end <= hi && end+1 > hi {
			ticks = append(ticks, plot.Tick{Value: end, Label: fmt.Sprint(end)})
		}
	}
	return ticks
}
