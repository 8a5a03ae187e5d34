package approxlayer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/ops"
)

func TestSetGradient(t *testing.T) {
	m := buildModel(t, 1)
	r := m.reg
	table := ops.Gradient{Kind: ops.TableGradient, Window: 6}
	if err := r.SetGradient(table, "conv", "dw"); err != nil {
		t.Fatal(err)
	}
	if m.conv.Gradient() != table || m.dw.Gradient() != table || m.fc.Gradient() != (ops.Gradient{}) {
		t.Fatalf("by pattern: conv %v, dw %v, fc %v", m.conv.Gradient(), m.dw.Gradient(), m.fc.Gradient())
	}
	// Bad windows and unknown patterns are refused and change nothing.
	for _, g := range []ops.Gradient{{Kind: ops.TableGradient, Window: -1}, {Kind: ops.TableGradient, Window: 128}} {
		if err := r.SetGradient(g); err == nil || !strings.Contains(err.Error(), "window") {
			t.Errorf("registry SetGradient(%+v) = %v, want a window error", g, err)
		}
		if err := m.fc.SetGradient(g); err == nil || !strings.Contains(err.Error(), `layer "fc"`) {
			t.Errorf("layer SetGradient(%+v) = %v, want an error naming the layer", g, err)
		}
	}
	if err := r.SetGradient(ops.Gradient{}, "nope"); err == nil || !strings.Contains(err.Error(), "matches none") {
		t.Errorf("unknown pattern: %v", err)
	}
	if m.conv.Gradient() != table || m.fc.Gradient() != (ops.Gradient{}) {
		t.Fatalf("a refused call changed the layers: conv %v, fc %v", m.conv.Gradient(), m.fc.Gradient())
	}
	if err := m.conv.SetGradient(ops.Gradient{}); err != nil || m.conv.Gradient() != (ops.Gradient{}) {
		t.Fatalf("back to ste: %v, %v", err, m.conv.Gradient())
	}
}

func TestCheckpointRecordsGradient(t *testing.T) {
	tab := unsignedTable(t)
	a := trained(t, tab)
	// Straight-through layers write no gradient field, as files did before
	// the option existed, and those read back as straight-through.
	var plain bytes.Buffer
	if err := Write(&plain, a.reg, a.scale); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte(`"gradient"`)) {
		t.Fatal("a straight-through model wrote a gradient field")
	}
	table := ops.Gradient{Kind: ops.TableGradient, Window: 9}
	if err := a.reg.SetGradient(table, "conv"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, a.reg, a.scale); err != nil {
		t.Fatal(err)
	}
	b := buildModel(t, 99)
	if err := b.reg.SetGradient(ops.Gradient{Kind: ops.TableGradient}, "fc"); err != nil {
		t.Fatal(err)
	}
	if err := Read(bytes.NewReader(buf.Bytes()), b.reg, resolverFor(tab), b.scale); err != nil {
		t.Fatal(err)
	}
	if b.conv.Gradient() != table || b.dw.Gradient() != (ops.Gradient{}) || b.fc.Gradient() != (ops.Gradient{}) {
		t.Fatalf("restored gradients: conv %v, dw %v, fc %v", b.conv.Gradient(), b.dw.Gradient(), b.fc.Gradient())
	}
	if err := Read(bytes.NewReader(plain.Bytes()), b.reg, resolverFor(tab), b.scale); err != nil {
		t.Fatal(err)
	}
	if b.conv.Gradient() != (ops.Gradient{}) {
		t.Fatalf("a file without the field restored %v", b.conv.Gradient())
	}
	// A bad gradient in a file is a clear error.
	_, payload, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	_, payload, _ = bytes.Cut(payload, []byte("\n"))
	bad := bytes.Replace(payload, []byte(`"table:window=9"`), []byte(`"table:window=300"`), 1)
	if bytes.Equal(bad, payload) {
		t.Fatal("the payload holds no table:window=9")
	}
	err := Read(bytes.NewReader(withDigest(bad)), b.reg, resolverFor(tab), b.scale)
	if err == nil || !strings.Contains(err.Error(), "bad gradient") || !strings.Contains(err.Error(), "300") {
		t.Fatalf("bad gradient in a file: %v", err)
	}
	t.Log(err)
}
