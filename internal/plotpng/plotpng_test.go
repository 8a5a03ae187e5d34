package plotpng

import (
	"bytes"
	"image/png"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// A 2x1 inch plot is a PNG of 2·DPI × DPI pixels that is not blank.
func TestRender(t *testing.T) {
	p := plot.New()
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	data, err := Render(p, 2*vg.Inch, vg.Inch)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != 2*DPI || b.Dy() != DPI {
		t.Errorf("image %dx%d, want %dx%d", b.Dx(), b.Dy(), 2*DPI, DPI)
	}
	first := img.At(0, 0)
	same := true
	for y := b.Min.Y; y < b.Max.Y && same; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.At(x, y) != first {
				same = false
				break
			}
		}
	}
	if same {
		t.Error("the image is one colour: nothing was drawn")
	}
}
