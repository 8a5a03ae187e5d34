package shared

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// GoldenDirEnv names the environment variable that, when set, replaces
// ../shared/reference/operators as the folder of golden operator cases.
const GoldenDirEnv = "GOAPPROX_GOLDEN_DIR"

const howToProvide = "check out the shared folder beside the repository (as ../shared from the directory of go.mod)"

// Dir returns the shared folder: the module root's sibling named "shared".
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory, so no ../shared beside the module")
		}
		dir = parent
	}
	return existing(filepath.Join(filepath.Dir(dir), "shared"), howToProvide)
}

// LUTs returns the folder of EvoApproxLib mul8u tables (.bin files).
func LUTs() (string, error) { return path("luts", "evoapprox-mul8u") }

// OperatorsDir returns the folder of golden operator cases: $GOAPPROX_GOLDEN_DIR
// when set, else ../shared/reference/operators.
func OperatorsDir() (string, error) {
	if dir := os.Getenv(GoldenDirEnv); dir != "" {
		return existing(dir, "it is what $"+GoldenDirEnv+" names; unset it to use ../shared")
	}
	dir, err := path("reference", "operators")
	if err != nil {
		return "", fmt.Errorf("%w, or set %s to a folder of operator cases", err, GoldenDirEnv)
	}
	return dir, nil
}

// Require returns ../shared/sub..., or skips the test, saying what is
// missing and how to provide it.
func Require(t testing.TB, sub ...string) string {
	t.Helper()
	p, err := path(sub...)
	if err != nil {
		t.Skip(err)
	}
	return p
}

// RequireLUT returns the path of the EvoApproxLib table name (such as
// "mul8u_1JFF"), or skips the test.
func RequireLUT(t testing.TB, name string) string {
	t.Helper()
	return Require(t, "luts", "evoapprox-mul8u", name+".bin")
}

// RequireOperators returns OperatorsDir, or skips the test.
func RequireOperators(t testing.TB) string {
	t.Helper()
	dir, err := OperatorsDir()
	if err != nil {
		t.Skip(err)
	}
	return dir
}

// path joins sub onto the shared folder and checks that the result exists.
func path(sub ...string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	return existing(filepath.Join(append([]string{dir}, sub...)...), howToProvide)
}

// existing returns p if it exists, else an error saying so and what to do.
func existing(p, what string) (string, error) {
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is absent: %s", p, what)
	}
	return p, nil
}
