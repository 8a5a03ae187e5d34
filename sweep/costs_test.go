package sweep

import (
	"math"
	"strings"
	"testing"
)

func TestParseCosts(t *testing.T) {
	in := "# EvoApprox sample\narea, name ,power\n437.4,mul8u_L40,0.189\n,\"drum:k=4,signed=true\",0.25\n709.6,mul8u_1JFF,\n"
	c, err := ParseCosts(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 3 {
		t.Fatalf("got %d entries, want 3: %v", len(c), c)
	}
	l40 := c["mul8u_L40"]
	if l40.Power == nil || *l40.Power != 0.189 || l40.Area == nil || *l40.Area != 437.4 {
		t.Errorf("mul8u_L40: %+v", l40)
	}
	drum := c["drum:k=4,signed=true"]
	if drum.Power == nil || *drum.Power != 0.25 || drum.Area != nil {
		t.Errorf("quoted name with commas, empty area: %+v", drum)
	}
	if e := c["mul8u_1JFF"]; e.Power != nil || e.Area == nil {
		t.Errorf("empty power must stay unknown: %+v", e)
	}
}

// TestParseCostsIgnoresOtherColumns reads a file in the layout of
// EvoApproxLib's published figures, with columns a sweep does not use.
func TestParseCostsIgnoresOtherColumns(t *testing.T) {
	in := "# EvoApproxLib\nname,power,area,delay,pdk\nmul8s_1KV6,0.425,729.8,1.41,PDK45\n"
	c, err := ParseCosts(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if e := c["mul8s_1KV6"]; len(c) != 1 || e.Power == nil || *e.Power != 0.425 || e.Area == nil || *e.Area != 729.8 {
		t.Errorf("costs %+v, want mul8s_1KV6 with power 0.425 and area 729.8", c)
	}
}

func TestParseCostsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"power,area\n1,2\n", "no name column"},
		{"name,speed\nx,1\n", "neither a power nor an area column"},
		{"name,power,power\nx,1,2\n", "appears twice"},
		{"name,power\nx,1\nx,2\n", "listed twice"},
		{"name,power\nx,-1\n", "not a finite non-negative number"},
		{"name,power\nx,NaN\n", "not a finite non-negative number"},
		{"name,power\nx,1mW\n", `"1mW"`},
		{"name,power\n,1\n", "empty name"},
		{"name,power\ndrum:k=4,signed=true,1\n", "quote names that contain commas"},
	} {
		_, err := ParseCosts(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to mention %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseCosts checks that any input gives costs or an error, never a
// panic, and that accepted values are finite and not negative.
func FuzzParseCosts(f *testing.F) {
	f.Add("name,power,area\nmul8u_L40,0.189,437.4\n")
	f.Add("name,power\n\"drum:k=4,signed=true\",0.25\n")
	f.Add("name,power\nx,1e309\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCosts(strings.NewReader(in))
		if err != nil {
			return
		}
		for name, v := range c {
			if name == "" {
				t.Errorf("accepted an empty name")
			}
			for _, p := range []*float64{v.Power, v.Area} {
				if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0) || *p < 0) {
					t.Errorf("%s: accepted %v", name, *p)
				}
			}
		}
	})
}
