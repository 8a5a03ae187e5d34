package sweep

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut"
)

// TestExpandLUTsFolder lists a folder laid out as the EvoApprox sets are:
// tables, a costs CSV and a README beside them. The tables come after the
// -lut arguments in name order, whatever their format; the costs file and
// the README are not tables.
func TestExpandLUTsFolder(t *testing.T) {
	dir := t.TempDir()
	exact := lut.ExactTable(lut.Both(lut.Signed))
	for _, name := range []string{"b.bin", "a.csv", "c.npy"} {
		if err := lut.WriteFile(filepath.Join(dir, name), exact); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"costs.csv": "# power in mW\nname,power,area,delay\nb,0.4,700,1.2\n",
		"README.md": "# tables\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ExpandLUTs([]string{"trunc:t=8,signed=true"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"trunc:t=8,signed=true", filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.bin"), filepath.Join(dir, "c.npy")}
	if !slices.Equal(got, want) {
		t.Errorf("list %q, want %q", got, want)
	}
	// The costs file beside them reads as costs.
	c, err := ReadCosts(filepath.Join(dir, "costs.csv"))
	if err != nil || c["b"].Power == nil || *c["b"].Power != 0.4 {
		t.Errorf("costs %v, %v", c, err)
	}

	// A folder of nothing but a costs file has no tables.
	only := t.TempDir()
	if err := os.WriteFile(filepath.Join(only, "costs.csv"), []byte(files["costs.csv"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExpandLUTs(nil, only); err == nil || !strings.Contains(err.Error(), "holds no table files") {
		t.Errorf("folder with only costs.csv: %v", err)
	}
}
