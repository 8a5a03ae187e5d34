package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/goapprox/goapprox/internal/boundedfile"
)

// Array is a whole array read from an .npy file. Exactly one of Float32
// and Int32 holds its elements, in C order.
type Array struct {
	Shape   []int
	Float32 []float32
	Int32   []int32
}

// ParseArray decodes a whole .npy file held in memory: a little-endian,
// C-order float32 ('<f4') or int32 ('<i4') array of any shape, file format
// version 1.0, 2.0 or 3.0. The data must be exactly what the shape declares.
func ParseArray(b []byte) (Array, error) {
	r := bytes.NewReader(b)
	h, err := ReadHeader(r)
	if err != nil {
		return Array{}, err
	}
	data := b[len(b)-r.Len():]
	if h.Fortran {
		return Array{}, errors.New("arrays in Fortran order are not supported; save the array with np.ascontiguousarray")
	}
	if h.Descr != "<f4" && h.Descr != "<i4" {
		return Array{}, fmt.Errorf("dtype %q is not supported; want '<f4' or '<i4' (convert with arr.astype)", h.Descr)
	}
	n := 1
	for _, d := range h.Shape {
		if d > 0 && n > len(data)/d {
			return Array{}, fmt.Errorf("shape %s needs more than the %d data bytes the file holds", ShapeString(h.Shape), len(data))
		}
		n *= d
	}
	a := Array{Shape: h.Shape}
	if len(data) != 4*n {
		return Array{}, fmt.Errorf("%d data bytes for shape %v, want %d (4 bytes an element)", len(data), h.Shape, 4*n)
	}
	if h.Descr == "<f4" {
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

// ReadFile reads a whole array file, as ParseArray decodes it, through
// internal/boundedfile: a file larger than maxBytes is refused by its size
// before any of it is read, and one that is not a regular file (a device)
// is refused. Errors from opening the file are returned unwrapped, so
// os.IsNotExist works on them.
func ReadFile(path string, maxBytes int64) (Array, error) {
	b, err := boundedfile.ReadFile(path, maxBytes, "an .npy array file")
	if err != nil {
		return Array{}, err
	}
	a, err := ParseArray(b)
	if err != nil {
		return Array{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}
