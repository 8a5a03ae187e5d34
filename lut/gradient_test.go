package lut

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// gradAt returns the slopes at the operand values (x, w): their codes'
// low bytes index the table whatever its signedness.
func gradAt(g *Gradients, x, w int) (gx, gw float32) {
	i := Index(int32(x))<<8 | Index(int32(w))
	return g.X[i], g.W[i]
}

func mustGradient(t *testing.T, tab *Table, h Window) *Gradients {
	t.Helper()
	g, err := Gradient(tab, h)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// spike is a table that is zero but for one entry.
func spike(t *testing.T, s Signs, x, w, v int) *Table {
	t.Helper()
	tab, err := Tabulate("spike", s, func(a, b int) int {
		if a == x && b == w {
			return v
		}
		return 0
	})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

type gradCase struct {
	x, w   int     // operand values
	gx, gw float32 // want
}

func checkGrad(t *testing.T, what string, g *Gradients, s Signs, cases []gradCase) {
	t.Helper()
	for _, c := range cases {
		gx, gw := gradAt(g, c.x, c.w)
		if gx != c.gx || gw != c.gw {
			t.Errorf("%s: at (x=%d, w=%d) slopes (%g, %g), want (%g, %g)", what, c.x, c.w, gx, gw, c.gx, c.gw)
		}
	}
}

// TestGradientSpikeByHand: a single entry of 6 at (x=2, w=5) of an unsigned
// table. With H=0 the slopes are the central differences of the raw table
// (+-3 beside the spike, and the one-sided difference at the x=0 end); with
// H=1 the spike is smoothed to three entries of 2 along each axis, and the
// window shrinks to one entry at position 0.
func TestGradientSpikeByHand(t *testing.T) {
	u := Both(Unsigned)
	tab := spike(t, u, 2, 5, 6)
	checkGrad(t, "H=0", mustGradient(t, tab, 0), u, []gradCase{
		{2, 4, 0, 3}, {2, 5, 0, 0}, {2, 6, 0, -3}, {2, 3, 0, 0},
		{1, 5, 3, 0}, {3, 5, -3, 0}, {0, 5, 0, 0}, {4, 5, 0, 0},
		{1, 4, 0, 0}, {2, 255, 0, 0},
	})
	checkGrad(t, "H=1", mustGradient(t, tab, 1), u, []gradCase{
		// Along w in row 2: S = 2 at w = 4, 5, 6.
		{2, 2, 0, 0}, {2, 3, 0, 1}, {2, 4, 0, 1}, {2, 5, 0, 0}, {2, 6, 0, -1}, {2, 7, 0, -1}, {2, 8, 0, 0},
		// Along x in column 5: S[0] = 0 (a window of one), S = 2 at x = 1, 2, 3.
		{0, 5, 2, 0}, {1, 5, 1, 0}, {2, 5, 0, 0}, {3, 5, -1, 0}, {4, 5, -1, 0}, {5, 5, 0, 0},
		// Row 1 and column 4 see nothing along their own axis.
		{1, 4, 0, 0},
	})
	// At the far end the difference is one-sided: a spike of 6 at x=255.
	end := spike(t, u, 255, 0, 6)
	checkGrad(t, "end H=0", mustGradient(t, end, 0), u, []gradCase{{255, 0, 6, -6}, {254, 0, 3, 0}, {253, 0, 0, 0}})
}

// TestGradientSignedWrap: on a signed axis the value order runs -128..127,
// so the neighbours of index 127 (value 127) are 126 and nothing, and index
// 128 (value -128) is the other end. The same entries read as unsigned make
// indices 127 and 128 neighbours.
func TestGradientSignedWrap(t *testing.T) {
	s := Both(Signed)
	tab := spike(t, s, 1, 127, 8)
	checkGrad(t, "signed, spike at w=127", mustGradient(t, tab, 0), s, []gradCase{
		{1, 127, 0, 8},    // the end: S[255]-S[254]
		{1, 126, 0, 4},    // (8-0)/2
		{1, -128, 0, 0},   // the other end: S[1]-S[0] = 0
		{1, -127, 0, 0},   // (0-0)/2
		{0, 127, 4, 0},    // along x: (8-0)/2 at x=0, between -1 and 1
		{2, 127, -4, 0},   // (0-8)/2
		{-1, 127, 0, 0},   // x=-1: (T[0]-T[-2])/2 = 0
		{-128, 127, 0, 0}, // the low end of x
	})
	// With H=2 at w=127 (position 255) the window is one entry: S = 8 there;
	// at 126 it has radius 1: S = 8/3; at 125 radius 2: S = 8/5.
	checkGrad(t, "signed H=2", mustGradient(t, tab, 2), s, []gradCase{
		{1, 127, 0, float32(8 - 8.0/3)},
		{1, 126, 0, float32((8 - 8.0/5) / 2)},
		{1, -128, 0, 0},
	})
	// A spike at w=-1 (index 255) has the neighbours -2 (index 254) and 0 (index 0).
	neg := spike(t, s, 3, -1, 6)
	checkGrad(t, "signed, spike at w=-1", mustGradient(t, neg, 0), s, []gradCase{
		{3, 0, 0, -3}, {3, -2, 0, 3}, {3, -1, 0, 0}, {3, 1, 0, 0},
	})
	// The same entries read as unsigned: index 127 then 128 are neighbours.
	u := Both(Unsigned)
	checkGrad(t, "unsigned reading", mustGradient(t, tab.WithSigns(u), 0), u, []gradCase{
		{1, 127, 0, 0}, {1, 128, 0, -4}, {1, 126, 0, 4},
	})
}

// TestGradientNonCommutative: T = 3x + w^2 (unsigned). Along x the slope is
// 3 everywhere; along w the central difference of w^2 is 2w exactly, with
// 1 and 255^2-254^2 = 509 at the ends. Smoothed with H=1, w^2 becomes
// w^2 + 2/3 inside, so the slope stays 2w two positions in from the ends.
func TestGradientNonCommutative(t *testing.T) {
	u := Both(Unsigned)
	tab, err := Tabulate("3x+w^2", u, func(x, w int) int { return 3*x + w*w })
	if err != nil {
		t.Fatal(err)
	}
	g := mustGradient(t, tab, 0)
	checkGrad(t, "H=0", g, u, []gradCase{{0, 0, 3, 1}, {7, 1, 3, 2}, {200, 100, 3, 200}, {255, 254, 3, 508}, {9, 255, 3, 509}})
	g1 := mustGradient(t, tab, 1)
	near := func(got float32, want float64) bool { return math.Abs(float64(got)-want) <= 1e-6*math.Abs(want) }
	for _, c := range []struct {
		w    int
		want float64
	}{{0, 1 + 2.0/3}, {1, (4 + 2.0/3) / 2}, {2, 4}, {100, 200}, {253, 506}, {254, (65025 - 64009 - 2.0/3) / 2}, {255, 65025 - 64516 - 2.0/3}} {
		if _, gw := gradAt(g1, 17, c.w); !near(gw, c.want) {
			t.Errorf("H=1: slope along w at w=%d is %g, want %g", c.w, gw, c.want)
		}
	}
	// The slopes of the transposed table are the transposed slopes, axes swapped.
	gt := mustGradient(t, tab.Transpose(), 1)
	for x := 0; x < 256; x++ {
		for w := 0; w < 256; w++ {
			if gt.X[w<<8|x] != g1.W[x<<8|w] || gt.W[w<<8|x] != g1.X[x<<8|w] {
				t.Fatalf("transposed table at (%d, %d): slopes (%g, %g), want (%g, %g)",
					w, x, gt.X[w<<8|x], gt.W[w<<8|x], g1.W[x<<8|w], g1.X[x<<8|w])
			}
		}
	}
}

// TestGradientExactTable: the exact product's slope along x is w and along
// w is x, exactly, for every signedness and window.
func TestGradientExactTable(t *testing.T) {
	for _, s := range []Signs{Both(Unsigned), Both(Signed), {X: Unsigned, W: Signed}, {X: Signed, W: Unsigned}} {
		tab := ExactTable(s)
		for _, h := range []Window{0, 1, 4, 16, MaxWindow} {
			g := mustGradient(t, tab, h)
			for xi := 0; xi < 256; xi++ {
				for wi := 0; wi < 256; wi++ {
					x, w := s.X.Value(xi), s.W.Value(wi)
					if g.X[xi<<8|wi] != float32(w) || g.W[xi<<8|wi] != float32(x) {
						t.Fatalf("%v H=%d: at (x=%d, w=%d) slopes (%g, %g), want (%d, %d)",
							s, h, x, w, g.X[xi<<8|wi], g.W[xi<<8|wi], w, x)
					}
				}
			}
		}
	}
}

// TestGradientLinearRowsExact: a table linear in w in each row, with any
// offset and slope per row (here random, and not linear in x), is
// reproduced exactly by the smoothing for every window, so its slope along
// w is the row's slope exactly.
func TestGradientLinearRowsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var off, k [256]int
	for i := range off {
		off[i], k[i] = r.IntN(20001)-10000, r.IntN(201)-100
	}
	for _, s := range []Signs{Both(Unsigned), Both(Signed)} {
		tab, err := Tabulate("linear rows", s, func(x, w int) int { return off[Index(int32(x))] + k[Index(int32(x))]*w })
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []Window{0, 1, 2, 5, 64, MaxWindow} {
			g := mustGradient(t, tab, h)
			for xi := 0; xi < 256; xi++ {
				var line [256]int32
				for p := range line {
					line[p] = tab.entries[xi<<8|s.W.IndexAt(p)]
				}
				var smooth [256]float64
				smoothLine(&line, int(h), &smooth)
				for p, v := range smooth {
					if v != float64(line[p]) {
						t.Fatalf("%v H=%d: row %d smoothed to %g at position %d, want the entry %d", s, h, xi, v, p, line[p])
					}
				}
				for wi := 0; wi < 256; wi++ {
					if g.W[xi<<8|wi] != float32(k[xi]) {
						t.Fatalf("%v H=%d: row %d slope %g at w index %d, want %d", s, h, xi, g.W[xi<<8|wi], wi, k[xi])
					}
				}
			}
		}
	}
}

// TestGradientMatchesDirectDefinition compares Gradient, which smooths with
// prefix sums, with the definition evaluated entry by entry on random
// tables of every signedness.
func TestGradientMatchesDirectDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []Signs{Both(Unsigned), Both(Signed), {X: Signed, W: Unsigned}} {
		entries := make([]int32, Size)
		for i := range entries {
			entries[i] = int32(r.IntN(1<<20) - 1<<19)
		}
		tab, err := FromEntries("random", s, entries)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []Window{0, 3, 100, MaxWindow} {
			g := mustGradient(t, tab, h)
			// at(axis, fixed, p) is the entry at value position p along the axis.
			at := func(alongW bool, fixed, p int) float64 {
				if alongW {
					return float64(tab.entries[fixed<<8|s.W.IndexAt(p)])
				}
				return float64(tab.entries[s.X.IndexAt(p)<<8|fixed])
			}
			smooth := func(alongW bool, fixed, p int) float64 {
				hp := min(int(h), p, 255-p)
				sum := 0.0
				for q := p - hp; q <= p+hp; q++ {
					sum += at(alongW, fixed, q)
				}
				return sum / float64(2*hp+1)
			}
			slope := func(alongW bool, fixed, p int) float64 {
				switch p {
				case 0:
					return smooth(alongW, fixed, 1) - smooth(alongW, fixed, 0)
				case 255:
					return smooth(alongW, fixed, 255) - smooth(alongW, fixed, 254)
				}
				return (smooth(alongW, fixed, p+1) - smooth(alongW, fixed, p-1)) / 2
			}
			for n := 0; n < 3000; n++ {
				xi, wi := r.IntN(256), r.IntN(256)
				if n < 4 { // the corners
					xi, wi = s.X.IndexAt(255*(n&1)), s.W.IndexAt(255*(n>>1))
				}
				wantW := slope(true, xi, s.W.Position(wi))
				wantX := slope(false, wi, s.X.Position(xi))
				gotX, gotW := float64(g.X[xi<<8|wi]), float64(g.W[xi<<8|wi])
				if math.Abs(gotW-wantW) > 1e-6*max(1, math.Abs(wantW)) || math.Abs(gotX-wantX) > 1e-6*max(1, math.Abs(wantX)) {
					t.Fatalf("%v H=%d at indices (%d, %d): slopes (%g, %g), want (%g, %g)", s, h, xi, wi, gotX, gotW, wantX, wantW)
				}
			}
		}
	}
}

