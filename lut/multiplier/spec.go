package multiplier

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/lut"
)

// Param is an integer parameter of a design.
type Param struct {
	Key      string // as written in a spec: "t" in "trunc:t=4"
	Min, Max int    // accepted values, inclusive
	Doc      string
}

// Design describes a built-in multiplier.
type Design struct {
	Name    string  // the spec name: "trunc"
	Summary string  // one line on what it does
	Source  string  // the paper that defines it
	Params  []Param // all required, in canonical order

	core func(p map[string]int) func(a, b int) int
}

// Usage returns the spec form of the design, e.g. "bam:h=N,v=N".
func (d Design) Usage() string {
	if len(d.Params) == 0 {
		return d.Name
	}
	parts := make([]string, len(d.Params))
	for i, p := range d.Params {
		parts[i] = p.Key + "=N"
	}
	return d.Name + ":" + strings.Join(parts, ",")
}

var designs = []Design{
	{
		Name: "exact", Summary: "the exact product a*b",
		core: func(map[string]int) func(a, b int) int { return exact },
	},
	{
		Name: "trunc", Summary: "drops the partial products in the result columns below t",
		Source: "Schulte and Swartzlander, Truncated multiplication with correction constant, VLSI Signal Processing VI, 1993 (without the constant)",
		Params: []Param{{Key: "t", Min: 0, Max: 15, Doc: "number of low result columns dropped"}},
		core:   func(p map[string]int) func(a, b int) int { return truncated(p["t"]) },
	},
	{
		Name: "bam", Summary: "broken-array multiplier: drops partial-product rows j < h and columns i+j < v",
		Source: "Mahdiani, Ahmadi, Fakhraie and Lucas, Bio-inspired imprecise computational blocks..., IEEE TCAS-I 57(4), 2010",
		Params: []Param{
			{Key: "h", Min: 0, Max: 8, Doc: "partial-product rows (bits of the column operand w) dropped from the bottom"},
			{Key: "v", Min: 0, Max: 15, Doc: "result columns whose partial products are dropped"},
		},
		core: func(p map[string]int) func(a, b int) int { return brokenArray(p["h"], p["v"]) },
	},
	{
		Name: "kulkarni", Summary: "2x2 blocks that give 3x3=7, composed recursively with exact additions",
		Source: "Kulkarni, Gupta and Ercegovac, Trading accuracy for power with an underdesigned multiplier architecture, VLSI Design 2011",
		core:   func(map[string]int) func(a, b int) int { return kulkarni },
	},
	{
		Name: "mitchell", Summary: "logarithmic multiplier: adds piecewise-linear base-2 logarithms",
		Source: "Mitchell, Computer multiplication and division using binary logarithms, IRE Trans. Electronic Computers EC-11(4), 1962",
		core:   func(map[string]int) func(a, b int) int { return mitchell },
	},
	{
		Name: "drum", Summary: "keeps k bits from each operand's leading one, lowest kept bit set to 1",
		Source: "Hashemi, Bahar and Reda, DRUM: a dynamic range unbiased multiplier for approximate applications, ICCAD 2015",
		Params: []Param{{Key: "k", Min: 1, Max: 8, Doc: "bits kept per operand; 8 is exact"}},
		core:   func(p map[string]int) func(a, b int) int { return drum(p["k"]) },
	},
	{
		Name: "roba", Summary: "rounds operands to powers of two: Ar*b + a*Br - Ar*Br (ties 3*2^m round up)",
		Source: "Zendegani, Kamal, Bahadori, Afzali-Kusha and Pedram, RoBA multiplier..., IEEE TVLSI 25(2), 2017",
		core:   func(map[string]int) func(a, b int) int { return roba },
	},
	{
		Name: "loa", Summary: "lower-part OR: the l low result columns OR their partial products, the rest is added exactly",
		Source: "Mahdiani, Ahmadi, Fakhraie and Lucas, IEEE TCAS-I 57(4), 2010 (lower-part-OR adder)",
		Params: []Param{{Key: "l", Min: 0, Max: 15, Doc: "low result columns accumulated by OR"}},
		core:   func(p map[string]int) func(a, b int) int { return lowerPartOR(p["l"]) },
	},
}

// List returns the built-in designs, in a fixed order.
func List() []Design {
	return append([]Design(nil), designs...)
}

