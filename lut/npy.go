package lut

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The NumPy .npy format (numpy.lib.format): the magic "\x93NUMPY", a major
// and minor version byte, the header length (uint16 little-endian in version
// 1.0, uint32 in 2.0 and 3.0), then an ASCII (3.0: UTF-8) Python dict literal
// such as {'descr': '<i4', 'fortran_order': False, 'shape': (256, 256), }
// padded with spaces and a newline, then the raw array data.

const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header we are willing to read. NumPy itself refuses
// headers above 10,000 bytes by default; a real LUT header is ~70 bytes.
const maxNPYHeader = 1 << 16

// npyHeader is the part of an .npy header a table needs.
type npyHeader struct {
	order        binary.ByteOrder // nil for one-byte types
	size         int              // bytes per element: 1, 2, 4 or 8
	signed       bool             // dtype kind 'i' (else 'u')
	descr        string
	fortranOrder bool
	shape        []int
}

// ReadNPY reads a table from a NumPy .npy stream. Accepted: versions 1.0, 2.0
// and 3.0; any integer dtype (i1 u1 i2 u2 i4 u4 i8 u8) in any byte order
// ('<', '>', '|'); shape (256, 256) indexed [x][w], or (65536,) holding the
// same entries flattened row-major; C or Fortran order (a Fortran-ordered
// (256, 256) array is read as the same logical array, i.e. transposed in
// memory). Every value must fit an int32. The signedness of the operands is
// not recorded in the file, so the caller supplies it.
func ReadNPY(r io.Reader, name string, signedX, signedW bool) (*Table, error) {
	br := bufio.NewReader(r)
	h, err := readNPYHeader(br)
	if err != nil {
		return nil, err
	}
	entries := make([]int32, Size)
	buf := make([]byte, h.size*256)
	for row := 0; row < 256; row++ {
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("lut: .npy data is truncated: the header declares %d %s elements "+
				"(%d bytes) but the data ends within row %d", Size, h.descr, Size*h.size, row)
		}
		for col := 0; col < 256; col++ {
			v, err := h.element(buf[col*h.size:])
			if err != nil {
				return nil, fmt.Errorf("lut: .npy element %d: %w", row*256+col, err)
			}
			entries[row*256+col] = v
		}
	}
	if n, _ := io.CopyN(io.Discard, br, 1); n != 0 {
		return nil, fmt.Errorf("lut: .npy file has data after the %d elements its header declares", Size)
	}
	t, err := New(name, signedX, signedW, entries)
	if err != nil {
		return nil, err
	}
	if h.fortranOrder && len(h.shape) == 2 {
		// Memory holds column after column: element k in memory is [k%256][k/256],
		// so what we read as rows are the logical columns.
		t = t.Transpose().WithSignedness(signedX, signedW).WithName(name)
	}
	return t, nil
}

// element decodes one array element and checks that it fits an int32.
func (h *npyHeader) element(b []byte) (int32, error) {
	var u uint64
	switch h.size {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(h.order.Uint16(b))
	case 4:
		u = uint64(h.order.Uint32(b))
	case 8:
		u = h.order.Uint64(b)
	}
	if h.signed {
		v := int64(u<<(64-8*h.size)) >> (64 - 8*h.size) // sign-extend
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, fmt.Errorf("value %d (%s) is out of the int32 range a table holds", v, h.descr)
		}
		return int32(v), nil
	}
	if u > math.MaxInt32 {
		return 0, fmt.Errorf("value %d (%s) is out of the int32 range a table holds", u, h.descr)
	}
	return int32(u), nil
}

func readNPYHeader(r io.Reader) (*npyHeader, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, errors.New("lut: not a .npy file: shorter than the 8-byte .npy preamble")
	}
	if string(pre[:6]) != npyMagic {
		return nil, errors.New(`lut: not a .npy file: it does not start with the magic "\x93NUMPY"`)
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, errors.New("lut: .npy file is truncated in its header length")
		}
		hlen = int(binary.LittleEndian.Uint16(l[:]))
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, errors.New("lut: .npy file is truncated in its header length")
		}
		n := binary.LittleEndian.Uint32(l[:])
		if n > maxNPYHeader {
			return nil, fmt.Errorf("lut: .npy header claims %d bytes; a table's header is under %d", n, maxNPYHeader)
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf("lut: .npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", major, minor)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return nil, fmt.Errorf("lut: .npy file is truncated inside its %d-byte header", hlen)
	}
	return parseNPYHeader(string(text))
}

