package graph

import (
	"testing"

	"github.com/goapprox/goapprox/ops"
)

func TestMLPFloatEqualsOriginal(t *testing.T) {
	m := buildMLP(t)
	res, err := Rewrite(m.g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Layers.Names(); len(got) != 2 || got[0] != "w0" || got[1] != "w1" {
		t.Fatalf("layers %v, want [w0 w1]", got)
	}
	for _, l := range res.Layers.Layers() {
		if l.Mode() != ops.Float {
			t.Fatalf("layer %s starts in %v", l.Name(), l.Mode())
		}
	}
	want := values(t, m.g, m.out, m.cost)
	got := values(t, res.Graph, res.Node(m.out), res.Node(m.cost))
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("output %d[%d] = %v, original %v (max rel diff %g)", i, j, got[i][j], want[i][j], maxRelDiff(t, got[i], want[i]))
			}
		}
	}
}
