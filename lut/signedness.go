package lut

import "fmt"

// Signedness says how one operand axis of a table maps its byte indices
// (0..255) to operand values. None of the table file formats records it, so
// readers are told it.
type Signedness uint8

// The two ways an 8-bit operand is read.
const (
	// Unsigned operands: index i is the value i, 0..255.
	Unsigned Signedness = iota
	// Signed operands (two's complement): index i is the value int8(i),
	// so index order runs 0..127 and then -128..-1.
	Signed
)

// SignednessOf returns Signed for true and Unsigned for false: the bridge
// from a boolean flag such as -signed.
func SignednessOf(signed bool) Signedness {
	if signed {
		return Signed
	}
	return Unsigned
}

// IsSigned reports whether s is Signed.
func (s Signedness) IsSigned() bool { return s == Signed }

// String returns "signed" or "unsigned".
func (s Signedness) String() string {
	switch s {
	case Unsigned:
		return "unsigned"
	case Signed:
		return "signed"
	}
	return fmt.Sprintf("Signedness(%d)", uint8(s))
}

// Value returns the operand value of byte index i (0..255): i itself when
// unsigned, int8(i) when signed.
func (s Signedness) Value(i int) int {
	if s == Signed {
		return int(int8(uint8(i)))
	}
	return i
}

// Position returns the rank (0..255) of byte index i among the axis's 256
// operand values in increasing order: for a signed axis index 128 (-128) has
// position 0 and index 127 (127) position 255.
func (s Signedness) Position(i int) int {
	if s == Signed {
		return i ^ 0x80
	}
	return i
}

// IndexAt returns the byte index of the operand value of rank p (0..255),
// the inverse of Position.
func (s Signedness) IndexAt(p int) int {
	// Flipping the top bit is its own inverse.
	return s.Position(p)
}

// Signs is the signedness of both operands of a table: X for the activation
// (row) operand and W for the weight (column) operand.
type Signs struct {
	X, W Signedness
}

// Both returns the Signs of a table whose two operands have signedness s.
func Both(s Signedness) Signs { return Signs{X: s, W: s} }

// Any reports whether either operand is signed.
func (s Signs) Any() bool { return s.X == Signed || s.W == Signed }

// String returns "signed" or "unsigned" when both operands agree, and names
// each otherwise, e.g. "unsigned activation and signed weight".
func (s Signs) String() string {
	if s.X == s.W {
		return s.X.String()
	}
	return s.X.String() + " activation and " + s.W.String() + " weight"
}

func (s Signs) valid() error {
	if s.X > Signed || s.W > Signed {
		return fmt.Errorf("lut: invalid signedness %v; use lut.Signed or lut.Unsigned", s)
	}
	return nil
}
