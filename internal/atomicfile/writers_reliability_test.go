package atomicfile

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoOtherWriter parses every non-test Go file of the module and fails
// on a call that creates or writes a file directly (os.WriteFile,
// os.Create, os.OpenFile): a file a user made must be written through
// WriteFile so that a crash cannot leave half of it.
func TestNoOtherWriter(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{"WriteFile": true, "Create": true, "OpenFile": true}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if filepath.Dir(path) == filepath.Join(root, "internal", "atomicfile") {
			return nil
		}
		// runlock opens its lock file read-write for flock (NFS grants an
		// exclusive flock only on a file open for writing); it holds no data
		// anyone needs, only the holder's PID, and a torn one is read as none.
		if filepath.Dir(path) == filepath.Join(root, "internal", "runlock") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		osName := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"os"` {
				osName = "os"
				if imp.Name != nil {
					osName = imp.Name.Name
				}
			}
		}
		if osName == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == osName && banned[sel.Sel.Name] {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s calls os.%s: write files through internal/atomicfile.WriteFile", rel, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("checked only %d files: is %s the module root?", files, root)
	}
}
