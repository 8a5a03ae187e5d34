package lut

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// binSize is the size of a TFApprox .bin table: 65,536 two-byte entries.
const binSize = 2 * Size

// ReadBin reads a TFApprox .bin table: exactly 65,536 little-endian 16-bit
// entries, entry [a*256+b] the product of operand indices a (row, x) and b
// (column, w). TFApprox tables are unsigned 8x8 multipliers whose entries are
// uint16; when either operand is signed the entries are read as int16 (two's
// complement), which holds every product of signed 8-bit operands.
func ReadBin(r io.Reader, name string, s Signs) (*Table, error) {
	data, err := io.ReadAll(io.LimitReader(r, binSize+1))
	if err != nil {
		return nil, fmt.Errorf("lut: reading .bin: %w", err)
	}
	if len(data) != binSize {
		what := "truncated"
		if len(data) > binSize {
			what = "too long"
		}
		return nil, fmt.Errorf("lut: .bin table is %s: a TFApprox table is exactly %d bytes "+
			"(65,536 little-endian uint16), got %s", what, binSize, sizeString(len(data), binSize))
	}
	signed := s.Any()
	entries := make([]int32, Size)
	for i := range entries {
		u := binary.LittleEndian.Uint16(data[2*i:])
		if signed {
			entries[i] = int32(int16(u))
		} else {
			entries[i] = int32(u)
		}
	}
	return FromEntries(name, s, entries)
}

func sizeString(n, limit int) string {
	if n > limit {
		return fmt.Sprintf("more than %d", limit)
	}
	return fmt.Sprint(n)
}

// WriteBin writes t in the TFApprox .bin format. Entries of a table with two
// unsigned operands must fit a uint16 (0..65535), those of a table with a
// signed operand an int16; anything else is an error, not a silent wrap.
func WriteBin(w io.Writer, t *Table) error {
	signed := t.signs.Any()
	lo, hi, kind := int32(0), int32(math.MaxUint16), "uint16"
	if signed {
		lo, hi, kind = math.MinInt16, math.MaxInt16, "int16"
	}
	data := make([]byte, binSize)
	for i, v := range t.Entries() {
		if v < lo || v > hi {
			return fmt.Errorf("lut: %s cannot be written as .bin: entry [%d][%d] = %d does not fit the %s "+
				"a .bin entry holds; use .npy or .csv", t.Name(), i/256, i%256, v, kind)
		}
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	_, err := w.Write(data)
	return err
}
