package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

// handIDX builds an idx file byte by byte, independently of WriteIDX.
func handIDX(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadIDXHandMade(t *testing.T) {
	// Two 2x3 "images".
	data := []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}
	file := handIDX(0x08, []uint32{2, 2, 3}, data)
	if want := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1}; !bytes.Equal(file[:18], want) {
		t.Fatalf("hand-made header %v, want %v", file[:18], want)
	}
	for name, in := range map[string][]byte{"plain": file, "gzip": gz(t, file)} {
		x, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(x.Dims) != 3 || x.Dims[0] != 2 || x.Dims[1] != 2 || x.Dims[2] != 3 {
			t.Errorf("%s: dims %v, want [2 2 3]", name, x.Dims)
		}
		if !bytes.Equal(x.Data, data) {
			t.Errorf("%s: data %v, want %v", name, x.Data, data)
		}
	}
	// A labels file: one dimension.
	x, err := ReadIDX(bytes.NewReader(handIDX(0x08, []uint32{4}, []byte{5, 0, 4, 1})))
	if err != nil || len(x.Dims) != 1 || x.Dims[0] != 4 || !bytes.Equal(x.Data, []byte{5, 0, 4, 1}) {
		t.Errorf("labels: %+v, %v", x, err)
	}
	// An empty data set is valid.
	if x, err := ReadIDX(bytes.NewReader(handIDX(0x08, []uint32{0, 28, 28}, nil))); err != nil || len(x.Data) != 0 {
		t.Errorf("empty: %+v, %v", x, err)
	}
}

func TestWriteIDXMatchesHandMade(t *testing.T) {
	data := []byte{9, 8, 7, 6, 5, 4}
	var buf bytes.Buffer
	if err := WriteIDX(&buf, []int{3, 2}, data); err != nil {
		t.Fatal(err)
	}
	if want := handIDX(0x08, []uint32{3, 2}, data); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteIDX wrote %v, want %v", buf.Bytes(), want)
	}
	if err := WriteIDX(io.Discard, []int{3, 3}, data); err == nil {
		t.Error("WriteIDX accepted 6 bytes for 3x3")
	}
	if err := WriteIDX(io.Discard, nil, nil); err == nil {
		t.Error("WriteIDX accepted zero dimensions")
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := handIDX(0x08, []uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	corruptGzip := gz(t, good)
	corruptGzip[len(corruptGzip)-6] ^= 0xFF // inside the CRC32 trailer
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "too short for the 4-byte magic"},
		{"short magic", []byte{0, 0}, "too short for the 4-byte magic"},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 0}, "bad magic number"},
		{"float type", handIDX(0x0D, []uint32{1}, []byte{0, 0, 0, 0}), "data type 0x0d not supported"},
		{"zero dims", []byte{0, 0, 8, 0}, "declares 0 dimensions"},
		{"too many dims", []byte{0, 0, 8, 9}, "declares 9 dimensions"},
		{"truncated header", good[:9], "header truncated"},
		{"truncated data", good[:len(good)-1], "truncated: header [2 3] declares 6 data bytes, file has 5"},
		{"trailing data", append(append([]byte{}, good...), 0), "trailing data"},
		{"absurd size", handIDX(0x08, []uint32{1 << 20, 1 << 20}, nil), "the header is corrupt"},
		{"huge but truncated", handIDX(0x08, []uint32{1 << 15, 1 << 14}, []byte{1, 2}), "declares 536870912 data bytes, file has 2"},
		{"truncated gzip", gz(t, good)[:20], "unexpected EOF"},
		{"corrupt gzip", corruptGzip, "checksum"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.in))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
}

// FuzzReadIDX checks that any input either fails with an error or yields data
// consistent with its header that WriteIDX reproduces byte for byte.
// Seeds live in testdata/fuzz/FuzzReadIDX.
func FuzzReadIDX(f *testing.F) {
	f.Add(handIDX(0x08, []uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("dims %v but %d bytes", x.Dims, len(x.Data))
		}
		var buf bytes.Buffer
		if err := WriteIDX(&buf, x.Dims, x.Data); err != nil {
			t.Fatalf("WriteIDX of a file ReadIDX accepted: %v", err)
		}
		if !(len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b) && !bytes.Equal(buf.Bytes(), in) {
			t.Fatalf("round trip changed the file")
		}
	})
}
