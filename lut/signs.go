package lut

import "fmt"

// SignError reports that a table's products mostly do not have the sign of
// the product of its operands as the table was read: the table was most
// likely written for operands of the other signedness.
type SignError struct {
	Wrong   int  // non-zero products whose sign disagrees with the operands'
	Checked int  // non-zero products of non-zero operands
	SignedX bool // how the activation operand was read
	SignedW bool // how the weight operand was read
}

func (e *SignError) Error() string {
	return fmt.Sprintf("%d of %d products have the wrong sign for %s operands", e.Wrong, e.Checked, e.operands())
}

func (e *SignError) operands() string {
	if e.SignedX == e.SignedW {
		return signedness(e.SignedW)
	}
	return signedness(e.SignedX) + " activation and " + signedness(e.SignedW) + " weight"
}

func signedness(signed bool) string {
	if signed {
		return "signed"
	}
	return "unsigned"
}

// CheckSigns returns a *SignError when more than 10% of the table's non-zero
// products (of non-zero operands) have a sign other than that of the
// product of the operands on the axes the table was read with, else nil.
//
// None of the table formats records operand signedness, and a table read
// with the wrong one is not malformed: an unsigned table (EvoApprox mul8u)
// read as signed multiplies the weight -1 as 255, and every product then
// comes out silently wrong. A read with the right signedness disagrees on
// almost no entry (an approximate multiplier may get the sign of a few small
// products wrong), the wrong one on about half of them (every pair with one
// operand of 128..255 read as negative, or the other way round), so 10%
// separates the two with room on both sides.
func CheckSigns(t *Table) error {
	checked, wrong := 0, 0
	for xi := 0; xi < 256; xi++ {
		x := Operand(xi, t.signedX)
		for wi := 0; wi < 256; wi++ {
			p, v := x*Operand(wi, t.signedW), t.entries[xi<<8|wi]
			if p == 0 || v == 0 {
				continue
			}
			checked++
			if (p > 0) != (v > 0) {
				wrong++
			}
		}
	}
	if wrong*10 > checked {
		return &SignError{Wrong: wrong, Checked: checked, SignedX: t.signedX, SignedW: t.signedW}
	}
	return nil
}
