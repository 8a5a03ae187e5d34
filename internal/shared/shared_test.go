package shared

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestOperatorsDirHonoursEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(GoldenDirEnv, dir)
	if got, err := OperatorsDir(); err != nil || got != dir {
		t.Errorf("OperatorsDir() = %q, %v; want %q", got, err, dir)
	}
	missing := filepath.Join(dir, "missing")
	t.Setenv(GoldenDirEnv, missing)
	_, err := OperatorsDir()
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), GoldenDirEnv) {
		t.Errorf("OperatorsDir() with a missing $%s: error %v, want one naming the folder and the variable", GoldenDirEnv, err)
	}
}

func TestDirIsBesideTheModuleRoot(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Skip(err)
	}
	// From internal/shared the module root is two levels up.
	want, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if dir != want {
		t.Errorf("Dir() = %q, want %q", dir, want)
	}
}

func TestRequireSkipsWhatIsMissing(t *testing.T) {
	if _, err := Dir(); err != nil {
		t.Skip(err)
	}
	_, err := path("no such folder")
	if err == nil || !strings.Contains(err.Error(), "no such folder is absent") || !strings.Contains(err.Error(), "../shared") {
		t.Errorf("error %v, want one naming the missing path and saying how to provide ../shared", err)
	}
	skipped := false
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t, "no such folder")
		t.Error("Require returned for a missing path")
	})
	if !skipped {
		t.Error("Require did not skip the test for a missing path")
	}
}
