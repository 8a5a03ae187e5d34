// Package plotpng renders gonum plots as PNG images, the one format
// GoApprox's reports write, at one resolution for every report.
package plotpng

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution of every report plot.
const DPI = 110

// Render draws p on a w×h canvas and returns the PNG image.
func Render(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	return Draw(w, h, func(c draw.Canvas) { p.Draw(c) })
}

// Draw calls paint on a w×h canvas (for plots drawn in tiles or side by
// side) and returns the PNG image.
func Draw(w, h vg.Length, paint func(draw.Canvas)) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	paint(draw.New(img))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}
