package lut

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
)

// testTable is a non-commutative table with negative entries, so that a
// swapped operand order or a lost sign shows in a round trip.
func testTable(t *testing.T, signed bool) *Table {
	t.Helper()
	tab, err := Tabulate("test", Both(SignednessOf(signed)), func(x, w int) int { return x*w + 3*x - w })
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// npyBytes builds an .npy file independently of WriteNPY: header text as
// NumPy writes it and the given element bytes.
func npyBytes(major byte, dict string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x93NUMPY")
	b.Write([]byte{major, 0})
	hdr := dict + "\n"
	if major == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	}
	b.WriteString(hdr)
	b.Write(data)
	return b.Bytes()
}

// encode writes the values of f over the logical array [x][w], laid out in C
// or Fortran order, as elements of the given size and byte order.
func encode(size int, order binary.ByteOrder, fortran bool, f func(x, w int) int64) []byte {
	out := make([]byte, 0, size*Size)
	for i := 0; i < 256; i++ {
		for j := 0; j < 256; j++ {
			x, w := i, j
			if fortran {
				x, w = j, i
			}
			v := uint64(f(x, w))
			var e [8]byte
			switch size {
			case 1:
				e[0] = byte(v)
			case 2:
				order.PutUint16(e[:], uint16(v))
			case 4:
				order.PutUint32(e[:], uint32(v))
			case 8:
				order.PutUint64(e[:], v)
			}
			out = append(out, e[:size]...)
		}
	}
	return out
}

func TestReadNPYEveryIntegerDtype(t *testing.T) {
	orders := map[byte]binary.ByteOrder{'<': binary.LittleEndian, '>': binary.BigEndian}
	for _, kind := range []byte{'i', 'u'} {
		for _, size := range []int{1, 2, 4, 8} {
			for _, bo := range []byte{'<', '>', '|'} {
				if (bo == '|') != (size == 1) {
					continue
				}
				order := orders[bo]
				// A value pattern that uses the type's range: signed types get negatives.
				f := func(x, w int) int64 {
					v := int64(x*7 + w*13)
					if kind == 'i' {
						v -= 100
					}
					if size == 1 {
						v %= 100
					}
					return v
				}
				for _, fortran := range []bool{false, true} {
					descr := fmt.Sprintf("%c%c%d", bo, kind, size)
					dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (256, 256), }",
						descr, map[bool]string{false: "False", true: "True"}[fortran])
					file := npyBytes(1, dict, encode(size, order, fortran, f))
					tab, err := ReadNPY(bytes.NewReader(file), "t", Both(Unsigned))
					if err != nil {
						t.Fatalf("%s fortran=%t: %v", descr, fortran, err)
					}
					for _, p := range [][2]int{{0, 0}, {1, 2}, {2, 1}, {255, 0}, {0, 255}, {200, 17}} {
						if got, want := tab.At(int32(p[0]), int32(p[1])), f(p[0], p[1]); int64(got) != want {
							t.Errorf("%s fortran=%t: [%d][%d] = %d, want %d", descr, fortran, p[0], p[1], got, want)
						}
					}
				}
			}
		}
	}
}

func TestReadNPYVersionsAndFlatShape(t *testing.T) {
	want := testTable(t, true)
	data := encode(4, binary.LittleEndian, false, func(x, w int) int64 { return int64(want.At(int32(x), int32(w))) })
	for _, c := range []struct {
		major byte
		dict  string
	}{
		{1, "{'descr': '<i4', 'fortran_order': False, 'shape': (256, 256), }"},
		{2, "{'descr': '<i4', 'fortran_order': False, 'shape': (256, 256), }"},
		{3, `{"descr": "<i4", "shape": (256,256), "fortran_order": False}`},
		{1, "{'descr': '<i4', 'fortran_order': False, 'shape': (65536,), }"},
		{1, "{'descr': '<i4', 'fortran_order': True, 'shape': (65536,), }"}, // 1-D: order is irrelevant
	} {
		got, err := ReadNPY(bytes.NewReader(npyBytes(c.major, c.dict, data)), "t", Both(Signed))
		if err != nil {
			t.Fatalf("v%d %s: %v", c.major, c.dict, err)
		}
		if got.Fingerprint() != want.Fingerprint() || !got.SignedX() || !got.SignedW() {
			t.Errorf("v%d %s: read a different table", c.major, c.dict)
		}
	}
}

func TestWriteNPYMatchesNumPyLayout(t *testing.T) {
	var b bytes.Buffer
	if err := WriteNPY(&b, testTable(t, false)); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	// What numpy.save writes for an int32 (256, 256) array: a 1.0 header padded
	// with spaces to a 64-byte boundary (128 bytes here), then the data.
	dict := "{'descr': '<i4', 'fortran_order': False, 'shape': (256, 256), }"
	header := "\x93NUMPY\x01\x00\x76\x00" + dict + strings.Repeat(" ", 128-10-len(dict)-1) + "\n"
	if string(out[:128]) != header {
		t.Fatalf("header\n%q\nwant\n%q", out[:128], header)
	}
	if len(out) != 128+4*Size {
		t.Fatalf("file is %d bytes, want %d", len(out), 128+4*Size)
	}
	// Entry [2][1] is at element 2*256+1.
	if got := int32(binary.LittleEndian.Uint32(out[128+4*(2*256+1):])); got != 2*1+6-1 {
		t.Errorf("element [2][1] = %d, want 7", got)
	}
}

