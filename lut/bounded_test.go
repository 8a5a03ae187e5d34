package lut

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/internal/shared"
)

// TestLoadRefusesHugeFileBySize: a sparse file of 1 TiB in each format is
// refused from its size, the message giving the size and the format's
// limit. Reading it would take minutes; a read through a bounded reader
// would stop at the limit with a message that cannot know the size.
func TestLoadRefusesHugeFileBySize(t *testing.T) {
	const huge = 1 << 40
	dir := t.TempDir()
	for _, f := range []Format{NPY, Bin, CSV} {
		path := filepath.Join(dir, "big"+string(f))
		if err := WriteFile(path, ExactTable(Both(Unsigned))); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, huge); err != nil {
			t.Skipf("cannot make a sparse file here: %v", err)
		}
		_, err := Load(path, Both(Unsigned))
		want := fmt.Sprintf("%s is %d bytes, more than the %d bytes a %s table can take", path, int64(huge), f.MaxBytes(), f)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", f, err, want)
		}
	}
}

// TestFormatLimits: the largest table file each reader can meet fits its
// format's limit, and one byte more of data than a table holds is refused.
func TestFormatLimits(t *testing.T) {
	wide := encode(8, binary.LittleEndian, false, func(x, w int) int64 { return 0 })
	dict := "{'descr': '<i8', 'fortran_order': False, 'shape': (256, 256), }" + strings.Repeat(" ", 60000)
	widest := npyBytes(2, dict, wide)
	if int64(len(widest)) > NPY.MaxBytes() {
		t.Errorf("an i8 table with a 60 kB header is %d bytes, over the .npy limit %d", len(widest), NPY.MaxBytes())
	}
	if _, err := ReadNPY(bytes.NewReader(widest), "t", Both(Unsigned)); err != nil {
		t.Errorf("i8 table with a long header: %v", err)
	}
	var csv bytes.Buffer
	if err := WriteCSV(&csv, mustTabulate(t, func(x, w int) int { return -2147483648 })); err != nil {
		t.Fatal(err)
	}
	if int64(csv.Len())*4 > CSV.MaxBytes() {
		t.Errorf("the longest plain CSV table, %d bytes, leaves less than 4x room under the limit %d", csv.Len(), CSV.MaxBytes())
	}
	if Bin.MaxBytes() != 2*Size || Format(".txt").MaxBytes() != 0 {
		t.Errorf("limits: .bin %d, .txt %d", Bin.MaxBytes(), Format(".txt").MaxBytes())
	}
}

func mustTabulate(t *testing.T, f func(x, w int) int) *Table {
	t.Helper()
	tab, err := Tabulate("t", Both(Signed), f)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// endless is a stream that never ends, as a device or a pipe may be: the
// readers must stop on their own.
type endless struct {
	prefix []byte
	fill   byte
	read   int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.prefix)
	e.prefix = e.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = e.fill
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestReadersStopOnEndlessStreams(t *testing.T) {
	var table bytes.Buffer
	if err := WriteNPY(&table, ExactTable(Both(Unsigned))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		read func(io.Reader) error
		src  *endless
		want string
	}{
		{"npy", func(r io.Reader) error { _, err := ReadNPY(r, "t", Both(Unsigned)); return err },
			&endless{prefix: table.Bytes()}, "data after"},
		{"bin", func(r io.Reader) error { _, err := ReadBin(r, "t", Both(Unsigned)); return err },
			&endless{}, "too long"},
		{"csv one endless field", func(r io.Reader) error { _, err := ReadCSV(r, "t", Both(Unsigned)); return err },
			&endless{fill: '1'}, "longer than 8388608 bytes"},
		{"csv endless rows", func(r io.Reader) error { _, err := ReadCSV(r, "t", Both(Unsigned)); return err },
			&endless{fill: '\n'}, "CSV"},
	} {
		err := c.read(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if c.src.read > CSV.MaxBytes()+1<<16 {
			t.Errorf("%s: read %d bytes of an endless stream", c.name, c.src.read)
		}
	}
}

// TestCheckSignsWrappedBin: a signed table stored in .bin (16-bit two's
// complement) and read as unsigned has no entry of the wrong sign, every
// entry reading as a positive uint16; CheckSigns names it by its negative
// products read as 32768..65535 and the signed reading they fit.
func TestCheckSignsWrappedBin(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		spec  string
		signs Signs
		f     func(x, w int) int
	}{
		{"signed", Both(Signed), func(x, w int) int { return x * w }},
		{"coarse signed", Both(Signed), func(x, w int) int { return x * w / 1024 * 1024 }}, // small products 0
		{"unsigned x signed w", Signs{X: Unsigned, W: Signed}, func(x, w int) int { return x*w + x&3 }},
	} {
		tab, err := Tabulate(c.spec, c.signs, c.f)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "t.bin")
		if err := WriteFile(path, tab); err != nil {
			t.Fatal(err)
		}
		read, err := Load(path, Both(Unsigned))
		if err != nil {
			t.Fatal(err)
		}
		var se *SignError
		if err := CheckSigns(read); !errors.As(err, &se) || !se.Wrapped || se.Fits != c.signs || se.Signs != Both(Unsigned) {
			t.Errorf("%s table read as unsigned: %v, want a wrapped SignError fitting %v", c.spec, err, c.signs)
			continue
		}
		if !strings.Contains(se.Error(), "16-bit two's complement negatives, products of "+c.signs.String()+" operands") {
			t.Errorf("%s: message %q", c.spec, se.Error())
		}
		if right, err := Load(path, Both(Signed)); err != nil || right.Fingerprint() != tab.Fingerprint() {
			t.Errorf("%s: read as signed: %v", c.spec, err)
		}
	}
	// Unsigned tables, exact or far off, are not taken for wrapped ones.
	for _, f := range []func(x, w int) int{
		func(x, w int) int { return x * w },
		func(x, w int) int { return min(x*w+40000, 65535) },
		func(x, w int) int { return 0 },
	} {
		tab, err := Tabulate("u", Both(Unsigned), f)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSigns(tab); err != nil {
			t.Errorf("unsigned table: %v", err)
		}
	}
}

func TestCheckSignsEvoApproxTables(t *testing.T) {
	dir := shared.Require(t, "luts", "evoapprox-mul8u")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	for _, p := range paths {
		tab, err := Load(p, Both(Unsigned))
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSigns(tab); err != nil {
			t.Errorf("%s, an unsigned table read as unsigned: %v", tab.Name(), err)
		}
	}
}
