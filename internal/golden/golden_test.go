package golden

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// npyBytes builds an .npy file by hand: magic, version, header length,
// the header dict padded to a 16-byte boundary, then data.
func npyBytes(version byte, header string, data []byte) []byte {
	pre := 10
	if version > 1 {
		pre = 12
	}
	for (pre+len(header)+1)%16 != 0 {
		header += " "
	}
	header += "\n"
	b := append([]byte("\x93NUMPY"), version, 0)
	if version > 1 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	}
	return append(append(b, header...), data...)
}

func le32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadNPYFloat32AndInt32(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f.npy")
	write(t, f, npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
		le32(math.Float32bits(1), math.Float32bits(-2.5), 0, math.Float32bits(0.125), math.Float32bits(3e-7), math.Float32bits(-0))))
	a, err := ReadNPY(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{2, 3}) || !slices.Equal(a.Float32, []float32{1, -2.5, 0, 0.125, 3e-7, 0}) || a.Int32 != nil {
		t.Errorf("float32 array: %+v", a)
	}

	i := filepath.Join(dir, "i.npy")
	// Version 2 header, a 1-d shape written "(3,)", negative values.
	write(t, i, npyBytes(2, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", le32(7, 0xFFFFFFFF, 0x80000000)))
	a, err = ReadNPY(i)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{3}) || !slices.Equal(a.Int32, []int32{7, -1, math.MinInt32}) || a.Float32 != nil {
		t.Errorf("int32 array: %+v", a)
	}
}

func TestReadNPYErrors(t *testing.T) {
	good := "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }"
	full := npyBytes(1, good, le32(1, 2))
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "not an .npy file"},
		{"wrong magic", append([]byte("\x93NUMPX"), full[6:]...), "not an .npy file"},
		{"version 9", npyBytes(9, good, le32(1, 2)), "version 9.0 is not supported"},
		{"truncated header", full[:20], "truncated"},
		{"no shape", npyBytes(1, "{'descr': '<i4', 'fortran_order': False, }", le32(1, 2)), "no 'shape'"},
		{"fortran order", npyBytes(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2,), }", le32(1, 2)), "Fortran order"},
		{"float64", npyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", le32(1, 2, 3, 4)), `dtype "<f8"`},
		{"big-endian", npyBytes(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", le32(1, 2)), `dtype ">i4"`},
		{"bad shape", npyBytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, x), }", le32(1, 2)), "in the shape tuple"},
		{"short data", full[:len(full)-1], "7 data bytes for shape [2], want 8"},
		{"extra data", append(full, 0, 0, 0, 0), "12 data bytes for shape [2], want 8"},
		{"huge shape", npyBytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", le32(1, 2)), "needs more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.npy")
			write(t, path, c.file)
			_, err := ReadNPY(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming the file and containing %q", err, c.want)
			}
		})
	}
	if _, err := ReadNPY(filepath.Join(t.TempDir(), "missing.npy")); !os.IsNotExist(err) {
		t.Errorf("missing file: error %v, want not-exist", err)
	}
}

func ptr(v int32) *int32 { return &v }

// TestParamsCodeRanges pins the default code-range rule and the keys that
// override it.
func TestParamsCodeRanges(t *testing.T) {
	base := Meta{XScale: 0.5, WScale: []float32{0.25}, WZeroPoint: []int32{0}}
	for _, c := range []struct {
		name                   string
		edit                   func(*Meta)
		xmin, xmax, wmin, wmax int32
	}{
		{"zero point 0: signed activations", func(m *Meta) {}, -128, 127, -128, 127},
		{"zero point 37: TorchApprox's unsigned 0..127", func(m *Meta) { m.XZeroPoint = 37 }, 0, 127, -128, 127},
		{"explicit keys override", func(m *Meta) {
			m.XZeroPoint = 37
			m.XQuantMin, m.XQuantMax, m.WQuantMin, m.WQuantMax = ptr(0), ptr(255), ptr(-127), ptr(127)
		}, 0, 255, -127, 127},
	} {
		m := base
		c.edit(&m)
		x, w := m.Params(0)
		if x.QMin != c.xmin || x.QMax != c.xmax || w.QMin != c.wmin || w.QMax != c.wmax {
			t.Errorf("%s: x %d..%d, w %d..%d; want x %d..%d, w %d..%d", c.name,
				x.QMin, x.QMax, w.QMin, w.QMax, c.xmin, c.xmax, c.wmin, c.wmax)
		}
		if x.Axis != -1 || w.Axis != -1 || x.ZeroPoint[0] != m.XZeroPoint || x.Scale[0] != 0.5 || w.Scale[0] != 0.25 {
			t.Errorf("%s: per-tensor parameters %+v, %+v", c.name, x, w)
		}
	}
	m := Meta{XScale: 1, WScale: []float32{1, 2}, WZeroPoint: []int32{3, -4}, WPerChannel: true}
	if _, w := m.Params(1); w.Axis != 1 || !slices.Equal(w.Scale, []float32{1, 2}) || !slices.Equal(w.ZeroPoint, []int32{3, -4}) {
		t.Errorf("per-channel weights along axis 1: %+v", w)
	}
}

