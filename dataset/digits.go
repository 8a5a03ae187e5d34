package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	digitsFile  = "digits.csv"
	digitsTotal = 1797
	digitsTrain = 1437 // first 80% (rounded down); the rest is the test split
	// digitsDebPath is where python3-sklearn installs the file.
	digitsDebPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
)

// DigitsCacheDir is where the install instructions put digits.csv.gz:
// CacheRoot()/digits (e.g. ~/.cache/goapprox/datasets/digits).
func DigitsCacheDir() (string, error) {
	c, err := CacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "digits"), nil
}

func digitsDirs() []string {
	var dirs []string
	if c, err := DigitsCacheDir(); err == nil {
		dirs = append(dirs, c)
	}
	return append(dirs, digitsDebPath)
}

func digitsHint() string {
	dir, err := DigitsCacheDir()
	if err != nil {
		dir = "DIR"
	}
	return fmt.Sprintf("cd \"$(mktemp -d)\" && apt-get download python3-sklearn && mkdir -p %[1]s && "+
		"dpkg-deb --fsys-tarfile python3-sklearn_*.deb | tar -xO ./usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz > %[1]s/digits.csv.gz"+
		"   (or apt-get install -y python3-sklearn)", dir)
}

// loadDigits reads scikit-learn's digits.csv(.gz): 1797 lines of 64 pixel
// values 0..16 and a label 0..9.
func loadDigits(info Info, split Split, dirs []string) (*Dataset, error) {
	path, err := findFile(dirs, digitsFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", info.Name, err)
	}
	raw, err := boundedfile.ReadFile(path, maxDigitsFileBytes, "scikit-learn's digits.csv(.gz)")
	if err != nil {
		return nil, err
	}
	var r io.Reader = bytes.NewReader(raw)
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: bad gzip header: %w", path, err)
		}
		// A small archive may expand to anything: stop where no digits
		// file can reach.
		plain, err := io.ReadAll(io.LimitReader(zr, maxDigitsFileBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(plain) > maxDigitsFileBytes {
			return nil, fmt.Errorf("%s: decompresses to more than %d bytes, more than scikit-learn's digits.csv can be; wrong file?", path, maxDigitsFileBytes)
		}
		r = bytes.NewReader(plain)
	}
	all, err := parseDigits(r, info)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	lo, hi := 0, digitsTrain
	if split == Test {
		lo, hi = digitsTrain, digitsTotal
	}
	s := all.SampleSize()
	all.Images = all.Images[lo*s : hi*s : hi*s]
	all.Labels = all.Labels[lo:hi:hi]
	all.Name = info.Name + "/" + string(split)
	return all, nil
}

func parseDigits(r io.Reader, info Info) (*Dataset, error) {
	const pixels = 64
	d := &Dataset{C: 1, H: 8, W: 8, Classes: info.Classes,
		Images: make([]float32, 0, digitsTotal*pixels), Labels: make([]int, 0, digitsTotal)}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != pixels+1 {
			return nil, fmt.Errorf("line %d: %d fields, expected %d pixels and a label", line, len(fields), pixels)
		}
		for i, f := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v != float64(int(v)) {
				return nil, fmt.Errorf("line %d field %d: %q is not an integer", line, i+1, f)
			}
			if i < pixels {
				if v < 0 || v > 16 {
					return nil, fmt.Errorf("line %d field %d: pixel %v outside 0..16", line, i+1, v)
				}
				d.Images = append(d.Images, float32(v)/16)
			} else {
				if v < 0 || int(v) >= info.Classes {
					return nil, fmt.Errorf("line %d: label %v outside 0..%d", line, v, info.Classes-1)
				}
				d.Labels = append(d.Labels, int(v))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("after line %d: %w", line, err)
	}
	if d.Len() != digitsTotal {
		return nil, fmt.Errorf("%d samples, expected %d (file truncated?)", d.Len(), digitsTotal)
	}
	return d, nil
}
