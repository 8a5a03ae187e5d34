package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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

// ReadFile reads a whole array file, as ParseArray decodes it. A file larger
// than maxBytes is refused by its size before any of it is read, and the
// read itself stops after maxBytes (a file that grows, or a device, cannot
// make it read more). Errors from opening the file are returned unwrapped,
// so os.IsNotExist works on them.
func ReadFile(path string, maxBytes int64) (Array, error) {
	b, err := readBounded(path, maxBytes)
	if err != nil {
		return Array{}, err
	}
	a, err := ParseArray(b)
	if err != nil {
		return Array{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// readBounded returns the contents of a file of at most maxBytes bytes. A
// larger regular file is refused from its size alone; anything else (a
// file that grows, a pipe, a device) is read through a reader that stops
// after maxBytes. Errors from opening the file are returned unwrapped.
func readBounded(path string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fi.Mode().IsRegular() && fi.Size() > maxBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d bytes an array file here can take; "+
			"refusing to read it: is it the right file?", path, fi.Size(), maxBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%s holds more than %d bytes, the most an array file here can take; is it the right file?", path, maxBytes)
	}
	return b, nil
}
