package golden

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Array is an array read from an .npy file. Exactly one of Float32 and
// Int32 holds its elements, in C order.
type Array struct {
	Shape   []int
	Float32 []float32
	Int32   []int32
}

var (
	npyDescr = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// ReadNPY reads a little-endian C-order float32 ('<f4') or int32 ('<i4')
// array from an .npy file of format version 1, 2 or 3.
func ReadNPY(path string) (Array, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Array{}, err
	}
	a, err := parseNPY(b)
	if err != nil {
		return Array{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func parseNPY(b []byte) (Array, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return Array{}, errors.New(`not an .npy file: it does not start with "\x93NUMPY" and a header length`)
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return Array{}, errors.New("truncated before the header length")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return Array{}, fmt.Errorf(".npy format version %d is not supported (1, 2 and 3 are)", b[6])
	}
	if hlen > len(b)-start {
		return Array{}, fmt.Errorf("truncated: the header declares %d bytes, %d follow", hlen, len(b)-start)
	}
	header, data := string(b[start:start+hlen]), b[start+hlen:]
	d, o, s := npyDescr.FindStringSubmatch(header), npyOrder.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if d == nil || o == nil || s == nil {
		return Array{}, fmt.Errorf("header %q lacks 'descr', 'fortran_order' or 'shape'", strings.TrimSpace(header))
	}
	if o[1] != "False" {
		return Array{}, errors.New("arrays in Fortran order are not supported; save the array with np.ascontiguousarray")
	}
	if d[1] != "<f4" && d[1] != "<i4" {
		return Array{}, fmt.Errorf("dtype %q is not supported; want '<f4' or '<i4' (convert with arr.astype)", d[1])
	}
	var a Array
	n := 1
	for _, f := range strings.Split(s[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return Array{}, fmt.Errorf("shape (%s) is not a tuple of non-negative integers", s[1])
		}
		if v > 0 && n > len(data)/v {
			return Array{}, fmt.Errorf("shape (%s) needs more than the %d data bytes the file holds", s[1], len(data))
		}
		a.Shape = append(a.Shape, v)
		n *= v
	}
	if len(data) != 4*n {
		return Array{}, fmt.Errorf("%d data bytes for shape %v, want %d (4 bytes an element)", len(data), a.Shape, 4*n)
	}
	if d[1] == "<f4" {
		a.Float32 = make([]float32, n)
		for i := range a.Float32 {
			a.Float32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	} else {
		a.Int32 = make([]int32, n)
		for i := range a.Int32 {
			a.Int32[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
		}
	}
	return a, nil
}
