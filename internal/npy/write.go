package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// header returns the preamble and header of a C-order array as numpy.save
// writes it: version 1.0, the dict padded with spaces and a newline so that
// the data starts on a 64-byte boundary.
func header(descr string, shape []int) []byte {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, ShapeString(shape))
	total := len(magic) + 2 + 2 + len(dict) + 1
	pad := (64 - total%64) % 64
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write([]byte{1, 0})
	hlen := len(dict) + pad + 1
	b.Write([]byte{byte(hlen), byte(hlen >> 8)})
	b.WriteString(dict)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteByte('\n')
	return b.Bytes()
}

func checkShape(shape []int, n int) error {
	want := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: shape %v has a negative dimension", shape)
		}
		want *= d
	}
	if want != n {
		return fmt.Errorf("npy: shape %s holds %d elements, got %d", ShapeString(shape), want, n)
	}
	return nil
}

// WriteInt32 writes data as a little-endian int32 ('<i4') array of the
// given shape in C order.
func WriteInt32(w io.Writer, shape []int, data []int32) error {
	if err := checkShape(shape, len(data)); err != nil {
		return err
	}
	b := header("<i4", shape)
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	_, err := w.Write(b)
	return err
}

// WriteFloat32 writes data as a little-endian float32 ('<f4') array of the
// given shape in C order.
func WriteFloat32(w io.Writer, shape []int, data []float32) error {
	if err := checkShape(shape, len(data)); err != nil {
		return err
	}
	b := header("<f4", shape)
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	_, err := w.Write(b)
	return err
}
