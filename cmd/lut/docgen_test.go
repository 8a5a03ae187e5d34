package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut/multiplier"
)

func TestDocCoversEveryDesign(t *testing.T) {
	for _, d := range multiplier.List() {
		found := false
		for _, s := range docSpecs {
			if s == d.Name || strings.HasPrefix(s, d.Name+":") {
				found = true
			}
		}
		if !found {
			t.Errorf("design %s is missing from docSpecs (docs/multipliers.md)", d.Name)
		}
	}
}

func TestDocPage(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "docs", "multipliers.md")
	code, _, stderr := lutCmd("doc", "-o", md, "-img", filepath.Join(dir, "docs", "img", "m"))
	if code != 0 {
		t.Fatal(stderr)
	}
	page, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	// Truncation of the 4 low columns: MAE 12.25 and WCE 49, by hand (the
	// dropped partial products are independent bits with mean 1/4 each).
	if !strings.Contains(string(page), "| `trunc:t=4` | 12.25 | 49 |") {
		t.Errorf("trunc:t=4 row missing or wrong")
	}
	if !strings.Contains(string(page), "![drum:k=4](img/m/drum-k4.png)") {
		t.Errorf("image links are not relative to the page")
	}
	// The exact map is uniform (zero error everywhere); drum's is not.
	for name, uniform := range map[string]bool{"exact.png": true, "drum-k4.png": false} {
		f, err := os.ReadFile(filepath.Join(dir, "docs", "img", "m", name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
			t.Fatalf("%s is %v, want 256x256", name, b)
		}
		first := img.At(0, 0)
		same := true
		for y := 0; y < 256; y++ {
			for x := 0; x < 256; x++ {
				if img.At(x, y) != first {
					same = false
				}
			}
		}
		if same != uniform {
			t.Errorf("%s: uniform %v, want %v", name, same, uniform)
		}
	}
}

// TestDocUpToDate fails when docs/multipliers.md no longer matches what
// the generator writes: rerun go run ./cmd/lut doc.
func TestDocUpToDate(t *testing.T) {
	committed, err := os.ReadFile(filepath.Join("..", "..", "docs", "multipliers.md"))
	if err != nil {
		t.Skip("docs/multipliers.md not found")
	}
	page, _, err := multipliersPage("img/multipliers")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(page, committed) {
		t.Error("docs/multipliers.md is stale: run go run ./cmd/lut doc")
	}
}

// TestDocPaths: an absolute -img with a relative -o links correctly.
func TestDocPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	img := filepath.Join(dir, "imgs")
	if code, _, errOut := lutCmd("doc", "-o", filepath.Join("site", "m.md"), "-img", img); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	page, err := os.ReadFile(filepath.Join(dir, "site", "m.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "](../imgs/") {
		t.Errorf("the page does not link ../imgs/:\n%.400s", page)
	}
}
