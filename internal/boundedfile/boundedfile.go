package boundedfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Open opens a regular file of at most limit bytes and returns it with its
// size. what names what the file should be ("a CIFAR-10 batch file"), for
// the messages. Errors from opening the file are returned unwrapped, so
// errors.Is(err, fs.ErrNotExist) works.
func Open(path string, limit int64, what string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file (%v); expected %s", path, st.Mode().Type(), what)
	}
	if st.Size() > limit {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %d bytes is larger than %s can be (at most %d bytes): wrong file? refused without reading it",
			path, st.Size(), what, limit)
	}
	return f, st.Size(), nil
}

// ReadFile reads a whole regular file of at most limit bytes (see Open).
func ReadFile(path string, limit int64, what string) ([]byte, error) {
	f, size, err := Open(path, limit, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	buf.Grow(int(size) + 1)
	// One byte past the limit shows a file that grew after Stat.
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%s: grew past %d bytes while being read; expected %s", path, limit, what)
	}
	return buf.Bytes(), nil
}

// ReadJSON reads a JSON file of at most limit bytes (see Open) into v,
// refusing fields v does not have: a file of another kind or version is
// named as such instead of being read in half. what names the file ("a
// search.json of train search"); a file that does not decode is an error
// saying "PATH is not WHAT: why".
func ReadJSON(path string, limit int64, what string, v any) error {
	data, err := ReadFile(path, limit, what)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s is not %s: %w", path, what, err)
	}
	return nil
}
