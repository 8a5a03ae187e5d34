package geom

import (
	"strings"
	"testing"
)

// TestConvSizes checks the derived sizes on hand-computed geometries.
func TestConvSizes(t *testing.T) {
	// LeNet-5's conv1: 28x28 padded by 2, 5x5 kernel -> 28x28.
	g := Conv{N: 64, C: 1, H: 28, W: 28, O: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1, Groups: 1}
	if g.OutH() != 28 || g.OutW() != 28 || g.FanIn() != 25 || g.XLen() != 64*28*28 || g.WLen() != 6*25 || g.YLen() != 64*6*28*28 {
		t.Fatalf("lenet conv1: out %dx%d fan-in %d lens %d %d %d", g.OutH(), g.OutW(), g.FanIn(), g.XLen(), g.WLen(), g.YLen())
	}
	// Depthwise, stride 2, dilation 2 in H: (9+2-2*2-1)/2+1 = 4 rows,
	// (8+0-2-1)/2+1 = 3 columns.
	g = Conv{N: 2, C: 4, H: 9, W: 8, O: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, DilH: 2, DilW: 1, Groups: 4}
	if g.OutH() != 4 || g.OutW() != 3 || g.InPerGroup() != 1 || g.OutPerGroup() != 2 || g.WLen() != 8*9 {
		t.Fatalf("depthwise: out %dx%d in/out per group %d/%d wlen %d", g.OutH(), g.OutW(), g.InPerGroup(), g.OutPerGroup(), g.WLen())
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestConvValidate checks that each kind of bad geometry is rejected with
// a message naming what is wrong.
func TestConvValidate(t *testing.T) {
	good := Conv{N: 1, C: 4, H: 5, W: 5, O: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 2}
	for _, c := range []struct {
		edit func(*Conv)
		want string
	}{
		{func(g *Conv) { g.H = 0 }, "input shape"},
		{func(g *Conv) { g.KW = 0 }, "weight shape"},
		{func(g *Conv) { g.StrideH = 0 }, "stride"},
		{func(g *Conv) { g.DilW = 0 }, "dilation"},
		{func(g *Conv) { g.PadH = -1 }, "padding"},
		{func(g *Conv) { g.Groups = 0 }, "groups"},
		{func(g *Conv) { g.Groups = 3 }, "must divide"},
		// A kernel one pixel too big still gives an output size of 1.
		{func(g *Conv) { g.KH = 6 }, "does not fit"},
	} {
		g := good
		c.edit(&g)
		err := g.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", g, err, c.want)
		}
	}
}
