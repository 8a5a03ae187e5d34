package ckptfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type doc struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
}

var format = Format{Magic: "test-checkpoint", Version: 2, MinVersion: 1, Name: "test checkpoint", FinalNewline: true}

// file builds a file by hand, as the format documents it.
func file(magic string, version int, payload string, newline bool) []byte {
	sum := sha256.Sum256([]byte(payload))
	s := fmt.Sprintf("%s %d\nsha256 %s\n%s", magic, version, hex.EncodeToString(sum[:]), payload)
	if newline {
		s += "\n"
	}
	return []byte(s)
}

// TestEncodeIsTheDocumentedLayout checks the bytes written against a file
// put together by hand, with and without the final newline.
func TestEncodeIsTheDocumentedLayout(t *testing.T) {
	for _, nl := range []bool{true, false} {
		f := format
		f.FinalNewline = nl
		got, err := f.Encode(doc{A: 3, B: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if want := file("test-checkpoint", 2, `{"a":3,"b":"x"}`, nl); !bytes.Equal(got, want) {
			t.Errorf("newline %v: wrote\n%q\nwant\n%q", nl, got, want)
		}
	}
}

// TestDecode reads valid files of every version read, with and without the
// final newline, and refuses each kind of damage with a message saying
// what is wrong.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string // error; "" to accept
		ver  int
	}{
		{"version 2", file("test-checkpoint", 2, `{"a":7}`, true), "", 2},
		{"version 1", file("test-checkpoint", 1, `{"a":7}`, true), "", 1},
		{"no final newline", file("test-checkpoint", 2, `{"a":7}`, false), "", 2},
		{"empty", nil, "not a test checkpoint: the header line is missing", 0},
		{"other magic", file("other", 2, `{"a":7}`, true), `not a test checkpoint: the file starts with "other 2"`, 0},
		{"version 3", file("test-checkpoint", 3, `{"a":7}`, true), "version 3; this program reads versions 1 to 2", 0},
		{"version 0", file("test-checkpoint", 0, `{"a":7}`, true), "reads versions 1 to 2", 0},
		{"bad version", []byte("test-checkpoint x\n"), "bad version", 0},
		{"no digest", []byte("test-checkpoint 2\n"), "digest line is missing", 0},
		{"bad digest line", []byte("test-checkpoint 2\nmd5 00\n{}"), "not a sha256 digest", 0},
		{"short digest", []byte("test-checkpoint 2\nsha256 00\n{}"), "not a sha256 digest", 0},
		{"truncated", file("test-checkpoint", 2, `{"a":7}`, true)[:90], "truncated or corrupt", 0},
		{"flipped", bytes.Replace(file("test-checkpoint", 2, `{"a":7}`, true), []byte("7"), []byte("8"), 1), "truncated or corrupt", 0},
		{"unknown field", file("test-checkpoint", 2, `{"a":7,"c":1}`, true), `unknown field "c"`, 0},
		{"not json", file("test-checkpoint", 2, `{"a":`, true), "decoding the test checkpoint", 0},
		{"two documents", file("test-checkpoint", 2, `{"a":7} {"a":8}`, true), "data after the payload", 0},
	} {
		var d doc
		v, err := format.Decode(bytes.NewReader(tc.data), &d)
		if tc.want == "" {
			if err != nil || v != tc.ver || d.A != 7 {
				t.Errorf("%s: version %d, %+v, %v; want version %d, a 7", tc.name, v, d, err, tc.ver)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	var d doc
	_, err := format.Decode(bytes.NewReader(bytes.Replace(file("test-checkpoint", 2, `{"a":7}`, true), []byte("7"), []byte("8"), 1)), &d)
	if !errors.Is(err, ErrDigest) {
		t.Errorf("a damaged payload: %v is not ErrDigest", err)
	}
}

// TestSizeLimit checks that Decode reads no further than the limit and
// that ReadFile refuses a file over it by its size, without reading it: a
// sparse file of 1 GiB is refused at once.
func TestSizeLimit(t *testing.T) {
	f := format
	ok := file("test-checkpoint", 2, `{"a":7}`, true)
	f.MaxSize = int64(len(ok))
	var d doc
	if _, err := f.Decode(bytes.NewReader(ok), &d); err != nil {
		t.Fatalf("a file of exactly the limit: %v", err)
	}
	f.MaxSize = int64(len(ok)) - 1
	if _, err := f.Decode(bytes.NewReader(ok), &d); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file one byte over the limit: error %v", err)
	}
	// An endless stream stops at the limit.
	if _, err := f.Decode(endless{}, &d); err == nil {
		t.Fatal("an endless stream decoded")
	}

	path := filepath.Join(t.TempDir(), "big.ckpt")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(1 << 30); err != nil {
		t.Skip("no sparse files here:", err)
	}
	fh.Close()
	f.MaxSize = 1 << 20
	if _, err := f.ReadFile(path, &d); err == nil || !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), path) {
		t.Fatalf("a 1 GiB file: error %v, want one naming the file and its size", err)
	}
}

// endless is a reader of a valid header followed by spaces forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	copy(p, "test-checkpoint 2\nsha256 "+strings.Repeat("0", 64)+"\n")
	return len(p), nil
}

// TestWriteFileReadFile round-trips a value through a file.
func TestWriteFileReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ckpt")
	if err := format.WriteFile(path, doc{A: 42, B: "y"}); err != nil {
		t.Fatal(err)
	}
	var d doc
	v, err := format.ReadFile(path, &d)
	if err != nil || v != 2 || d != (doc{A: 42, B: "y"}) {
		t.Fatalf("read back version %d, %+v, %v", v, d, err)
	}
	if _, err := format.ReadFile(filepath.Join(t.TempDir(), "missing"), &d); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}