func TestReadNPYErrors(t *testing.T) {
	okData := make([]byte, 4*Size)
	hdr := func(descr, shape string) string {
		return fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	}
	big := encode(4, binary.LittleEndian, false, func(x, w int) int64 { return 0 })
	binary.LittleEndian.PutUint32(big[4*300:], 1<<31) // u4 value 2^31 does not fit int32
	wide := encode(8, binary.LittleEndian, false, func(x, w int) int64 { return 0 })
	binary.LittleEndian.PutUint64(wide[8*5:], uint64(1)<<40)
	cases := []struct {
		name, file, want string
	}{
		{"empty", "", "preamble"},
		{"magic", "PK\x03\x04 not numpy at all", "magic"},
		{"version", "\x93NUMPY\x04\x00\x10\x00", "version 4.0"},
		{"short header", "\x93NUMPY\x01\x00\x40\x00{'descr'", "truncated inside its 64-byte header"},
		{"shape", string(npyBytes(1, hdr("<i4", "(256, 255)"), okData)), "shape (256, 255)"},
		{"3-d", string(npyBytes(1, hdr("<i4", "(1, 256, 256)"), okData)), "shape (1, 256, 256)"},
		{"scalar", string(npyBytes(1, hdr("<i4", "()"), okData)), "shape ()"},
		{"float", string(npyBytes(1, hdr("<f4", "(256, 256)"), okData)), `dtype "<f4" is not an integer`},
		{"object", string(npyBytes(1, hdr("|O", "(256, 256)"), okData)), "not an integer"},
		{"structured", string(npyBytes(1, "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (256, 256)}", okData)), "not a valid header"},
		{"pipe wide", string(npyBytes(1, hdr("|i4", "(256, 256)"), okData)), "no byte order"},
		{"no shape", string(npyBytes(1, "{'descr': '<i4', 'fortran_order': False}", okData)), "no 'shape'"},
		{"truncated", string(npyBytes(1, hdr("<i4", "(256, 256)"), okData[:1000])), "truncated"},
		{"trailing", string(npyBytes(1, hdr("<i4", "(256, 256)"), append(okData, 0))), "data after"},
		{"u4 range", string(npyBytes(1, hdr("<u4", "(256, 256)"), big)), "value 2147483648 (<u4) is out of the int32 range"},
		{"i8 range", string(npyBytes(1, hdr("<i8", "(256, 256)"), wide)), "element 5: value 1099511627776"},
	}
	for _, c := range cases {
		_, err := ReadNPY(strings.NewReader(c.file), "t", Both(Unsigned))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestBinRoundTripAndErrors(t *testing.T) {
	for _, signed := range []bool{false, true} {
		want := testTable(t, signed)
		if !signed {
			// Unsigned .bin entries are uint16: keep the products non-negative.
			want = ExactTable(Both(Unsigned))
		}
		var b bytes.Buffer
		if err := WriteBin(&b, want); err != nil {
			t.Fatal(err)
		}
		if b.Len() != 2*Size {
			t.Fatalf(".bin is %d bytes, want %d", b.Len(), 2*Size)
		}
		got, err := ReadBin(&b, "t", Both(SignednessOf(signed)))
		if err != nil {
			t.Fatal(err)
		}
		if got.Fingerprint() != want.Fingerprint() {
			t.Errorf("signed=%t: .bin round trip changed the table", signed)
		}
	}
	// Entry [a*256+b]: byte offset 2*(3*256+5) holds [3][5], little-endian.
	data := make([]byte, 2*Size)
	data[2*(3*256+5)], data[2*(3*256+5)+1] = 0x34, 0x12
	tab, err := ReadBin(bytes.NewReader(data), "t", Both(Unsigned))
	if err != nil || tab.At(3, 5) != 0x1234 || tab.At(5, 3) != 0 {
		t.Errorf("entry [3][5] = %d (err %v), want 0x1234 at [3][5] only", tab.At(3, 5), err)
	}
	for _, n := range []int{0, 1, 2*Size - 1, 2*Size + 1} {
		_, err := ReadBin(bytes.NewReader(make([]byte, n)), "t", Both(Unsigned))
		if err == nil || !strings.Contains(err.Error(), "131072 bytes") {
			t.Errorf("%d bytes: error %v, want a size error", n, err)
		}
	}
	if err := WriteBin(&bytes.Buffer{}, testTable(t, false)); err == nil || !strings.Contains(err.Error(), "uint16") {
		// testTable(false) has entry [0][1] = -1.
		t.Errorf("writing a negative unsigned entry: error %v, want a uint16 range error", err)
	}
}

func TestCSVRoundTripAndErrors(t *testing.T) {
	want := testTable(t, true)
	var b bytes.Buffer
	if err := WriteCSV(&b, want); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 256 || !strings.HasPrefix(lines[1], "3,3,3,") {
		t.Fatalf("CSV has %d lines, line 1 starts %.20q; want 256 lines, row 1 = 1*w+3-w = 3", len(lines), lines[1])
	}
	got, err := ReadCSV(&b, "t", Both(Signed))
	if err != nil || got.Fingerprint() != want.Fingerprint() {
		t.Fatalf("CSV round trip: err %v, same table %t", err, err == nil && got.Fingerprint() == want.Fingerprint())
	}
	row := strings.Repeat("1,", 255) + "1\n"
	all := strings.Repeat(row, 256)
	cases := []struct{ name, file, want string }{
		{"rows", strings.Repeat(row, 255), "has 255 rows"},
		{"extra row", all + row, "more than 256 rows"},
		{"fields", strings.Replace(all, row, "1,2\n", 1), "line 1 (row 0 of the table) has 2 fields"},
		{"header", "x,w\n" + all, "has 2 fields; a table has 256 integers per row (a table CSV has no header line"},
		{"semicolons", strings.ReplaceAll(all, ",", ";"), "has 1 field; a table has 256 integers per row (separate the numbers with commas)"},
		{"blank line", row + "\n" + strings.Replace(all[len(row):], "1,", "x,", 1), `line 3 (row 1 of the table), column 0: "x" is not an integer`},
		{"float", strings.Replace(all, "1,", "1.5,", 1), `column 0: "1.5" is not an integer`},
		{"word", strings.Replace(all, "1,", "x,", 1), `"x" is not an integer`},
		{"range", strings.Replace(all, "1,", "3000000000,", 1), "out of the int32 range"},
		{"quote", strings.Replace(all, "1,", "\"1,", 1), "CSV table"},
	}
	for _, c := range cases {
		_, err := ReadCSV(strings.NewReader(c.file), "t", Both(Unsigned))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// Spaces and CRLF line ends are accepted.
	spaced := strings.ReplaceAll(strings.ReplaceAll(all, ",", " , "), "\n", "\r\n")
	if _, err := ReadCSV(strings.NewReader(spaced), "t", Both(Unsigned)); err != nil {
		t.Errorf("spaced CRLF CSV: %v", err)
	}
}

func TestFileRoundTripEveryFormat(t *testing.T) {
	dir := t.TempDir()
	want := testTable(t, true)
	for _, ext := range []string{".npy", ".bin", ".csv", ".NPY"} {
		path := filepath.Join(dir, "mul8s_test"+ext)
		if err := WriteFile(path, want); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path, Both(Signed))
		if err != nil {
			t.Fatal(err)
		}
		if got.Fingerprint() != want.Fingerprint() || got.Name() != "mul8s_test" {
			t.Errorf("%s: read back %v, want %v named mul8s_test", ext, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("directory holds %d files after 4 writes; temporary files left behind?", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "t.txt"), want); err == nil || !strings.Contains(err.Error(), ".npy, .bin or .csv") {
		t.Errorf("unknown extension: error %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.npy"), Both(Unsigned)); err == nil {
		t.Error("reading a missing file gave no error")
	}
	// A failed write leaves any existing file untouched.
	path := filepath.Join(dir, "keep.bin")
	if err := WriteFile(path, ExactTable(Both(Unsigned))); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, testTable(t, false)); err == nil {
		t.Fatal("writing a negative entry to .bin gave no error")
	}
	if got, err := Load(path, Both(Unsigned)); err != nil || !got.IsExact() {
		t.Errorf("failed write damaged the existing file: %v", err)
	}
}

func TestReadEvoApproxTables(t *testing.T) {
	dir := shared.Require(t, "luts", "evoapprox-mul8u")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	if len(paths) == 0 {
		t.Fatalf("no .bin tables in %s", dir)
	}
	exact := 0
	for _, p := range paths {
		tab, err := Load(p, Both(Unsigned))
		if err != nil {
			t.Fatal(err)
		}
		if tab.IsExact() {
			exact++
			if tab.Name() != "mul8u_1JFF" {
				t.Errorf("%s is exact; only mul8u_1JFF should be", tab.Name())
			}
		}
	}
	if exact != 1 {
		t.Errorf("%d exact tables among %d, want 1 (mul8u_1JFF)", exact, len(paths))
	}
}

func BenchmarkReadNPY(b *testing.B) {
	var buf bytes.Buffer
	WriteNPY(&buf, ExactTable(Both(Signed)))
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadNPY(bytes.NewReader(data), "b", Both(Signed)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCSV(b *testing.B) {
	var buf bytes.Buffer
	WriteCSV(&buf, ExactTable(Both(Signed)))
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadCSV(bytes.NewReader(data), "b", Both(Signed)); err != nil {
			b.Fatal(err)
		}
	}
}