// writeCase writes a linear case folder whose arrays are tagged by value
// (x holds 1, w holds 2, ...) so that a mixed-up name shows.
func writeCase(t *testing.T, dir, meta string, torchapproxY bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "meta.json"), []byte(meta))
	f4 := func(v float32) []byte {
		return npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", le32(math.Float32bits(v)))
	}
	names := []string{"x", "w", "grad_out", "y", "grad_x", "grad_w"}
	if torchapproxY {
		names = append(names, "torchapprox_y")
	}
	for i, n := range names {
		write(t, filepath.Join(dir, n+".npy"), f4(float32(i+1)))
	}
	write(t, filepath.Join(dir, "acc.npy"), npyBytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }", le32(42)))
}

const linearMeta = `{"kind": "linear", "x_scale": 0.5, "x_zero_point": 3, "w_scale": [0.25], "w_zero_point": [0],
	"w_per_channel": false, "x_quant_max": 100, "expected_from": "torchapprox"}`

func TestLoadAndCases(t *testing.T) {
	root := t.TempDir()
	writeCase(t, filepath.Join(root, "case1"), linearMeta, true)
	writeCase(t, filepath.Join(root, "case0"), linearMeta, false)
	write(t, filepath.Join(root, "lut.npy"), []byte("not a case"))

	cases, err := Cases(root)
	if err != nil || !slices.Equal(cases, []string{filepath.Join(root, "case0"), filepath.Join(root, "case1")}) {
		t.Fatalf("Cases = %v, %v; want case0, case1", cases, err)
	}
	c0, err := Load(cases[0])
	if err != nil {
		t.Fatal(err)
	}
	got := []float32{c0.X.Float32[0], c0.W.Float32[0], c0.GradOut.Float32[0], c0.Y.Float32[0], c0.GradX.Float32[0], c0.GradW.Float32[0]}
	if !slices.Equal(got, []float32{1, 2, 3, 4, 5, 6}) || c0.Acc.Int32[0] != 42 || c0.TorchApproxY != nil {
		t.Errorf("case0 arrays: %v, acc %v, torchapprox_y %v", got, c0.Acc.Int32, c0.TorchApproxY)
	}
	m := c0.Meta
	if c0.Name != "case0" || m.Kind != "linear" || m.XZeroPoint != 3 || m.XQuantMax == nil || *m.XQuantMax != 100 ||
		m.XQuantMin != nil || m.ExpectedFrom != "torchapprox" {
		t.Errorf("case0 meta: %+v", m)
	}
	c1, err := Load(cases[1])
	if err != nil {
		t.Fatal(err)
	}
	if c1.TorchApproxY == nil || c1.TorchApproxY.Float32[0] != 7 {
		t.Errorf("case1 torchapprox_y: %+v, want [7]", c1.TorchApproxY)
	}

	if _, err := Cases(filepath.Join(root, "case0")); err == nil || !strings.Contains(err.Error(), "no case folders") {
		t.Errorf("Cases of a folder without cases: error %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name, meta, want string
		edit             func(dir string)
	}{
		{"bad json", `{"kind": `, "meta.json", nil},
		{"unknown kind", `{"kind": "matmul", "w_scale": [1], "w_zero_point": [0]}`, `kind "matmul"`, nil},
		{"no weight scale", `{"kind": "linear"}`, "w_scale", nil},
		{"conv without geometry", `{"kind": "conv2d", "w_scale": [1], "w_zero_point": [0]}`, "stride, padding and dilation", nil},
		{"missing array", linearMeta, "grad_w.npy", func(dir string) { os.Remove(filepath.Join(dir, "grad_w.npy")) }},
		{"int32 where float32 belongs", linearMeta, "holds int32, want float32", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "acc.npy"))
			os.WriteFile(filepath.Join(dir, "y.npy"), b, 0o644)
		}},
		{"float32 acc", linearMeta, "holds float32, want int32", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "x.npy"))
			os.WriteFile(filepath.Join(dir, "acc.npy"), b, 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "case")
			writeCase(t, dir, c.meta, false)
			if c.edit != nil {
				c.edit(dir)
			}
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestReadLUT(t *testing.T) {
	dir := t.TempDir()
	entries := make([]uint32, 65536)
	for i := range entries {
		entries[i] = uint32(int32(i%256-128) * int32(i/256)) // any pattern that pins row-major order
	}
	write(t, filepath.Join(dir, "lut.npy"), npyBytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (256, 256), }", le32(entries...)))
	got, err := ReadLUT(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 255, 256, 65535} {
		if want := int32(i%256-128) * int32(i/256); got[i] != want {
			t.Errorf("entry %d = %d, want %d", i, got[i], want)
		}
	}
	write(t, filepath.Join(dir, "lut.npy"), npyBytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (65536,), }", le32(entries...)))
	if _, err := ReadLUT(dir); err == nil || !strings.Contains(err.Error(), fmt.Sprint([]int{65536})) {
		t.Errorf("flat table: error %v, want one about the shape", err)
	}
}