func parseNPYHeader(text string) (*npyHeader, error) {
	d, err := parsePyDict(text)
	if err != nil {
		return nil, fmt.Errorf("lut: .npy header %q is not a valid header dict: %w", strings.TrimSpace(text), err)
	}
	h := &npyHeader{}
	descr, ok := d["descr"].(string)
	if !ok {
		return nil, errors.New("lut: .npy header has no 'descr' string (structured dtypes are not tables)")
	}
	if err := h.setDescr(descr); err != nil {
		return nil, err
	}
	fo, ok := d["fortran_order"].(bool)
	if !ok {
		return nil, errors.New("lut: .npy header has no 'fortran_order' True/False")
	}
	h.fortranOrder = fo
	shape, ok := d["shape"].([]int)
	if !ok {
		return nil, errors.New("lut: .npy header has no 'shape' tuple")
	}
	h.shape = shape
	switch {
	case len(shape) == 2 && shape[0] == 256 && shape[1] == 256:
	case len(shape) == 1 && shape[0] == Size:
	default:
		return nil, fmt.Errorf("lut: .npy array has shape %s; a table must be (256, 256) or (65536,)", pyShape(shape))
	}
	return h, nil
}

func (h *npyHeader) setDescr(descr string) error {
	h.descr = descr
	bad := fmt.Errorf("lut: .npy dtype %q is not an integer type; a table needs one of i1 u1 i2 u2 i4 u4 i8 u8 "+
		"(convert with arr.astype('<i4'))", descr)
	if len(descr) != 3 {
		return bad
	}
	switch descr[1] {
	case 'i':
		h.signed = true
	case 'u':
	default:
		return bad
	}
	switch descr[2] {
	case '1', '2', '4', '8':
		h.size = int(descr[2] - '0')
	default:
		return bad
	}
	switch descr[0] {
	case '<':
		h.order = binary.LittleEndian
	case '>':
		h.order = binary.BigEndian
	case '|':
		// '|' means "byte order not applicable": only one-byte types have it.
		if h.size != 1 {
			return fmt.Errorf("lut: .npy dtype %q has no byte order for a %d-byte type", descr, h.size)
		}
	default:
		return bad
	}
	return nil
}

func pyShape(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	if len(s) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// parsePyDict parses the small subset of Python literal syntax an .npy
// header uses: a dict with string keys whose values are strings, True,
// False, or tuples of non-negative integers. Values of any other kind are
// an error.
func parsePyDict(s string) (map[string]any, error) {
	p := &pyParser{s: s}
	p.space()
	if !p.eat('{') {
		return nil, errors.New("expected '{'")
	}
	d := map[string]any{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(':') {
			return nil, fmt.Errorf("expected ':' after key %q", key)
		}
		p.space()
		val, err := p.value()
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if _, dup := d[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		d[key] = val
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if !p.eat('}') {
			return nil, errors.New("expected ',' or '}'")
		}
		break
	}
	p.space()
	if p.i != len(p.s) {
		return nil, errors.New("unexpected text after the dict")
	}
	return d, nil
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) str() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("expected a quoted string")
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *pyParser) value() (any, error) {
	rest := p.s[p.i:]
	switch {
	case strings.HasPrefix(rest, "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(rest, "False"):
		p.i += 5
		return false, nil
	case p.eat('('):
		return p.tuple()
	case len(rest) > 0 && (rest[0] == '\'' || rest[0] == '"'):
		return p.str()
	}
	return nil, errors.New("expected a string, True, False or a tuple")
}

// tuple parses the rest of "(d, d, ...)" after the opening parenthesis.
func (p *pyParser) tuple() ([]int, error) {
	var t []int
	for {
		p.space()
		if p.eat(')') {
			return t, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		// Trailing 'L' is how Python 2 wrote long integers in old files.
		digits := p.s[start:p.i]
		p.eat('L')
		n, err := strconv.Atoi(digits)
		if err != nil || len(digits) > 9 {
			return nil, errors.New("expected a non-negative integer in the shape tuple")
		}
		t = append(t, n)
		p.space()
		if p.eat(',') {
			continue
		}
		if !p.eat(')') {
			return nil, errors.New("expected ',' or ')' in the shape tuple")
		}
		return t, nil
	}
}

// WriteNPY writes t as a version 1.0 .npy file of dtype '<i4', shape
// (256, 256), C order: the array numpy.load returns is indexed [x][w].
func WriteNPY(w io.Writer, t *Table) error {
	dict := "{'descr': '<i4', 'fortran_order': False, 'shape': (256, 256), }"
	// NumPy pads the header with spaces and a final newline so that the data
	// starts on a 64-byte boundary.
	total := len(npyMagic) + 2 + 2 + len(dict) + 1
	pad := (64 - total%64) % 64
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0})
	hlen := len(dict) + pad + 1
	b.Write([]byte{byte(hlen), byte(hlen >> 8)})
	b.WriteString(dict)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteByte('\n')
	var e [4]byte
	for _, v := range t.Entries() {
		binary.LittleEndian.PutUint32(e[:], uint32(v))
		b.Write(e[:])
	}
	_, err := w.Write(b.Bytes())
	return err
}
