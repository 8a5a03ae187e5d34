package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// npyArray is a little-endian C-order float32 or int32 array read from a
// NumPy .npy file (test-only reader: the golden vectors use nothing else).
type npyArray struct {
	shape []int
	f32   []float32
	i32   []int32
}

var (
	npyDescr = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

func readNPY(path string) (*npyArray, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("%s: not an .npy file", path)
	}
	var hlen, start int
	if b[6] == 1 {
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	} else {
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	}
	if start+hlen > len(b) {
		return nil, fmt.Errorf("%s: truncated header", path)
	}
	header := string(b[start : start+hlen])
	data := b[start+hlen:]
	d, o, s := npyDescr.FindStringSubmatch(header), npyOrder.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if d == nil || o == nil || s == nil {
		return nil, fmt.Errorf("%s: unreadable header %q", path, header)
	}
	if o[1] != "False" {
		return nil, fmt.Errorf("%s: Fortran order not supported", path)
	}
	a := &npyArray{}
	n := 1
	for _, f := range strings.Split(s[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: bad shape %q", path, s[1])
		}
		a.shape = append(a.shape, v)
		n *= v
	}
	if len(data) != 4*n {
		return nil, fmt.Errorf("%s: %d data bytes for %d elements of 4 bytes", path, len(data), n)
	}
	switch d[1] {
	case "<f4":
		a.f32 = make([]float32, n)
		for i := range a.f32 {
			a.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case "<i4":
		a.i32 = make([]int32, n)
		for i := range a.i32 {
			a.i32[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
		}
	default:
		return nil, fmt.Errorf("%s: dtype %s not supported (want <f4 or <i4)", path, d[1])
	}
	return a, nil
}
