package approxlayer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/ops"
)

// surrogateModel returns the trained test model with every layer on the
// drop3 table in Surrogate mode: conv with a rank-2 fit weighted by its
// recorded histograms, dw and fc with a uniform fit chosen by a fidelity
// target.
func surrogateModel(t *testing.T) *model {
	t.Helper()
	tab := unsignedTable(t)
	m := trained(t, tab)
	if err := m.reg.SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	m.reg.RecordHistograms(true)
	m.run(t)
	m.reg.RecordHistograms(false)
	if err := m.reg.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	if err := m.reg.SetSurrogateRank(2, true, "conv"); err != nil {
		t.Fatal(err)
	}
	if err := m.reg.SetSurrogateFidelity(0.9, false, "dw", "fc"); err != nil {
		t.Fatal(err)
	}
	if err := m.reg.SetMode(ops.Surrogate); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSurrogateSetters(t *testing.T) {
	m := surrogateModel(t)
	conv, fc := m.conv.Surrogate(), m.fc.Surrogate()
	xh, wh := m.conv.Histograms()
	if conv.Rank != 2 || !conv.Weighted || conv.XHist != xh || conv.WHist != wh {
		t.Errorf("conv settings %v: want rank 2 weighted by the recorded histograms", conv)
	}
	if fc.Fidelity != 0.9 || fc.Weighted {
		t.Errorf("fc settings %v: want fidelity 0.9, uniform", fc)
	}
	if err := m.reg.FitSurrogates(); err != nil {
		t.Fatal(err)
	}
	sg, err := m.fc.FitSurrogate()
	if err != nil {
		t.Fatal(err)
	}
	if sg.Fidelity() < 0.9 || sg.Weighted() {
		t.Errorf("fc surrogate: fidelity %.3f weighted %t; want at least 0.9, uniform", sg.Fidelity(), sg.Weighted())
	}
	// Surrogate mode changes the outputs against Approximate mode.
	sur := m.run(t)
	if err := m.reg.SetMode(ops.Approximate); err != nil {
		t.Fatal(err)
	}
	if equal(m.run(t), sur) {
		t.Error("Surrogate mode computes Approximate mode's outputs here: the test proves nothing")
	}

	// Bad settings are refused and change no layer.
	before := []ops.SurrogateSettings{m.conv.Surrogate(), m.dw.Surrogate(), m.fc.Surrogate()}
	m.dw.ResetHistograms() // dw has no histograms now: a weighted fit must fail
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"rank 300", m.reg.SetSurrogateRank(300, false), "0..256"},
		{"fidelity 0", m.reg.SetSurrogateFidelity(0, false), "(0, 1]"},
		{"fidelity 1.5", m.reg.SetSurrogateFidelity(1.5, false, "fc"), "(0, 1]"},
		{"no histograms", m.reg.SetSurrogateRank(1, true), "RecordHistograms"},
		{"layer fidelity 0", m.fc.SetSurrogateFidelity(0, true), "(0, 1]"},
		{"bad pattern", m.reg.SetSurrogateRank(1, false, "nope*"), "matches none"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, c.err, c.want)
		}
	}
	after := []ops.SurrogateSettings{m.conv.Surrogate(), m.dw.Surrogate(), m.fc.Surrogate()}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("layer %d: a failed setter changed its settings", i)
		}
	}

	// Surrogate mode needs a table, like Approximate mode.
	b := buildModel(t, 2)
	if err := b.reg.SetMode(ops.Surrogate); err == nil || !strings.Contains(err.Error(), "needs a table") {
		t.Errorf("Surrogate mode without a table: %v", err)
	}
	if err := m.reg.SetMode(ops.Surrogate); err != nil {
		t.Fatal(err)
	}
	if err := m.fc.SetTable(nil); err == nil {
		t.Error("a layer in Surrogate mode dropped its table")
	}
}

// TestSurrogateCheckpoint saves a model in Surrogate mode and loads it into
// a model with other weights: the settings, the weighting histograms and
// so the outputs come back bit for bit.
func TestSurrogateCheckpoint(t *testing.T) {
	a := surrogateModel(t)
	want := a.run(t)
	var buf bytes.Buffer
	if err := Write(&buf, a.reg, a.scale); err != nil {
		t.Fatal(err)
	}
	b := buildModel(t, 99)
	if err := Read(bytes.NewReader(buf.Bytes()), b.reg, resolverFor(unsignedTable(t)), b.scale); err != nil {
		t.Fatal(err)
	}
	for i, l := range b.reg.Layers() {
		o := a.reg.Layers()[i]
		if l.Mode() != ops.Surrogate || l.Surrogate() != o.Surrogate() {
			t.Errorf("layer %s: mode %v settings %v, saved %v %v", l.Name(), l.Mode(), l.Surrogate(), o.Mode(), o.Surrogate())
		}
	}
	if got := b.run(t); !equal(got, want) {
		t.Fatalf("loaded model computes %v, saved one %v", got, want)
	}

	// A checkpoint without surrogate settings (as every file written before
	// Surrogate mode) has no "surrogate" key and loads with zero settings.
	plain := trained(t, unsignedTable(t))
	buf.Reset()
	if err := Write(&buf, plain.reg, plain.scale); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(`"surrogate"`)) {
		t.Error("a model without surrogate settings writes a surrogate record: older builds could not read it")
	}
	if err := Read(bytes.NewReader(buf.Bytes()), b.reg, resolverFor(unsignedTable(t)), b.scale); err != nil {
		t.Fatal(err)
	}
	if s := b.conv.Surrogate(); s != (ops.SurrogateSettings{}) {
		t.Errorf("loading a checkpoint without surrogate settings left %v", s)
	}

	// Damaged surrogate records are refused.
	buf.Reset()
	if err := Write(&buf, a.reg, a.scale); err != nil {
		t.Fatal(err)
	}
	_, payload, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	_, payload, _ = bytes.Cut(payload, []byte("\n"))
	for _, c := range []struct{ old, new, want string }{
		{`"surrogate":{"rank":2`, `"surrogate":{"rank":999`, "0..256"},
		{`"weighted":true,"x_hist"`, `"weighted":true,"y_hist"`, "unknown field"},
		{`"weighted":true,"x_hist":[`, `"weighted":true,"x_hist":[-5,`, "negative"},
	} {
		bad := bytes.Replace(payload, []byte(c.old), []byte(c.new), 1)
		if bytes.Equal(bad, payload) {
			t.Fatalf("%q is not in the payload", c.old)
		}
		err := Read(bytes.NewReader(withDigest(bad)), b.reg, resolverFor(unsignedTable(t)), b.scale)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("payload with %s: %v, want an error mentioning %q", c.new, err, c.want)
		}
	}
}
