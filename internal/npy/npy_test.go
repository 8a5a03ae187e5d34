package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWriteLayout: the bytes numpy.save writes for a (2, 3) float32 array:
// a version 1.0 header padded to a multiple of 64 bytes (128 here), then
// the elements little-endian.
func TestWriteLayout(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFloat32(&b, []int{2, 3}, []float32{1, -2, 0.5, 0, 3, 4}); err != nil {
		t.Fatal(err)
	}
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	want := "\x93NUMPY\x01\x00\x76\x00" + dict + strings.Repeat(" ", 128-10-len(dict)-1) + "\n"
	if got := b.String(); len(got) != 128+24 || got[:128] != want {
		t.Fatalf("header %q (file %d bytes), want %q", got[:min(128, len(got))], len(got), want)
	}
	if v := math.Float32frombits(binary.LittleEndian.Uint32(b.Bytes()[128+4:])); v != -2 {
		t.Errorf("element 1 = %g, want -2", v)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{2, 256, 256}, {5}, {0, 3}, {}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		f := make([]float32, n)
		i := make([]int32, n)
		for k := range f {
			f[k], i[k] = float32(k)*0.25-7, int32(k*k)-1<<30
		}
		var bf, bi bytes.Buffer
		if err := WriteFloat32(&bf, shape, f); err != nil {
			t.Fatal(err)
		}
		if err := WriteInt32(&bi, shape, i); err != nil {
			t.Fatal(err)
		}
		af, err := ParseArray(bf.Bytes())
		if err != nil || !slices.Equal(af.Shape, shape) || !slices.Equal(af.Float32, f) || af.Int32 != nil {
			t.Errorf("float32 %v: %v, shape %v", shape, err, af.Shape)
		}
		ai, err := ParseArray(bi.Bytes())
		if err != nil || !slices.Equal(ai.Shape, shape) || !slices.Equal(ai.Int32, i) || ai.Float32 != nil {
			t.Errorf("int32 %v: %v, shape %v", shape, err, ai.Shape)
		}
	}
	if err := WriteFloat32(&bytes.Buffer{}, []int{2, 2}, make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "holds 4 elements, got 3") {
		t.Errorf("shape mismatch: %v", err)
	}
}

func TestParseDtype(t *testing.T) {
	for descr, want := range map[string]string{
		"<i4": "i4 little", ">u2": "u2 big", "|u1": "u1 none", "<f8": "f8 little", "|i1": "i1 none",
		"|i4": "no byte order", "<f2": "not an integer or float", "|O": "not an integer or float",
		"<c8": "not an integer or float", "=i4": "native byte order", "i4": "gives no byte order", "u1": "u1 none", "=u1": "u1 none", "<i3": "not an integer or float",
	} {
		d, err := ParseDtype(descr)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			order := map[binary.ByteOrder]string{binary.LittleEndian: "little", binary.BigEndian: "big", nil: "none"}[d.Order]
			got = fmt.Sprintf("%c%d %s", d.Kind, d.Size, order)
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", descr, got, want)
		}
	}
}

func TestElementsOverflow(t *testing.T) {
	h := &Header{Shape: []int{1 << 40, 1 << 40}}
	if _, err := h.Elements(); err == nil || !strings.Contains(err.Error(), "(1099511627776, 1099511627776)") {
		t.Errorf("overflowing shape: %v", err)
	}
	h.Shape = []int{2, 256, 256}
	if n, err := h.Elements(); n != 2*256*256 || err != nil {
		t.Errorf("Elements = %d, %v", n, err)
	}
}

// TestReadFileBounded: a file over the limit is refused by its size (a
// sparse 1 TiB file), with the size and the limit in the message; a missing
// file keeps its not-exist error.
func TestReadFileBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.npy")
	var b bytes.Buffer
	if err := WriteInt32(&b, []int{3}, []int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, err := ReadFile(path, int64(b.Len())); err != nil || !slices.Equal(a.Int32, []int32{1, 2, 3}) {
		t.Fatalf("file at the limit: %v", err)
	}
	if _, err := ReadFile(path, int64(b.Len()-1)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d bytes is larger than an .npy array file can be (at most %d bytes)", b.Len(), b.Len()-1)) {
		t.Errorf("file one byte over the limit: %v", err)
	}
	if err := os.Truncate(path, 1<<40); err != nil {
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	if _, err := ReadFile(path, 1<<20); err == nil || !strings.Contains(err.Error(), "1099511627776 bytes is larger than an .npy array file can be (at most 1048576 bytes)") {
		t.Errorf("sparse 1 TiB file: %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.npy"), 1<<20); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// TestReadFileEndlessDevice: a device has no size to refuse by, and no
// array file is one: it is refused unread.
func TestReadFileEndlessDevice(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	if _, err := ReadFile("/dev/zero", 1<<16); err == nil || !strings.Contains(err.Error(), "/dev/zero: not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
}
