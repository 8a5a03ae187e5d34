package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/lut/multiplier"
)

// lutCmd runs the command in-process and returns its exit code and output.
func lutCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

type statsRow struct {
	Name        string  `json:"name"`
	Fingerprint string  `json:"fingerprint"`
	MAE         float64 `json:"mae"`
	WCE         float64 `json:"wce"`
	EP          float64 `json:"ep"`
	MRE         float64 `json:"mre"`
	WCRE        float64 `json:"wcre"`
	MSE         float64 `json:"mse"`
	Bias        float64 `json:"bias"`
	Std         float64 `json:"std"`
}

func statsJSON(t *testing.T, args ...string) []statsRow {
	t.Helper()
	code, out, errOut := lutCmd(append([]string{"stats", "-json"}, args...)...)
	if code != 0 {
		t.Fatalf("lut stats -json %v: exit %d, stderr %s", args, code, errOut)
	}
	var rows []statsRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("stats -json output is not a JSON array of rows: %v\n%s", err, out)
	}
	return rows
}

func TestGenStatsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{"drum:k=4,signed=true", "mitchell"} {
		want, err := multiplier.Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{".npy", ".bin", ".csv"} {
			path := filepath.Join(dir, strings.NewReplacer(":", "_", ",", "_", "=", "").Replace(spec)+ext)
			if code, _, errOut := lutCmd("gen", spec, "-o", path); code != 0 {
				t.Fatalf("gen %s -o %s: exit %d: %s", spec, path, code, errOut)
			}
			args := []string{path, spec}
			if want.SignedX() {
				args = append([]string{"-signed"}, args...)
			}
			rows := statsJSON(t, args...)
			if len(rows) != 2 || rows[0].Fingerprint != want.Fingerprint() || rows[0].Fingerprint != rows[1].Fingerprint {
				t.Fatalf("%s: file and spec rows %+v; want both fingerprint %s", path, rows, want.Fingerprint())
			}
			if rows[0].MAE != rows[1].MAE || rows[0].Bias != rows[1].Bias || rows[0].MAE == 0 {
				t.Errorf("%s: file MAE %g bias %g, spec MAE %g bias %g", path, rows[0].MAE, rows[0].Bias, rows[1].MAE, rows[1].Bias)
			}
		}
	}
}

func TestStatsValuesAndOrder(t *testing.T) {
	rows := statsJSON(t, "trunc:t=4", "exact", "mitchell")
	if len(rows) != 3 || rows[0].Name != "trunc:t=4" || rows[1].Name != "exact" || rows[2].Name != "mitchell" {
		t.Fatalf("rows out of order: %+v", rows)
	}
	if rows[0].MAE != 12.25 || rows[0].WCE != 49 || rows[1].MAE != 0 || rows[1].EP != 0 {
		t.Errorf("trunc:t=4 MAE %g WCE %g, exact MAE %g EP %g", rows[0].MAE, rows[0].WCE, rows[1].MAE, rows[1].EP)
	}
	// Mitchell's relative error is at most 1/9 (Mitchell 1962): a fraction, not 11.1%.
	if w := rows[2].WCRE; w < 0.111 || w > 0.1112 {
		t.Errorf("mitchell WCRE = %g, want 1/9", w)
	}
	// Flags may follow the arguments; the text table has one row per table.
	code, out, _ := lutCmd("stats", "exact", "roba", "-signed")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 3 || !strings.Contains(lines[2], "roba") {
		t.Errorf("text stats: exit %d\n%s", code, out)
	}
}

func TestStatsEvoApproxExact(t *testing.T) {
	rows := statsJSON(t, shared.RequireLUT(t, "mul8u_1JFF"))
	r := rows[0]
	if r.Name != "mul8u_1JFF" || r.MAE != 0 || r.WCE != 0 || r.EP != 0 || r.MRE != 0 || r.MSE != 0 || r.Std != 0 {
		t.Errorf("mul8u_1JFF: %+v, want all metrics 0", r)
	}
}

func TestHeatmapWritesPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roba.png")
	if code, _, errOut := lutCmd("heatmap", "-o", path, "roba:signed=true"); code != 0 {
		t.Fatalf("heatmap: exit %d: %s", code, errOut)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() < 600 || b.Dy() < 500 {
		t.Fatalf("heatmap PNG is %dx%d", b.Dx(), b.Dy())
	}
	// The colour bar's ends are level with the map's: walking up and down
	// from the middle row, each column leaves its coloured area on the
	// same rows (the map's column a third of the way across, the bar's
	// just inside its right edge).
	white := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		return r > 0xfa00 && g > 0xfa00 && bl > 0xfa00
	}
	extent := func(x int) (top, bottom int) {
		mid := (b.Min.Y + b.Max.Y) / 2
		for top = mid; top > b.Min.Y && !white(x, top-1); top-- {
		}
		for bottom = mid; bottom < b.Max.Y-1 && !white(x, bottom+1); bottom++ {
		}
		return top, bottom
	}
	barX := b.Max.X - 1
	for ; barX > b.Min.X && white(barX, (b.Min.Y+b.Max.Y)/2); barX-- {
	}
	mapTop, mapBottom := extent(b.Min.X + b.Dx()/3)
	barTop, barBottom := extent(barX - 5)
	if mapBottom-mapTop < b.Dy()/2 || abs(barTop-mapTop) > 1 || abs(barBottom-mapBottom) > 1 {
		t.Errorf("map spans rows %d..%d, colour bar %d..%d; want them level", mapTop, mapBottom, barTop, barBottom)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestErrorsAndHelp(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"stats"}, 2, "needs at least one SPEC or FILE"},
		{[]string{"stats", "booth"}, 1, `unknown design "booth"; built-ins: exact, trunc:t=N`},
		{[]string{"stats", "trunc:t=99"}, 1, "t=99 is out of range"},
		{[]string{"stats", "-bogus", "exact"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"stats", filepath.Join(dir, "missing.npy")}, 1, "no such file"},
		{[]string{"stats", "table.txt"}, 1, "neither a table file (.npy, .bin, .csv) nor a multiplier spec"},
		{[]string{"gen", "exact"}, 2, "needs exactly one SPEC or FILE and -o FILE"},
		{[]string{"gen", "exact", "-o", filepath.Join(dir, "no", "t.npy")}, 1, "the folder " + filepath.Join(dir, "no") + " does not exist: create it first"},
		{[]string{"gen", "exact", "-o", filepath.Join(dir, "t.txt")}, 1, "use .npy, .bin or .csv"},
		{[]string{"heatmap", "exact", "-o", filepath.Join(dir, "t.jpg")}, 1, "name it .png"},
		{[]string{"list", "extra"}, 2, "takes no arguments"},
	} {
		code, _, errOut := lutCmd(c.args...)
		if code != c.code || !strings.Contains(errOut, c.stderr) {
			t.Errorf("lut %v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.code, c.stderr)
		}
	}
	for _, cmd := range []string{"list", "stats", "gen", "heatmap"} {
		code, out, _ := lutCmd(cmd, "-h")
		if code != 0 || !strings.Contains(out, "Usage: lut "+cmd) {
			t.Errorf("lut %s -h: exit %d, output %q", cmd, code, out)
		}
	}
	if code, out, _ := lutCmd("-h"); code != 0 || !strings.Contains(out, "lut stats") {
		t.Errorf("lut -h: exit %d, output %q", code, out)
	}
}

func TestList(t *testing.T) {
	code, out, _ := lutCmd("list")
	for _, d := range multiplier.List() {
		if code != 0 || !strings.Contains(out, d.Usage()+"\n") {
			t.Errorf("lut list lacks %s:\n%s", d.Usage(), out)
		}
	}
	if !strings.Contains(out, "Hashemi") {
		t.Errorf("lut list does not name source papers:\n%s", out)
	}
}

// TestSignWarning: a table file read with the other signedness than it was
// made for still gets its metrics or map (the user may mean it), with a
// warning naming the file and the -signed setting that fits it; the right
// reading gets no warning.
func TestSignWarning(t *testing.T) {
	dir := t.TempDir()
	unsigned, signed := filepath.Join(dir, "mitchell.npy"), filepath.Join(dir, "drum4s.csv")
	signedBin := filepath.Join(dir, "drum4s.bin")
	for _, f := range [][2]string{{"mitchell", unsigned}, {"drum:k=4,signed=true", signed}, {"drum:k=4,signed=true", signedBin}} {
		spec, path := f[0], f[1]
		if code, _, errOut := lutCmd("gen", spec, "-o", path); code != 0 {
			t.Fatalf("gen %s: exit %d: %s", spec, code, errOut)
		}
	}
	png := filepath.Join(dir, "map.png")
	for _, c := range []struct {
		args []string
		warn string // "" for no warning
	}{
		{[]string{"stats", unsigned}, ""},
		{[]string{"stats", "-signed", signed}, ""},
		{[]string{"stats", "-signed", unsigned}, "warning: " + unsigned + ": 32512 of 65025 products have the wrong sign for signed operands; it looks like a table of unsigned operands: run without -signed"},
		{[]string{"stats", signed}, "warning: " + signed + ": 32512 of 65025 products have the wrong sign for unsigned operands; it looks like a table of signed operands: add -signed"},
		{[]string{"stats", "-signed", signedBin}, ""},
		// A .bin entry holds a signed product as 16-bit two's complement, which
		// reads as a large positive number: no sign is wrong, the magnitude is.
		{[]string{"stats", signedBin}, "warning: " + signedBin + ": 32512 of 65025 products are 32768 or more where the unsigned product is smaller: " +
			"they read as 16-bit two's complement negatives, products of signed operands; it looks like a table of signed operands: add -signed"},
		{[]string{"heatmap", "-o", png, "-signed", unsigned}, "warning: " + unsigned + ":"},
		{[]string{"heatmap", "-o", png, signed}, "warning: " + signed + ":"},
	} {
		code, out, errOut := lutCmd(c.args...)
		if code != 0 || out == "" {
			t.Errorf("lut %v: exit %d, stdout %q, stderr %q; want the output despite any warning", c.args, code, out, errOut)
		}
		if c.warn == "" && errOut != "" || c.warn != "" && !strings.Contains(errOut, c.warn) {
			t.Errorf("lut %v: stderr %q, want warning %q", c.args, errOut, c.warn)
		}
	}
	// A real EvoApprox table read as signed, the case users meet.
	l40 := shared.RequireLUT(t, "mul8u_L40")
	if code, _, errOut := lutCmd("stats", "-signed", l40); code != 0 || !strings.Contains(errOut, "warning: "+l40) || !strings.Contains(errOut, "run without -signed") {
		t.Errorf("lut stats -signed %s: exit %d, stderr %q; want a warning", l40, code, errOut)
	}
}

