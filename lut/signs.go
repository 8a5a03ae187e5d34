package lut

import "fmt"

// SignError reports that a table's products do not fit the signedness it
// was read with: the table was most likely written for operands of the
// other signedness.
type SignError struct {
	Wrong   int   // products that do not fit the reading (see Wrapped)
	Checked int   // non-zero products of non-zero operands
	Signs   Signs // how the operands were read

	// Wrapped is set when the table was read with unsigned operands and its
	// entries are 16-bit two's complement numbers: Wrong counts the entries
	// of 32768 or more where the unsigned product is less, and Fits is a
	// signed reading under which the entries, taken as int16, have the sign
	// of their products.
	Wrapped bool
	Fits    Signs
}

func (e *SignError) Error() string {
	if e.Wrapped {
		return fmt.Sprintf("%d of %d products are 32768 or more where the unsigned product is smaller: "+
			"they read as 16-bit two's complement negatives, products of %s operands", e.Wrong, e.Checked, e.Fits)
	}
	return fmt.Sprintf("%d of %d products have the wrong sign for %s operands", e.Wrong, e.Checked, e.Signs)
}

// CheckSigns returns a *SignError when more than 10% of the table's non-zero
// products (of non-zero operands) have a sign other than that of the
// product of the operands on the axes the table was read with, or when a
// table read with unsigned operands holds the 16-bit two's complement
// entries of a signed multiplier; else nil.
//
// None of the table formats records operand signedness, and a table read
// with the wrong one is not malformed: an unsigned table (EvoApprox mul8u)
// read as signed multiplies the weight -1 as 255, and every product then
// comes out silently wrong. A read with the right signedness disagrees on
// almost no entry (an approximate multiplier may get the sign of a few small
// products wrong), the wrong one on about half of them (every pair with one
// operand of 128..255 read as negative, or the other way round), so 10%
// separates the two with room on both sides.
//
// A signed table stored as 16-bit entries (.bin) and read as unsigned shows
// no wrong sign: every entry reads as a positive uint16. Its negative
// products read as 32768..65535 where the unsigned product of their indices
// is below 32768 (one index of 128..255 and the other under 128), about half
// of the table; no unsigned multiplier is off by that much on more than a
// few entries, and taken as int16 those entries fit a signed reading. Both
// conditions, each with the 10% margin, mark the table.
func CheckSigns(t *Table) error {
	if wrong, checked := wrongSigns(t, t.signs, false); wrong*10 > checked {
		return &SignError{Wrong: wrong, Checked: checked, Signs: t.signs}
	}
	if t.signs != Both(Unsigned) {
		return nil
	}
	wrapped, checked := 0, 0
	for xi := 0; xi < 256; xi++ {
		for wi := 0; wi < 256; wi++ {
			v := t.entries[xi<<8|wi]
			if v < 0 || v > 0xFFFF {
				return nil // not 16-bit entries
			}
			if xi == 0 || wi == 0 || v == 0 {
				continue
			}
			checked++
			if v >= 0x8000 && xi*wi < 0x8000 {
				wrapped++
			}
		}
	}
	if wrapped*10 <= checked {
		return nil
	}
	for _, fits := range []Signs{Both(Signed), {X: Unsigned, W: Signed}, {X: Signed, W: Unsigned}} {
		if wrong, n := wrongSigns(t, fits, true); wrong*10 <= n {
			return &SignError{Wrong: wrapped, Checked: checked, Signs: t.signs, Wrapped: true, Fits: fits}
		}
	}
	return nil
}

// wrongSigns counts the non-zero products of non-zero operands, and those
// whose sign differs from the product's, reading the operands with s and
// the entries as int16 when asInt16.
func wrongSigns(t *Table, s Signs, asInt16 bool) (wrong, checked int) {
	for xi := 0; xi < 256; xi++ {
		x := s.X.Value(xi)
		for wi := 0; wi < 256; wi++ {
			p, v := x*s.W.Value(wi), t.entries[xi<<8|wi]
			if asInt16 {
				v = int32(int16(v))
			}
			if p == 0 || v == 0 {
				continue
			}
			checked++
			if (p > 0) != (v > 0) {
				wrong++
			}
		}
	}
	return wrong, checked
}
