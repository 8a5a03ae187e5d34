package lut

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ReadCSV reads a table written as 256 lines of 256 comma-separated decimal
// integers: line x (0-based) holds the row of operand index x, field w the
// column of operand index w. Spaces around a number are allowed; every value
// must be an integer that fits an int32. ReadCSV reads at most
// maxCSVBytes and refuses a longer stream.
func ReadCSV(r io.Reader, name string, s Signs) (*Table, error) {
	lr := &io.LimitedReader{R: r, N: maxCSVBytes + 1}
	t, err := readCSV(lr, name, s)
	if lr.N <= 0 {
		return nil, fmt.Errorf("lut: CSV table is longer than %d bytes, more than 256 rows of 256 integers take", maxCSVBytes)
	}
	return t, err
}

// maxCSVBytes bounds a CSV table: 65,536 int32 fields of at most 11
// characters need under 1 MiB; the rest leaves room for spaces.
const maxCSVBytes = 8 << 20

func readCSV(r io.Reader, name string, s Signs) (*Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // we check the count ourselves to say which row is wrong
	cr.ReuseRecord = true
	entries := make([]int32, Size)
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if row != 256 {
				return nil, fmt.Errorf("lut: CSV table has %d rows; a table has 256 rows of 256 integers", row)
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("lut: CSV table: %w", err)
		}
		if row >= 256 {
			return nil, errors.New("lut: CSV table has more than 256 rows; a table has 256 rows of 256 integers")
		}
		line, _ := cr.FieldPos(0)
		if row == 0 && len(rec) > 0 {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // a spreadsheet's byte-order mark
		}
		if len(rec) != 256 {
			hint := ""
			switch {
			case len(rec) == 1 && strings.ContainsAny(strings.TrimSpace(rec[0]), ";\t "):
				hint = " (separate the numbers with commas)"
			case row == 0 && len(rec) > 0 && !isInteger(rec[0]) && strings.TrimSpace(rec[0]) != "":
				hint = " (a table CSV has no header line: only the 256 rows of numbers)"
			}
			return nil, fmt.Errorf("lut: CSV line %d (row %d of the table) has %d field%s; a table has 256 integers per row%s",
				line, row, len(rec), plural(len(rec)), hint)
		}
		for col, f := range rec {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return nil, fmt.Errorf("lut: CSV line %d (row %d of the table), column %d: %s is out of the int32 range a table holds",
						line, row, col, strings.TrimSpace(f))
				}
				return nil, fmt.Errorf("lut: CSV line %d (row %d of the table), column %d: %q is not an integer", line, row, col, f)
			}
			entries[row*256+col] = int32(v)
		}
	}
	return FromEntries(name, s, entries)
}

// WriteCSV writes t as 256 lines of 256 comma-separated integers, row x
// holding the products of operand index x.
func WriteCSV(w io.Writer, t *Table) error {
	bw := bufio.NewWriter(w)
	e := t.Entries()
	buf := make([]byte, 0, 16)
	for row := 0; row < 256; row++ {
		for col := 0; col < 256; col++ {
			buf = buf[:0]
			if col > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, int64(e[row*256+col]), 10)
			bw.Write(buf)
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return err == nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
