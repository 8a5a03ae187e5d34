package multiplier

import (
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/metrics"
)

func mustParse(t *testing.T, spec string) *lut.Table {
	t.Helper()
	tab, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestSpotValues pins the values in shared/notes/multipliers.md and values
// worked out by hand from each design's definition (working in comments).
func TestSpotValues(t *testing.T) {
	cases := []struct {
		spec string
		a, b int32
		want int32
	}{
		// From multipliers.md.
		{"mitchell", 3, 3, 8},
		{"roba", 3, 3, 8},
		{"drum:k=4", 255, 255, 57600},
		{"kulkarni", 255, 255, 50575},
		{"bam:h=2,v=8", 255, 255, 62976},

		// trunc t=4, 15*15: kept columns 4 (3 bits), 5 (2), 6 (1): 48+64+64.
		{"trunc:t=4", 15, 15, 176},
		{"trunc:t=4", 3, 3, 0}, // every partial product of 3*3 is in columns 0..2
		{"trunc:t=0", 255, 255, 65025},
		// bam h=1: row j=0 (b_0) is dropped: 5*3 -> 5*2.
		{"bam:h=1,v=0", 5, 3, 10},
		// kulkarni: 3x3 -> 7; 7*3: 4-bit halves (1,3)x(0,3): (1*3)<<2 + 7 = 19.
		{"kulkarni", 3, 3, 7},
		{"kulkarni", 7, 3, 19},
		{"kulkarni", 2, 3, 6},
		// mitchell 5*3: k1=2, k2=1, f1=1*2, f2=1*4, 6 < 8 so 8+6.
		{"mitchell", 5, 3, 14},
		{"mitchell", 0, 200, 0},
		{"mitchell", 64, 32, 2048}, // powers of two are exact
		// drum k=3: 12=1100b keeps 110, forces 111 -> 1110b = 14; 14*14.
		{"drum:k=3", 12, 12, 196},
		{"drum:k=3", 7, 5, 35}, // both under 2^3: exact
		// drum k=3: 255 -> 11100000b = 224; 10=1010b -> 101|1 -> 1010b = 10.
		{"drum:k=3", 255, 10, 2240},
		// roba: 3 ties up to 4, 5 -> 4: 4*5 + 3*4 - 16.
		{"roba", 3, 5, 16},
		// 6 ties up to 8: 4*6 + 5*8 - 4*8 = 32 (exact 30).
		{"roba", 5, 6, 32},
		// loa l=4, 15*15: columns 0..3 each OR to 1 (15) + trunc t=4 part (176).
		{"loa:l=4", 15, 15, 191},
		// loa l=2, 3*3: column 0 -> 1, column 1 OR(1,1) -> 2, column 2 added: 4.
		{"loa:l=2", 3, 3, 7},
		{"loa:l=2", 3, 1, 3},

		// Signed, sign-magnitude: |-128| = 128 reaches the core.
		{"exact:signed=true", -128, -128, 16384},
		{"mitchell:signed=true", -3, 3, -8},
		{"mitchell:signed=true", -5, -3, 14},
		// drum k=4: 128=10000000b -> 1001|0000b = 144; 3 exact: -432.
		{"drum:k=4,signed=true", -128, 3, -432},
		{"roba:signed=true", 3, -5, -16},
		{"kulkarni:signed=true", -7, -3, 19},
		{"trunc:t=4,signed=true", -15, 15, -176},
		{"loa:l=4,signed=true", 15, -15, -191},
		{"bam:h=1,v=0,signed=true", -5, 3, -10},
	}
	for _, c := range cases {
		if got := mustParse(t, c.spec).At(c.a, c.b); got != c.want {
			t.Errorf("%s(%d, %d) = %d, want %d", c.spec, c.a, c.b, got, c.want)
		}
	}
}

func TestTruncT4Metrics(t *testing.T) {
	m := metrics.Compute(mustParse(t, "trunc:t=4"))
	if m.MAE != 12.25 || m.WCE != 49 {
		t.Errorf("trunc t=4: MAE %g WCE %g, want 12.25 and 49", m.MAE, m.WCE)
	}
}

func TestDegenerateParametersAreExact(t *testing.T) {
	for _, spec := range []string{"exact", "trunc:t=0", "bam:h=0,v=0", "drum:k=8", "loa:l=0", "loa:l=1"} {
		for _, signed := range []string{"", ",signed=true"} {
			s := spec + signed
			if s == "exact,signed=true" {
				s = "exact:signed=true"
			}
			tab := mustParse(t, s)
			// IsExact compares with the exact product of the table's signedness.
			if !tab.IsExact() || tab.SignedX() != (signed != "") {
				t.Errorf("%s is not the exact table of its signedness", s)
			}
		}
	}
	// loa l=1 is exact (column 0 has a single partial product); l=2 is not.
	if mustParse(t, "loa:l=2").IsExact() {
		t.Error("loa:l=2 is exact")
	}
}

func TestSignedIsSignMagnitudeOfUnsigned(t *testing.T) {
	// Compare every signed entry with the unsigned table at the magnitudes.
	for _, d := range List() {
		spec := d.Name
		for i, p := range d.Params {
			sep := ","
			if i == 0 {
				sep = ":"
			}
			spec += sep + p.Key + "=" + map[string]string{"t": "5", "h": "2", "v": "6", "k": "3", "l": "5"}[p.Key]
		}
		u := mustParse(t, spec)
		s := mustParse(t, spec+map[bool]string{true: ":", false: ","}[len(d.Params) == 0]+"signed=true")
		for x := -128; x < 128; x++ {
			for w := -128; w < 128; w++ {
				ax, aw := max(x, -x), max(w, -w)
				want := int64(u.At(int32(ax), int32(aw)))
				if (x < 0) != (w < 0) {
					want = -want
				}
				if got := s.At(int32(x), int32(w)); int64(got) != want {
					t.Fatalf("%s signed(%d, %d) = %d, want %d", spec, x, w, got, want)
				}
			}
		}
	}
}

func TestCanonicalNames(t *testing.T) {
	for in, want := range map[string]string{
		"exact":                     "exact",
		"exact:signed=true":         "exact:signed=true",
		"exact:signed=false":        "exact",
		" bam:v=8,h=2 ":             "bam:h=2,v=8",
		"bam:signed=true, v=8 ,h=2": "bam:h=2,v=8,signed=true",
		"drum:k=04":                 "drum:k=4",
		"loa:l=3,signed=true":       "loa:l=3,signed=true",
		"trunc:signed=false,t=15":   "trunc:t=15",
		"roba:signed=true":          "roba:signed=true",
		"kulkarni":                  "kulkarni",
		"mitchell:signed=true":      "mitchell:signed=true",
	} {
		s, err := ParseSpec(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if s.String() != want || mustParse(t, in).Name() != want {
			t.Errorf("%q: canonical %q, want %q", in, s.String(), want)
		}
	}
	// The exact design and lut.Exact agree on name and content.
	if a, b := mustParse(t, "exact:signed=true"), lut.ExactTable(lut.Both(lut.Signed)); a.Name() != b.Name() || a.Fingerprint() != b.Fingerprint() {
		t.Errorf("exact:signed=true differs from lut.ExactTable(lut.Both(lut.Signed))")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"", "empty spec"},
		{"booth", `unknown design "booth"; built-ins: exact, trunc:t=N, bam:h=N,v=N, kulkarni, mitchell, drum:k=N, roba, loa:l=N`},
		{"Exact", `unknown design "Exact"`},
		{"trunc", "trunc needs t=N"},
		{"trunc:", `"" is not key=value`},
		{"bam:h=2", "bam needs v=N"},
		{"trunc:t=x", `t="x" is not an integer`},
		{"trunc:t=16", "t=16 is out of range"},
		{"drum:k=0", "k=0 is out of range"},
		{"trunc:t=-1", "out of range"},
		{"trunc:t=4,t=5", "t is given twice"},
		{"trunc:t=4,k=2", `trunc has no parameter "k"; its parameters: t (`},
		{"mitchell:k=2", `mitchell has no parameter "k"; its parameters: signed`},
		{"exact:signed=yes", `signed="yes" must be true or false`},
		{"exact:signed", `"signed" is not key=value`},
		{"trunc:t=99999999999999999999", "not an integer"},
	} {
		_, err := Parse(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): error %v, want one containing %q", c.spec, err, c.want)
		}
	}
}

func TestListDescribesEveryDesign(t *testing.T) {
	names := []string{}
	for _, d := range List() {
		names = append(names, d.Name)
		if d.Summary == "" || (d.Name != "exact" && d.Source == "") {
			t.Errorf("%s lacks a summary or source", d.Name)
		}
	}
	if got := strings.Join(names, " "); got != "exact trunc bam kulkarni mitchell drum roba loa" {
		t.Errorf("List() = %s", got)
	}
	List()[0].Name = "changed"
	if List()[0].Name != "exact" {
		t.Error("List returns the registry itself, not a copy")
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("loa:l=6,signed=true"); err != nil {
			b.Fatal(err)
		}
	}
}
