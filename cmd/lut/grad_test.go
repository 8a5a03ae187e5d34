package main

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/npy"
	"github.com/goapprox/goapprox/lut"
)

// readGrad reads a file lut grad wrote and checks its shape and dtype.
func readGrad(t *testing.T, path string) []float32 {
	t.Helper()
	a, err := npy.ReadFile(path, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{2, 256, 256}) || a.Float32 == nil {
		t.Fatalf("%s: shape %v, float32 %t; want float32 (2, 256, 256)", path, a.Shape, a.Float32 != nil)
	}
	return a.Float32
}

// TestGradExactTable: for the exact multiplier [0][x][w] is w's value and
// [1][x][w] is x's, in the table's index convention, whatever the window.
func TestGradExactTable(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		spec   string
		window string
		signs  lut.Signs
	}{
		{"exact", "0", lut.Both(lut.Unsigned)},
		{"exact:signed=true", "5", lut.Both(lut.Signed)},
	} {
		out := filepath.Join(dir, "g.npy")
		if code, stdout, errOut := lutCmd("grad", "-window", c.window, "-o", out, c.spec); code != 0 || !strings.Contains(stdout, "wrote "+out) {
			t.Fatalf("grad %s: exit %d, stdout %q, stderr %q", c.spec, code, stdout, errOut)
		}
		g := readGrad(t, out)
		for xi := 0; xi < 256; xi++ {
			for wi := 0; wi < 256; wi++ {
				x, w := c.signs.X.Value(xi), c.signs.W.Value(wi)
				if gx, gw := g[xi<<8|wi], g[lut.Size+xi<<8|wi]; gx != float32(w) || gw != float32(x) {
					t.Fatalf("%s: at (x=%d, w=%d) slopes (%g, %g), want (%d, %d)", c.spec, x, w, gx, gw, w, x)
				}
			}
		}
	}
}

// TestGradFileByHand: a signed table file, zero but for one entry of 8 at
// (x=1, w=127), read with -signed: along w, 127 is the top of the value
// order (slope 8-0 there, (8-0)/2 at 126) and -128 (index 128) the bottom,
// not a neighbour; along x the entry gives (8-0)/2 at x=0 and (0-8)/2 at x=2.
// Read without -signed, indices 127 and 128 are neighbours: (0-8)/2 at 128.
func TestGradFileByHand(t *testing.T) {
	dir := t.TempDir()
	tab, err := lut.Tabulate("spike", lut.Both(lut.Signed), func(x, w int) int {
		if x == 1 && w == 127 {
			return 8
		}
		return 0
	})
	if err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "spike.csv"), filepath.Join(dir, "g.npy")
	if err := lut.WriteFile(in, tab); err != nil {
		t.Fatal(err)
	}
	at := func(g []float32, axis, xi, wi int) float32 { return g[axis*lut.Size+xi<<8|wi] }
	if code, _, errOut := lutCmd("grad", "-signed", "-o", out, in); code != 0 {
		t.Fatalf("grad -signed: exit %d: %s", code, errOut)
	}
	g := readGrad(t, out)
	for _, c := range []struct {
		axis, xi, wi int
		want         float32
	}{
		{1, 1, 127, 8}, {1, 1, 126, 4}, {1, 1, 128, 0}, {1, 1, 129, 0},
		{0, 0, 127, 4}, {0, 2, 127, -4}, {0, 1, 127, 0}, {0, 255, 127, 0},
	} {
		if got := at(g, c.axis, c.xi, c.wi); got != c.want {
			t.Errorf("-signed: [%d][%d][%d] = %g, want %g", c.axis, c.xi, c.wi, got, c.want)
		}
	}
	if code, _, errOut := lutCmd("grad", "-o", out, in); code != 0 {
		t.Fatalf("grad: exit %d: %s", code, errOut)
	}
	if got := at(readGrad(t, out), 1, 1, 128); got != -4 {
		t.Errorf("unsigned reading: [1][1][128] = %g, want -4", got)
	}
}

func TestGradAndHeatmapErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "g.npy")
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"grad", "exact"}, 2, "needs exactly one SPEC or FILE and -o OUT.npy"},
		{[]string{"grad", "-window", "-1", "-o", out, "exact"}, 2, "gradient window -1 is out of range: the half-width H must be 0..127"},
		{[]string{"grad", "-window", "128", "-o", out, "exact"}, 2, "gradient window 128 is out of range"},
		{[]string{"grad", "-window", "wide", "-o", out, "exact"}, 2, `gradient window "wide" is not an integer`},
		{[]string{"grad", "-o", filepath.Join(dir, "g.bin"), "exact"}, 1, "name it .npy"},
		{[]string{"grad", "-o", out, "booth"}, 1, `unknown design "booth"`},
		{[]string{"heatmap", "-grad", "y", "-o", filepath.Join(dir, "m.png"), "exact"}, 1, `-grad "y": draw the slope along x`},
		{[]string{"heatmap", "-window", "3", "-o", filepath.Join(dir, "m.png"), "exact"}, 1, "the error map takes no window"},
		{[]string{"heatmap", "-grad", "w", "-window", "200", "-o", filepath.Join(dir, "m.png"), "exact"}, 2, "out of range"},
	} {
		code, _, errOut := lutCmd(c.args...)
		if code != c.code || !strings.Contains(errOut, c.stderr) {
			t.Errorf("lut %v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.code, c.stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed grad left %s behind (%v)", out, err)
	}
	if code, stdout, _ := lutCmd("grad", "-h"); code != 0 || !strings.Contains(stdout, "Usage: lut grad") {
		t.Errorf("lut grad -h: exit %d, %q", code, stdout)
	}
}

func TestHeatmapGradWritesPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slope.png")
	if code, _, errOut := lutCmd("heatmap", "-grad", "w", "-window", "4", "-o", path, "drum:k=4"); code != 0 {
		t.Fatalf("heatmap -grad w: exit %d: %s", code, errOut)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 600 || cfg.Height < 500 {
		t.Errorf("slope map PNG: %v, %dx%d", err, cfg.Width, cfg.Height)
	}
}
