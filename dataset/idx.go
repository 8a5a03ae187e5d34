package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"io"
)

// IDX is the content of an idx file of unsigned bytes (type code 0x08), the
// format of the MNIST and Fashion-MNIST files: a big-endian header with the
// size of each dimension, then the data in row-major order.
type IDX struct {
	Dims []int
	Data []uint8
}

// idxMaxDims bounds the header: real files have 1 (labels) or 3 (images)
// dimensions, and a larger count is a sign of a corrupt header.
const idxMaxDims = 8

// idxMaxBytes bounds the declared data size so a corrupt header cannot make
// the reader attempt an absurd read.
const idxMaxBytes = maxIDXFileBytes

const idxTypeUint8 = 0x08

// ReadIDX reads an idx file of unsigned bytes from r. Gzip-compressed input is
// recognised by its magic number and decompressed. Truncated data, trailing
// bytes, an unknown type code or an impossible header are errors that say
// what was found.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: bad gzip header: %w", err)
		}
		defer zr.Close()
		// Read the whole member: gzip only checks its CRC at the end.
		return readIDX(bufio.NewReader(zr))
	}
	return readIDX(br)
}

func readIDX(r io.Reader) (*IDX, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("idx: file too short for the 4-byte magic number: %w", noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("idx: bad magic number % x: the first two bytes must be zero (not an idx file?)", head)
	}
	if head[2] != idxTypeUint8 {
		return nil, fmt.Errorf("idx: data type 0x%02x not supported: only unsigned bytes (0x08) are", head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > idxMaxDims {
		return nil, fmt.Errorf("idx: header declares %d dimensions; expected 1 to %d", nd, idxMaxDims)
	}
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("idx: header truncated while reading %d dimension sizes: %w", nd, noEOF(err))
	}
	dims := make([]int, nd)
	total := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(raw[4*i:])
		dims[i] = int(d)
		total *= uint64(d)
		if total > idxMaxBytes {
			return nil, fmt.Errorf("idx: dimensions %v declare more than %d bytes; the header is corrupt", dims[:i+1], uint64(idxMaxBytes))
		}
	}
	// Read through a limit one byte past the declared size: growing the buffer
	// as data arrives means a truncated file with a huge header does not
	// allocate the declared size, and the extra byte detects trailing data.
	var buf bytes.Buffer
	buf.Grow(int(min(total+1, 1<<20)))
	n, err := buf.ReadFrom(io.LimitReader(r, int64(total)+1))
	if err != nil {
		return nil, fmt.Errorf("idx: reading %v data: %w", dims, err)
	}
	if uint64(n) < total {
		return nil, fmt.Errorf("idx: truncated: header %v declares %d data bytes, file has %d", dims, total, n)
	}
	if uint64(n) > total {
		return nil, fmt.Errorf("idx: trailing data after the %d bytes declared by header %v", total, dims)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()[:total:total]}, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a header, any end of
// file is unexpected.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// WriteIDX writes dims and data as an uncompressed idx file of unsigned bytes.
// It exists for tests and for users preparing their own files.
func WriteIDX(w io.Writer, dims []int, data []uint8) error {
	if len(dims) < 1 || len(dims) > idxMaxDims {
		return fmt.Errorf("idx: %d dimensions; expected 1 to %d", len(dims), idxMaxDims)
	}
	total := 1
	for _, d := range dims {
		if d < 0 || uint64(d) > 0xFFFFFFFF {
			return fmt.Errorf("idx: dimension %d out of range in %v", d, dims)
		}
		total *= d
	}
	if total != len(data) {
		return fmt.Errorf("idx: dimensions %v need %d bytes, got %d", dims, total, len(data))
	}
	head := make([]byte, 4+4*len(dims))
	head[2] = idxTypeUint8
	head[3] = byte(len(dims))
	for i, d := range dims {
		binary.BigEndian.PutUint32(head[4+4*i:], uint32(d))
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// readIDXFile reads an idx file (gzip or plain); errors name the file. A
// file larger than maxIDXFileBytes is refused before it is read.
func readIDXFile(path string) (*IDX, error) {
	f, size, err := boundedfile.Open(path, maxIDXFileBytes, "an idx file")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := ReadIDX(io.LimitReader(f, size))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}
