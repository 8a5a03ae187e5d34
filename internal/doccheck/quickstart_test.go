package doccheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// programMarker is the HTML comment (invisible when the Markdown is
// rendered) that docs/quickstart.md puts on the line before each ```go
// block belonging to the complete program. The marked blocks, in order,
// form one file of package main.
const programMarker = "<!-- quickstart program -->"

// TestQuickstartProgramCompiles type-checks (go vet) the complete program of
// docs/quickstart.md against this module.
func TestQuickstartProgramCompiles(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH; it is needed to compile the program of docs/quickstart.md")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "quickstart.md"))
	if err != nil {
		t.Fatalf("reading the quickstart: %v", err)
	}
	src, err := markedBlocks(doc, programMarker)
	if err != nil {
		t.Fatalf("docs/quickstart.md: %v", err)
	}

	// The program must live inside the module to import it without a
	// replace directive; a leading underscore keeps the directory out of
	// ./... patterns run meanwhile.
	dir, err := os.MkdirTemp(filepath.Join(root, "internal", "doccheck"), "_quickstart")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool, "vet", "./"+filepath.ToSlash(rel))
	cmd.Dir = root
	// Offline: everything the program imports is a dependency of the
	// module, already in the module cache; the module's go.mod and go.sum
	// decide the versions.
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the complete program of docs/quickstart.md (the ```go blocks marked %s) does not compile; if the module itself builds, update the doc:\n%s\nprogram:\n%s",
			programMarker, out, numbered(src))
	}
}

// TestMarkedBlocks checks the extraction on a hand-written document.
func TestMarkedBlocks(t *testing.T) {
	doc := "# T\n\n```go\nskipped()\n```\n\n" + programMarker + "\n```go\npackage main\n```\ntext\n" +
		programMarker + "\n\n```go\nfunc main() {}\n```\n"
	got, err := markedBlocks([]byte(doc), programMarker)
	if err != nil {
		t.Fatal(err)
	}
	if want := "package main\n\nfunc main() {}\n"; string(got) != want {
		t.Errorf("extracted %q, want %q", got, want)
	}
	for _, bad := range []string{
		"no marker\n```go\nx\n```\n",
		programMarker + "\ntext, not a block\n",
		programMarker + "\n```go\nunterminated\n",
	} {
		if _, err := markedBlocks([]byte(bad), programMarker); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// markedBlocks returns the contents of the ```go blocks that follow a line
// holding marker (blank lines between are allowed), joined by blank lines.
func markedBlocks(doc []byte, marker string) ([]byte, error) {
	var out bytes.Buffer
	blocks := 0
	sc := bufio.NewScanner(bytes.NewReader(doc))
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) != marker {
			continue
		}
		markLine := line
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) != "" {
				break
			}
		}
		if strings.TrimSpace(sc.Text()) != "```go" {
			return nil, fmt.Errorf("line %d: the marker %s must be followed by a ```go block", markLine, marker)
		}
		if blocks > 0 {
			out.WriteByte('\n')
		}
		closed := false
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "```" {
				closed = true
				break
			}
			out.WriteString(sc.Text())
			out.WriteByte('\n')
		}
		if !closed {
			return nil, fmt.Errorf("line %d: the ```go block after the marker is not closed", markLine+1)
		}
		blocks++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if blocks == 0 {
		return nil, fmt.Errorf("no ```go block is marked %s; mark the blocks of the complete program", marker)
	}
	return out.Bytes(), nil
}

// moduleRoot finds the directory of the module's go.mod above the test's
// working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func numbered(src []byte) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimRight(string(src), "\n"), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}
