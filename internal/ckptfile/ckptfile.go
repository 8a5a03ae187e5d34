package ckptfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
)

// DefaultMaxSize is the largest file a Format without MaxSize reads.
const DefaultMaxSize = 1 << 31

// ErrDigest is the error (wrapped) of a file whose payload does not match
// its digest: truncated or damaged.
var ErrDigest = errors.New("its content does not match its sha256 digest")

// Format describes one kind of checkpoint file.
type Format struct {
	// Magic is the header line's first word.
	Magic string
	// Version is the version written; MinVersion the oldest one read (0:
	// only Version).
	Version, MinVersion int
	// Name is what errors call the file ("training checkpoint").
	Name string
	// MaxSize is the largest file read, in bytes (0: DefaultMaxSize).
	MaxSize int64
	// FinalNewline ends the file with a newline after the payload.
	// Reading accepts files with and without one.
	FinalNewline bool
}

func (f Format) maxSize() int64 {
	if f.MaxSize > 0 {
		return f.MaxSize
	}
	return DefaultMaxSize
}

func (f Format) minVersion() int {
	if f.MinVersion > 0 {
		return f.MinVersion
	}
	return f.Version
}

// Encode returns the file holding v as its JSON payload.
func (f Format) Encode(v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s: %w", f.Name, err)
	}
	sum := sha256.Sum256(payload)
	var b bytes.Buffer
	b.Grow(len(payload) + len(f.Magic) + 100)
	fmt.Fprintf(&b, "%s %d\nsha256 %s\n", f.Magic, f.Version, hex.EncodeToString(sum[:]))
	b.Write(payload)
	if f.FinalNewline {
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// Write writes the file holding v to w.
func (f Format) Write(w io.Writer, v any) error {
	data, err := f.Encode(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// WriteFile writes the file holding v to path atomically: a reader (or a
// run resumed after a crash) sees the old file or the new one, never half
// of one.
func (f Format) WriteFile(path string, v any) error {
	data, err := f.Encode(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data)
}

// ReadFile reads the file at path into v and returns its version. A file
// larger than the size limit is refused before it is read.
func (f Format) ReadFile(path string, v any) (version int, err error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	if fi, err := file.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > f.maxSize() {
		return 0, fmt.Errorf("%s: %d bytes is larger than a %s can be (%d bytes): not a %s, or a damaged one",
			path, fi.Size(), f.Name, f.maxSize(), f.Name)
	}
	version, err = f.Decode(file, v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return version, nil
}

// Decode reads a file from r into v and returns its version. It reads at
// most the size limit, checks the header, the version and the digest, and
// refuses payload fields v does not have. On an error v may be partly
// filled: decode into a fresh value.
func (f Format) Decode(r io.Reader, v any) (version int, err error) {
	limit := f.maxSize()
	br := bufio.NewReader(io.LimitReader(r, limit+1))
	header, err := br.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("not a %s: the header line is missing or truncated", f.Name)
	}
	word, num, ok := strings.Cut(strings.TrimSuffix(header, "\n"), " ")
	if !ok || word != f.Magic {
		return 0, fmt.Errorf("not a %s: the file starts with %q, want %q", f.Name, clip(header), f.Magic)
	}
	if version, err = strconv.Atoi(num); err != nil {
		return 0, fmt.Errorf("not a %s: bad version in the header line %q", f.Name, clip(header))
	}
	if lo := f.minVersion(); version < lo || version > f.Version {
		if lo == f.Version {
			return 0, fmt.Errorf("%s version %d; this program reads version %d", f.Name, version, f.Version)
		}
		return 0, fmt.Errorf("%s version %d; this program reads versions %d to %d", f.Name, version, lo, f.Version)
	}
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("%s truncated: the digest line is missing", f.Name)
	}
	digest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "sha256 ")
	if !ok || len(digest) != 2*sha256.Size {
		return 0, fmt.Errorf("%s is corrupt: the second line %q is not a sha256 digest", f.Name, clip(line))
	}
	payload, err := io.ReadAll(br)
	if err != nil {
		return 0, fmt.Errorf("reading the %s: %w", f.Name, err)
	}
	if int64(len(header)+len(line)+len(payload)) > limit {
		return 0, fmt.Errorf("the %s is larger than %d bytes: not a %s, or a damaged one", f.Name, limit, f.Name)
	}
	payload = bytes.TrimSuffix(payload, []byte("\n"))
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != digest {
		return 0, fmt.Errorf("%s is truncated or corrupt: %w", f.Name, ErrDigest)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return 0, fmt.Errorf("decoding the %s: %w", f.Name, err)
	}
	if dec.More() {
		return 0, fmt.Errorf("decoding the %s: data after the payload", f.Name)
	}
	return version, nil
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