func TestGradientWindowErrors(t *testing.T) {
	tab := ExactTable(Both(Signed))
	for _, h := range []Window{-1, 128, 1000} {
		if _, err := Gradient(tab, h); err == nil || !strings.Contains(err.Error(), "must be 0..127") {
			t.Errorf("window %d: error %v, want a range error", h, err)
		}
	}
	var w Window
	for in, want := range map[string]string{"-3": "out of range", "128": "out of range", "four": "not an integer", "": "not an integer"} {
		if err := w.Set(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set(%q): error %v, want %q", in, err, want)
		}
	}
	if err := w.Set("127"); err != nil || w != MaxWindow || w.String() != "127" {
		t.Errorf("Set(127): %v, window %v", err, w)
	}
}

func TestSignednessPositions(t *testing.T) {
	for _, s := range []Signedness{Unsigned, Signed} {
		for p := 0; p < 256; p++ {
			i := s.IndexAt(p)
			if s.Position(i) != p || (p > 0 && s.Value(i) != s.Value(s.IndexAt(p-1))+1) {
				t.Fatalf("%v: position %d is index %d, value %d", s, p, i, s.Value(i))
			}
		}
	}
	if Signed.Value(s8(127)) != 127 || Signed.Position(128) != 0 || Signed.Position(127) != 255 || Unsigned.Position(128) != 128 {
		t.Error("signed value order is not -128..127 with index 128 first and 127 last")
	}
	if _, err := FromEntries("bad", Signs{X: 2, W: Signed}, make([]int32, Size)); err == nil {
		t.Error("a Signs that is neither Signed nor Unsigned was accepted")
	}
}

func s8(v int) int { return v & 0xFF }
