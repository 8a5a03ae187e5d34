package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/lut"
)

func runHeatmap(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("heatmap", "[-signed] -o OUT.png SPEC|FILE",
		"Draws the error of each product, approx - exact, over the 256x256 operand grid:\n"+
			"the activation x up the vertical axis, the weight w along the horizontal one, both in\n"+
			"operand value order (signed axes run -128..127). Blue is too small, red too large,\n"+
			"white exact; the colour scale is symmetric around 0.", stderr)
	out := fs.String("o", "", "output `file`, .png; required")
	signed := fs.Bool("signed", false, "read a table file with signed operands")
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
	t, err := load(pos[0], *signed, stderr)
	if err != nil {
		return err
	}
	png, err := drawHeatmap(t)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*out, png); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// errorGrid presents a table's errors as a plotter.GridXYZ: column c is the
// c-th weight value and row r the r-th activation value in increasing order,
// so a signed axis reads -128..127 rather than in byte-index order.
type errorGrid struct{ t *lut.Table }

func (g errorGrid) Dims() (c, r int) { return 256, 256 }
func (g errorGrid) X(c int) float64  { return float64(value(c, g.t.Signs().W)) }
func (g errorGrid) Y(r int) float64  { return float64(value(r, g.t.Signs().X)) }
func (g errorGrid) Z(c, r int) float64 {
	return float64(errorAt(g.t, value(r, g.t.Signs().X), value(c, g.t.Signs().W)))
}

// value is the k-th operand value in increasing order.
func value(k int, s lut.Signedness) int { return s.Value(s.IndexAt(k)) }

func errorAt(t *lut.Table, x, w int) int64 {
	return int64(t.At(int32(x), int32(w))) - int64(x)*int64(w)
}

func drawHeatmap(t *lut.Table) ([]byte, error) {
	var maxErr int64
	for x := range 256 {
		for w := range 256 {
			e := errorAt(t, value(x, t.Signs().X), value(w, t.Signs().W))
			maxErr = max(maxErr, e, -e)
		}
	}
	limit := float64(max(maxErr, 1)) // an exact table still gets a scale

	colours := moreland.SmoothBlueRed()
	colours.SetMin(-limit)
	colours.SetMax(limit)

	grid := errorGrid{t}
	hm := plotter.NewHeatMap(grid, colours.Palette(255))
	hm.Min, hm.Max = -limit, limit
	hm.Rasterized = true

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: approx - exact (max |error| %d)", t.Name(), maxErr)
	p.X.Label.Text = "w, weight operand (column)"
	p.Y.Label.Text = "x, activation operand (row)"
	p.Add(hm)
	p.X.Tick.Marker = operandTicks{}
	p.Y.Tick.Marker = operandTicks{}

	bar := plot.New()
	bar.Y.Label.Text = "error (approx - exact)"
	// An invisible title and x axis of the map's height keep the bar's ends
	// level with the map's.
	bar.Title.Text = " "
	bar.X.Label.Text = " "
	bar.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0.5, Label: " "}})
	bar.X.LineStyle.Width = 0
	bar.X.Tick.LineStyle.Width = 0
	bar.Add(&plotter.ColorBar{ColorMap: colours, Vertical: true})

	const width, height, barWidth = 7.5 * vg.Inch, 6.2 * vg.Inch, 1.3 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(120))
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, -barWidth, 0, 0))
	bar.Draw(draw.Crop(dc, width-barWidth, 0, 0, 0))

	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("encoding PNG: %w", err)
	}
	return b.Bytes(), nil
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
