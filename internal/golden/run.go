package golden

import (
	"path/filepath"
	"testing"
)

// RunCases runs check once per case folder of dir as a subtest named after
// the folder (t.Run("case03_conv2d", ...)), handing it the loaded case and
// the shared table. Every test of the golden vectors goes through it, so
// they all read the same folders the same way.
func RunCases(t *testing.T, dir string, check func(t *testing.T, c *Case, table []int32)) {
	t.Helper()
	table, err := ReadLUT(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Cases(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, cdir := range cases {
		t.Run(filepath.Base(cdir), func(t *testing.T) {
			c, err := Load(cdir)
			if err != nil {
				t.Fatal(err)
			}
			check(t, c, table)
		})
	}
}
