package lut

import (
	"bytes"
	"testing"
)

// The readers' fuzz targets check that no input panics, and that any input
// a reader accepts is a table that survives a write/read round trip.
// Seeds: full-size valid tables are made by the f.Add calls below (they are
// large and derived from the writers); small hand-made malformed inputs are
// committed under testdata/fuzz/<target>/. Plain `go test` runs both.

func FuzzReadNPY(f *testing.F) {
	// One full-size valid file (one-byte elements keep it at 64 KiB: large
	// inputs make the fuzzer's minimisation slow); the rest are small.
	ones := make([]byte, Size)
	for i := range ones {
		ones[i] = byte(i * 7)
	}
	f.Add(npyBytes(1, "{'descr': '|i1', 'fortran_order': True, 'shape': (256, 256), }", ones))
	f.Add(npyBytes(2, "{'descr': '<u2', 'fortran_order': False, 'shape': (256, 256), }", make([]byte, 100)))
	f.Add(npyBytes(3, "{'descr': '>i8', 'fortran_order': False, 'shape': (65536,), }", make([]byte, 16)))
	f.Add([]byte("\x93NUMPY\x01\x00\x20\x00{'descr': '|u1', 'shape': (256,"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadNPY(bytes.NewReader(data), "fuzz", Signs{X: Unsigned, W: Signed})
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteNPY(&out, tab); err != nil {
			t.Fatal(err)
		}
		back, err := ReadNPY(&out, "fuzz", Signs{X: Unsigned, W: Signed})
		if err != nil || back.Fingerprint() != tab.Fingerprint() {
			t.Fatalf("accepted .npy does not round-trip: %v", err)
		}
	})
}

func FuzzReadBin(f *testing.F) {
	var valid bytes.Buffer
	WriteBin(&valid, ExactTable(Both(Unsigned)))
	f.Add(valid.Bytes(), false)
	f.Add(valid.Bytes()[:1000], true)
	f.Add(valid.Bytes()[:2*Size-1], false)
	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		tab, err := ReadBin(bytes.NewReader(data), "fuzz", Signs{X: SignednessOf(signed), W: SignednessOf(false)})
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteBin(&out, tab); err != nil {
			t.Fatalf("an accepted .bin table cannot be written back: %v", err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatal(".bin round trip changed the bytes")
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	var valid bytes.Buffer
	WriteCSV(&valid, ExactTable(Both(Signed)))
	f.Add(valid.Bytes())
	f.Add(bytes.ReplaceAll(bytes.ReplaceAll(valid.Bytes(), []byte(","), []byte(" , ")), []byte("\n"), []byte("\r\n")))
	f.Add([]byte("1,2,3\n4,5,6\n"))
	f.Add([]byte("\"1\",2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadCSV(bytes.NewReader(data), "fuzz", Both(Signed))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteCSV(&out, tab); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCSV(&out, "fuzz", Both(Signed))
		if err != nil || back.Fingerprint() != tab.Fingerprint() {
			t.Fatalf("accepted CSV does not round-trip: %v", err)
		}
	})
}
