package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// An .npy file is the magic "\x93NUMPY", a major and minor version byte,
// the header length (uint16 little-endian in version 1.0, uint32 in 2.0 and
// 3.0), then an ASCII (3.0: UTF-8) Python dict literal such as
// {'descr': '<i4', 'fortran_order': False, 'shape': (256, 256), }
// padded with spaces and a newline, then the raw array data.

const magic = "\x93NUMPY"

// MaxHeader bounds the header a reader accepts. NumPy itself refuses
// headers above 10,000 bytes by default; a plain array's header is ~70 bytes.
const MaxHeader = 1 << 16

// MaxPreamble is the most bytes before the header text: magic, version and
// a 4-byte header length.
const MaxPreamble = len(magic) + 2 + 4

// Header is what an .npy header declares about its array.
type Header struct {
	Major, Minor byte   // format version
	Descr        string // dtype as written, e.g. "<i4"
	Fortran      bool   // column-major data
	Shape        []int
}

// ReadHeader reads an .npy preamble and header from r, leaving r at the
// first byte of the array data. It checks the header's syntax and the
// presence of its three keys, not that the dtype is one a caller handles.
func ReadHeader(r io.Reader) (*Header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, errors.New("not an .npy file: shorter than the 8-byte .npy preamble")
	}
	if string(pre[:6]) != magic {
		return nil, errors.New(`not an .npy file: it does not start with the magic "\x93NUMPY"`)
	}
	h := &Header{Major: pre[6], Minor: pre[7]}
	var hlen int
	switch h.Major {
	case 1:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, errors.New(".npy file is truncated in its header length")
		}
		hlen = int(binary.LittleEndian.Uint16(l[:]))
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, errors.New(".npy file is truncated in its header length")
		}
		n := binary.LittleEndian.Uint32(l[:])
		if n > MaxHeader {
			return nil, fmt.Errorf(".npy header claims %d bytes; an array's header is under %d", n, MaxHeader)
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf(".npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", h.Major, h.Minor)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return nil, fmt.Errorf(".npy file is truncated inside its %d-byte header", hlen)
	}
	if err := h.parse(string(text)); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Header) parse(text string) error {
	d, err := parsePyDict(text)
	if err != nil {
		return fmt.Errorf(".npy header %q is not a valid header dict: %w", strings.TrimSpace(text), err)
	}
	descr, ok := d["descr"].(string)
	if !ok {
		return errors.New(".npy header has no 'descr' string (structured dtypes are not supported)")
	}
	h.Descr = descr
	fo, ok := d["fortran_order"].(bool)
	if !ok {
		return errors.New(".npy header has no 'fortran_order' True/False")
	}
	h.Fortran = fo
	shape, ok := d["shape"].([]int)
	if !ok {
		return errors.New(".npy header has no 'shape' tuple")
	}
	h.Shape = shape
	return nil
}

// Elements returns the number of elements the shape declares, or an error
// when that number would not fit an int with room for 8-byte elements.
func (h *Header) Elements() (int, error) {
	n := 1
	for _, d := range h.Shape {
		if d != 0 && n > (1<<62)/8/d {
			return 0, fmt.Errorf(".npy shape %s declares more elements than any file holds", ShapeString(h.Shape))
		}
		n *= d
	}
	return n, nil
}

// Dtype is a plain number dtype: one integer or float, in a byte order.
type Dtype struct {
	Kind  byte             // 'i' signed integer, 'u' unsigned integer, 'f' float
	Size  int              // bytes per element: 1, 2, 4 or 8
	Order binary.ByteOrder // nil for one-byte types
}

// ParseDtype decodes a dtype descr such as "<i4", ">u2" or "|u1": a byte
// order, a kind (i, u or f) and a size (1, 2, 4 or 8; floats 4 or 8).
func ParseDtype(descr string) (Dtype, error) {
	bad := fmt.Errorf("dtype %q is not an integer or float type", descr)
	var d Dtype
	if len(descr) == 2 && (descr == "i1" || descr == "u1") {
		descr = "|" + descr // one byte: no order to give
	}
	switch {
	case len(descr) == 2 && strings.ContainsRune("iuf", rune(descr[0])):
		return d, fmt.Errorf("dtype %q gives no byte order: a .npy header names one, e.g. '<i4' (little-endian) or '>i4' (big-endian), as numpy.save writes it", descr)
	case len(descr) == 3 && descr[0] == '=' && descr[2] != '1':
		return d, fmt.Errorf("dtype %q is in the native byte order of the machine that wrote it, which the file does not record: write it with an explicit order, e.g. '<i4' (little-endian)", descr)
	case len(descr) == 3 && descr[0] == '=':
		descr = "|" + descr[1:]
	}
	if len(descr) != 3 {
		return d, bad
	}
	switch d.Kind = descr[1]; d.Kind {
	case 'i', 'u':
	case 'f':
		if descr[2] != '4' && descr[2] != '8' {
			return d, bad
		}
	default:
		return d, bad
	}
	switch descr[2] {
	case '1', '2', '4', '8':
		d.Size = int(descr[2] - '0')
	default:
		return d, bad
	}
	switch descr[0] {
	case '<':
		d.Order = binary.LittleEndian
	case '>':
		d.Order = binary.BigEndian
	case '|':
		// '|' means "byte order not applicable": only one-byte types have it.
		if d.Size != 1 {
			return d, fmt.Errorf("dtype %q has no byte order for a %d-byte type", descr, d.Size)
		}
	default:
		return d, bad
	}
	return d, nil
}

// ShapeString writes a shape as Python does: (256, 256), (65536,), ().
func ShapeString(s []int) string {
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
		if err != nil || len(digits) > 18 {
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
