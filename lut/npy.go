package lut

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"github.com/goapprox/goapprox/internal/npy"
)

// maxNPYBytes is the largest .npy file a table can be: the longest header
// a reader accepts and 65,536 eight-byte elements.
const maxNPYBytes = int64(npy.MaxPreamble + npy.MaxHeader + 8*Size)

// ReadNPY reads a table from a NumPy .npy stream. Accepted: versions 1.0, 2.0
// and 3.0; any integer dtype (i1 u1 i2 u2 i4 u4 i8 u8) in any byte order
// ('<', '>', '|'); shape (256, 256) indexed [x][w], or (65536,) holding the
// same entries flattened row-major; C or Fortran order (a Fortran-ordered
// (256, 256) array is read as the same logical array, i.e. transposed in
// memory). Every value must fit an int32. The signedness of the operands is
// not recorded in the file, so the caller supplies it. ReadNPY reads no
// further than the header and the elements it declares, and one byte more
// to refuse trailing data.
func ReadNPY(r io.Reader, name string, s Signs) (*Table, error) {
	br := bufio.NewReader(r)
	h, err := npy.ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("lut: %w", err)
	}
	d, err := tableDtype(h)
	if err != nil {
		return nil, err
	}
	entries := make([]int32, Size)
	buf := make([]byte, d.Size*256)
	for row := 0; row < 256; row++ {
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("lut: .npy data is truncated: the header declares %d %s elements "+
				"(%d bytes) but the data ends within row %d", Size, h.Descr, Size*d.Size, row)
		}
		for col := 0; col < 256; col++ {
			v, err := element(d, h.Descr, buf[col*d.Size:])
			if err != nil {
				return nil, fmt.Errorf("lut: .npy element %d: %w", row*256+col, err)
			}
			entries[row*256+col] = v
		}
	}
	if n, _ := io.CopyN(io.Discard, br, 1); n != 0 {
		return nil, fmt.Errorf("lut: .npy file has data after the %d elements its header declares", Size)
	}
	t, err := FromEntries(name, s, entries)
	if err != nil {
		return nil, err
	}
	if h.Fortran && len(h.Shape) == 2 {
		// Memory holds column after column: element k in memory is [k%256][k/256],
		// so what we read as rows are the logical columns.
		t = t.Transpose().WithSigns(s).WithName(name)
	}
	return t, nil
}

// tableDtype checks that an .npy header declares a table: an integer dtype
// and 65,536 elements in one of the two shapes a table has.
func tableDtype(h *npy.Header) (npy.Dtype, error) {
	d, err := npy.ParseDtype(h.Descr)
	if err == nil && d.Kind == 'f' {
		err = fmt.Errorf("dtype %q is not an integer type", h.Descr)
	}
	if err != nil {
		return d, fmt.Errorf("lut: .npy %w; a table needs one of i1 u1 i2 u2 i4 u4 i8 u8 "+
			"(convert with arr.astype('<i4'))", err)
	}
	switch s := h.Shape; {
	case len(s) == 2 && s[0] == 256 && s[1] == 256:
	case len(s) == 1 && s[0] == Size:
	default:
		return d, fmt.Errorf("lut: .npy array has shape %s; a table must be (256, 256) or (65536,)", npy.ShapeString(s))
	}
	return d, nil
}

// element decodes one array element and checks that it fits an int32.
func element(d npy.Dtype, descr string, b []byte) (int32, error) {
	var u uint64
	switch d.Size {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(d.Order.Uint16(b))
	case 4:
		u = uint64(d.Order.Uint32(b))
	case 8:
		u = d.Order.Uint64(b)
	}
	if d.Kind == 'i' {
		v := int64(u<<(64-8*d.Size)) >> (64 - 8*d.Size) // sign-extend
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, fmt.Errorf("value %d (%s) is out of the int32 range a table holds", v, descr)
		}
		return int32(v), nil
	}
	if u > math.MaxInt32 {
		return 0, fmt.Errorf("value %d (%s) is out of the int32 range a table holds", u, descr)
	}
	return int32(u), nil
}

// WriteNPY writes t as a version 1.0 .npy file of dtype '<i4', shape
// (256, 256), C order: the array numpy.load returns is indexed [x][w].
func WriteNPY(w io.Writer, t *Table) error {
	return npy.WriteInt32(w, []int{256, 256}, t.entries[:])
}