func lookup(name string) (Design, bool) {
	for _, d := range designs {
		if d.Name == name {
			return d, true
		}
	}
	return Design{}, false
}

// builtins lists the designs' spec forms for error messages.
func builtins() string {
	forms := make([]string, len(designs))
	for i, d := range designs {
		forms[i] = d.Usage()
	}
	return strings.Join(forms, ", ") + " (each also with signed=true)"
}

// Spec is a parsed multiplier spec.
type Spec struct {
	Design Design
	Params map[string]int // one value per Design.Params key
	Signed bool           // both operands signed, sign-magnitude around the core
}

// ParseSpec parses "name[:key=value[,key=value]]". Every parameter of the
// design must be given once; signed=true|false is accepted by all designs.
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	name, args, hasArgs := strings.Cut(s, ":")
	if name == "" {
		return Spec{}, fmt.Errorf("multiplier: empty spec %q; built-ins: %s", s, builtins())
	}
	d, ok := lookup(name)
	if !ok {
		return Spec{}, fmt.Errorf("multiplier: unknown design %q; built-ins: %s", name, builtins())
	}
	spec := Spec{Design: d, Params: map[string]int{}}
	seen := map[string]bool{}
	if hasArgs {
		for _, kv := range strings.Split(args, ",") {
			key, val, ok := strings.Cut(kv, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			if !ok || key == "" {
				return Spec{}, fmt.Errorf("multiplier: %q: %q is not key=value; usage: %s", s, kv, d.Usage())
			}
			if seen[key] {
				return Spec{}, fmt.Errorf("multiplier: %q: %s is given twice", s, key)
			}
			seen[key] = true
			if key == "signed" {
				switch val {
				case "true":
					spec.Signed = true
				case "false":
				default:
					return Spec{}, fmt.Errorf("multiplier: %q: signed=%q must be true or false", s, val)
				}
				continue
			}
			p, ok := d.param(key)
			if !ok {
				return Spec{}, fmt.Errorf("multiplier: %q: %s has no parameter %q; its parameters: %s", s, d.Name, key, d.paramList())
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				return Spec{}, fmt.Errorf("multiplier: %q: %s=%q is not an integer (%s)", s, key, val, p.describe())
			}
			if n < p.Min || n > p.Max {
				return Spec{}, fmt.Errorf("multiplier: %q: %s=%d is out of range (%s)", s, key, n, p.describe())
			}
			spec.Params[key] = n
		}
	}
	for _, p := range d.Params {
		if !seen[p.Key] {
			return Spec{}, fmt.Errorf("multiplier: %q: %s needs %s=N (%s); usage: %s", s, d.Name, p.Key, p.describe(), d.Usage())
		}
	}
	return spec, nil
}

func (d Design) param(key string) (Param, bool) {
	for _, p := range d.Params {
		if p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

func (d Design) paramList() string {
	var parts []string
	for _, p := range d.Params {
		parts = append(parts, p.Key+" ("+p.describe()+")")
	}
	return strings.Join(append(parts, "signed (true or false)"), ", ")
}

func (p Param) describe() string {
	return fmt.Sprintf("%d..%d: %s", p.Min, p.Max, p.Doc)
}

// String returns the canonical spec: parameters in the design's order,
// signed=true last and only when set. It names the tables Parse builds.
func (s Spec) String() string {
	var parts []string
	for _, p := range s.Design.Params {
		parts = append(parts, fmt.Sprintf("%s=%d", p.Key, s.Params[p.Key]))
	}
	if s.Signed {
		parts = append(parts, "signed=true")
	}
	if len(parts) == 0 {
		return s.Design.Name
	}
	return s.Design.Name + ":" + strings.Join(parts, ",")
}

// Func returns the multiplier as a function of operand values: 0..255 for
// an unsigned spec, -128..127 for a signed one.
func (s Spec) Func() func(a, b int) int {
	f := s.Design.core(s.Params)
	if s.Signed {
		return signMagnitude(f)
	}
	return f
}

// Table builds the spec's 256x256 table, named by the canonical spec.
func (s Spec) Table() (*lut.Table, error) {
	return lut.Tabulate(s.String(), lut.Both(lut.SignednessOf(s.Signed)), s.Func())
}

// Parse parses a spec and builds its table.
func Parse(spec string) (*lut.Table, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return s.Table()
}
