package sweep

import (
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Cost is the hardware cost metadata of one multiplier. Units are whatever
// the CSV uses (EvoApproxLib publishes power in mW and area in µm²); nil
// means not given.
type Cost struct {
	Power *float64 `json:"power,omitempty"`
	Area  *float64 `json:"area,omitempty"`
}

// Costs maps a table name (lut.Table.Name: the canonical spec of a built-in,
// the file name without extension of a table file) to its cost.
type Costs map[string]Cost

// costColumns are the columns a costs CSV may have besides name.
var costColumns = []string{"power", "area"}

// maxCostsBytes bounds a costs CSV: a line per multiplier.
const maxCostsBytes = 16 << 20

// ReadCosts reads a costs CSV file (see ParseCosts).
func ReadCosts(path string) (Costs, error) {
	f, _, err := boundedfile.Open(path, maxCostsBytes, "a costs CSV")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ParseCosts(io.LimitReader(f, maxCostsBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCosts reads a CSV whose header names a "name" column and at least
// one of "power" and "area" (in any order), one multiplier per row; other
// columns (EvoApproxLib's delay, a PDK) are ignored. An empty cell is an
// unknown value; values must be finite and not negative. Lines starting
// with # are comments.
func ParseCosts(r io.Reader) (Costs, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("costs CSV is empty: it needs a header line such as name,power,area")
	}
	if err != nil {
		return nil, fmt.Errorf("costs CSV: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		// A spreadsheet's byte-order mark is not part of the first name.
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h != "name" && !contains(costColumns, h) {
			continue
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("costs CSV header: column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["name"]; !ok {
		return nil, fmt.Errorf("costs CSV header %q has no name column (expected name,power,area)", strings.Join(header, ","))
	}
	if len(col) == 1 {
		return nil, fmt.Errorf("costs CSV header %q has neither a power nor an area column (expected name,power,area; other columns are ignored)", strings.Join(header, ","))
	}
	costs := Costs{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if errors.Is(err, csv.ErrFieldCount) {
			return nil, fmt.Errorf("costs CSV: %w (quote names that contain commas: \"drum:k=4,signed=true\",0.2)", err)
		}
		if err != nil {
			return nil, fmt.Errorf("costs CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		name := strings.TrimSpace(rec[col["name"]])
		if name == "" {
			return nil, fmt.Errorf("costs CSV line %d: empty name", line)
		}
		if _, dup := costs[name]; dup {
			return nil, fmt.Errorf("costs CSV line %d: %q is listed twice", line, name)
		}
		var c Cost
		for _, h := range costColumns {
			i, ok := col[h]
			if !ok {
				continue
			}
			cell := strings.TrimSpace(rec[i])
			if cell == "" {
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("costs CSV line %d: %s of %q is %q, not a finite non-negative number", line, h, name, cell)
			}
			switch h {
			case "power":
				c.Power = &v
			case "area":
				c.Area = &v
			}
		}
		costs[name] = c
	}
	return costs, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Unmatched says which of the tables named (lut.Table.Name) have no row in
// c, with a hint when a row's name differs from one only in case or by a
// file extension; it returns "" when every table has a row.
func (c Costs) Unmatched(names []string) string {
	var missing, hints []string
	for _, n := range names {
		if _, ok := c[n]; ok {
			continue
		}
		missing = append(missing, n)
		for k := range c {
			if strings.EqualFold(strings.TrimSuffix(k, filepath.Ext(k)), n) {
				hints = append(hints, fmt.Sprintf("row %q would match %q", k, n))
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	sort.Strings(hints)
	msg := fmt.Sprintf("has no row for %d of the %d multipliers (%s), so they get no power or area: rows are matched by table name, the spec or the file name without its extension",
		len(missing), len(names), strings.Join(missing, ", "))
	if len(hints) > 0 {
		msg += "; " + strings.Join(hints, "; ")
	}
	return msg
}
