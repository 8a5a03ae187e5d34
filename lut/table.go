package lut

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Size is the number of entries of a table: 256 rows of 256 columns.
const Size = 256 * 256

// Table is an immutable 256x256 table of int32 products, indexed [x][w]
// with x the activation operand and w the weight operand.
type Table struct {
	name        string
	signs       Signs
	entries     [Size]int32
	fingerprint string
}

// FromEntries builds a table from its 65,536 entries in row-major order
// (entry [xi*256+wi] is the product of the operands whose low bytes are xi
// and wi), read with the operand signedness s. The entries are copied.
func FromEntries(name string, s Signs, entries []int32) (*Table, error) {
	if err := s.valid(); err != nil {
		return nil, err
	}
	if len(entries) != Size {
		return nil, fmt.Errorf("lut: a table has %d entries (256x256), got %d", Size, len(entries))
	}
	t := &Table{name: name, signs: s}
	copy(t.entries[:], entries)
	t.fingerprint = fingerprintOf(&t.entries)
	return t, nil
}

// Tabulate builds a table by evaluating f on every operand pair. The
// operands passed to f are the operand values (signed -128..127 or unsigned
// 0..255 as s says), not the byte indices. Tabulate returns an error if f
// returns a value that does not fit an int32.
func Tabulate(name string, s Signs, f func(x, w int) int) (*Table, error) {
	if err := s.valid(); err != nil {
		return nil, err
	}
	entries := make([]int32, Size)
	for xi := 0; xi < 256; xi++ {
		for wi := 0; wi < 256; wi++ {
			x, w := s.X.Value(xi), s.W.Value(wi)
			p := f(x, w)
			if int(int32(p)) != p {
				return nil, fmt.Errorf("lut: %s(%d, %d) = %d does not fit an int32", name, x, w, p)
			}
			entries[xi*256+wi] = int32(p)
		}
	}
	return FromEntries(name, s, entries)
}

// ExactTable returns the exact multiplier table for the operand signedness s.
func ExactTable(s Signs) *Table {
	t, err := Tabulate(exactName(s), s, func(x, w int) int { return x * w })
	if err != nil {
		panic(err) // an invalid Signs, or unreachable: every 8-bit product fits an int32
	}
	return t
}

func exactName(s Signs) string {
	switch s {
	case Both(Signed):
		return "exact:signed=true"
	case Both(Unsigned):
		return "exact"
	default:
		return fmt.Sprintf("exact(signedX=%t,signedW=%t)", s.X.IsSigned(), s.W.IsSigned())
	}
}

// Index returns the table index of an integer code: its low byte.
func Index(code int32) int { return int(uint8(code)) }

// At returns the product of the activation code x and the weight code w.
func (t *Table) At(x, w int32) int32 { return t.entries[int(uint8(x))<<8|int(uint8(w))] }

// Entries returns the table's entries in row-major order. The returned array
// is the table's own storage: it must not be modified.
func (t *Table) Entries() *[Size]int32 { return &t.entries }

// Name returns the table's name (a multiplier spec or a file name).
func (t *Table) Name() string { return t.name }

// Signs returns the signedness of the table's operands.
func (t *Table) Signs() Signs { return t.signs }

// SignedX reports whether the activation (row) operand is signed.
func (t *Table) SignedX() bool { return t.signs.X == Signed }

// SignedW reports whether the weight (column) operand is signed.
func (t *Table) SignedW() bool { return t.signs.W == Signed }

// Fingerprint returns a hash of the 65,536 entries (hex SHA-256, first 16
// bytes). Two tables with the same products have the same fingerprint,
// whatever their names or signedness flags.
func (t *Table) Fingerprint() string { return t.fingerprint }

// WithName returns a copy of t under another name.
func (t *Table) WithName(name string) *Table {
	c := *t
	c.name = name
	return &c
}

// WithSigns returns a copy of t whose operands are read with the
// signedness s. The entries are unchanged: only their meaning changes. It
// panics on a Signs that is neither Signed nor Unsigned on an axis.
func (t *Table) WithSigns(s Signs) *Table {
	if err := s.valid(); err != nil {
		panic(err)
	}
	c := *t
	c.signs = s
	return &c
}

// Transpose returns the table with its operands swapped: entry [x][w] of the
// result is entry [w][x] of t. Use it for a table written weight-first.
func (t *Table) Transpose() *Table {
	c := &Table{name: t.name + "^T", signs: Signs{X: t.signs.W, W: t.signs.X}}
	for i := 0; i < 256; i++ {
		for j := 0; j < 256; j++ {
			c.entries[j*256+i] = t.entries[i*256+j]
		}
	}
	c.fingerprint = fingerprintOf(&c.entries)
	return c
}

// IsExact reports whether every entry equals the exact product of its
// operands under the table's signedness.
func (t *Table) IsExact() bool {
	for xi := 0; xi < 256; xi++ {
		for wi := 0; wi < 256; wi++ {
			if int(t.entries[xi<<8|wi]) != t.signs.X.Value(xi)*t.signs.W.Value(wi) {
				return false
			}
		}
	}
	return true
}

// MaxAbs returns the largest absolute value of any entry.
func (t *Table) MaxAbs() int64 {
	var m int64
	for _, v := range t.entries {
		a := int64(v)
		if a < 0 {
			a = -a
		}
		if a > m {
			m = a
		}
	}
	return m
}

func (t *Table) String() string {
	return fmt.Sprintf("%s [%s]", t.name, t.fingerprint[:12])
}

func fingerprintOf(e *[Size]int32) string {
	h := sha256.New()
	var buf [4 * 256]byte
	for r := 0; r < 256; r++ {
		for c := 0; c < 256; c++ {
			binary.LittleEndian.PutUint32(buf[4*c:], uint32(e[r*256+c]))
		}
		h.Write(buf[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