// TestStatsRefusesHugeFile: a 1 GiB table file (sparse here) is refused
// from its size, not read.
func TestStatsRefusesHugeFile(t *testing.T) {
	for _, ext := range []string{".bin", ".npy"} {
		path := filepath.Join(t.TempDir(), "big"+ext)
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 1<<30); err != nil {
			t.Skipf("cannot make a sparse file here: %v", err)
		}
		code, _, errOut := lutCmd("stats", path)
		if code != 1 || !strings.Contains(errOut, path+" is 1073741824 bytes, more than the ") {
			t.Errorf("lut stats %s: exit %d, stderr %q; want a refusal by size", path, code, errOut)
		}
	}
}

// TestGenConvertsFiles: gen reads a table file as it reads a spec, so a
// .bin converts to .npy with the same entries (fingerprint); it will not
// write over its input, and grad will not either.
func TestGenConvertsFiles(t *testing.T) {
	dir := t.TempDir()
	bin, npy := filepath.Join(dir, "d.bin"), filepath.Join(dir, "d.npy")
	if code, _, errOut := lutCmd("gen", "-o", bin, "drum:k=4,signed=true"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := lutCmd("gen", "-signed", "-o", npy, bin); code != 0 {
		t.Fatalf("gen -o d.npy d.bin: %s", errOut)
	}
	rows := statsJSON(t, "-signed", npy, "drum:k=4,signed=true")
	if len(rows) != 2 || rows[0].Fingerprint != rows[1].Fingerprint {
		t.Fatalf("converted table %+v differs from the spec's", rows)
	}
	for _, args := range [][]string{{"gen", "-signed", "-o", bin, bin}, {"grad", "-signed", "-o", npy, npy}} {
		before, _ := os.ReadFile(args[len(args)-1])
		code, _, errOut := lutCmd(args...)
		if code == 0 || !strings.Contains(errOut, "is the input file") {
			t.Errorf("lut %v: exit %d, %q; want it refused", args, code, errOut)
		}
		if after, _ := os.ReadFile(args[len(args)-1]); !bytes.Equal(before, after) {
			t.Errorf("lut %v changed its input", args)
		}
	}
}

// TestStatsKeepsGoodRows: one bad path among several tables costs only its
// own row, and the exit status says something was left out.
func TestStatsKeepsGoodRows(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nosuch.bin")
	code, out, errOut := lutCmd("stats", "exact", missing, "mitchell")
	if code != 1 || !strings.Contains(out, "exact") || !strings.Contains(out, "mitchell") ||
		!strings.Contains(errOut, "1 of the 3 tables was left out") || !strings.Contains(errOut, "nosuch.bin") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// When nothing loads there is no table to print, only the errors.
	other := filepath.Join(t.TempDir(), "other.bin")
	for _, args := range [][]string{{"stats", missing}, {"stats", missing, other}} {
		code, out, errOut := lutCmd(args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "nosuch.bin") {
			t.Errorf("lut %v: exit %d, stdout %q, stderr %q; want only the error", args, code, out, errOut)
		}
		if len(args) == 3 && !strings.Contains(errOut, "none of the 2 tables could be read") {
			t.Errorf("lut %v: stderr %q; want it to say none could be read", args, errOut)
		}
	}
	// -signed on an unsigned spec says it does nothing there.
	if _, _, errOut := lutCmd("stats", "-signed", "drum:k=4"); !strings.Contains(errOut, "-signed reads table files; the spec drum:k=4 is unsigned") {
		t.Errorf("-signed with an unsigned spec: stderr %q", errOut)
	}
}
