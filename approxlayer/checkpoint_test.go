package approxlayer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// trained returns model seed 1 after a calibration run in Quantized mode,
// with conv in Approximate mode on tab, fc with fixed parameters and noise
// settings: every kind of state a checkpoint holds.
func trained(t *testing.T, tab *lut.Table) *model {
	t.Helper()
	m := buildModel(t, 1)
	if err := m.reg.SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	m.run(t) // observers learn
	if err := m.reg.SetTable(tab, "conv", "dw"); err != nil {
		t.Fatal(err)
	}
	if err := m.reg.SetMode(ops.Approximate, "conv"); err != nil {
		t.Fatal(err)
	}
	s := m.fc.State()
	if err := m.fc.SetQuantParams(s.XParams, s.WParams); err != nil {
		t.Fatal(err)
	}
	if err := m.fc.SetNoise(0.25, 0.01); err != nil {
		t.Fatal(err)
	}
	m.dw.FreezeObservers()
	m.reg.SetTraining(false)
	return m
}

func resolverFor(tabs ...*lut.Table) TableResolver {
	return func(name string) (*lut.Table, error) {
		for _, t := range tabs {
			if t.Name() == name {
				return t, nil
			}
		}
		return nil, fmt.Errorf("no table %q", name)
	}
}

func TestSaveLoadRestoresBitIdenticalOutputs(t *testing.T) {
	tab := unsignedTable(t)
	a := trained(t, tab)
	want := a.run(t)
	path := filepath.Join(t.TempDir(), "model.ckpt")
	if err := Save(path, a.reg, a.scale); err != nil {
		t.Fatal(err)
	}
	// Only the checkpoint is left in the directory (no temporary file).
	if files, _ := os.ReadDir(filepath.Dir(path)); len(files) != 1 {
		t.Fatalf("directory holds %d files after Save", len(files))
	}

	b := buildModel(t, 99) // other weights, default state
	if equal(b.run(t), want) {
		t.Fatal("the fresh model already computes the saved outputs; the test would prove nothing")
	}
	if err := Load(path, b.reg, resolverFor(tab), b.scale); err != nil {
		t.Fatal(err)
	}
	if got := b.run(t); !equal(got, want) {
		t.Fatalf("loaded model computes %v, saved one %v", got, want)
	}
	for i, l := range b.reg.Layers() {
		o := a.reg.Layers()[i]
		if l.Mode() != o.Mode() || l.Training() != o.Training() || l.State().NoiseSigma != o.State().NoiseSigma ||
			(l.State().XObserver == nil) != (o.State().XObserver == nil) {
			t.Fatalf("layer %s: state not restored", l.Name())
		}
	}
	if !b.dw.State().WObserver.Frozen() || b.conv.State().WObserver.Frozen() {
		t.Fatal("observer freeze state not restored")
	}
	// The observers carry on identically: one more training run in
	// Quantized mode on both models gives the same outputs.
	for _, m := range []*model{a, b} {
		m.reg.SetTraining(true)
		if err := m.reg.SetMode(ops.Quantized); err != nil {
			t.Fatal(err)
		}
	}
	if !equal(a.run(t), b.run(t)) {
		t.Fatal("after loading, training runs diverge")
	}
}

func TestLoadErrors(t *testing.T) {
	tab := unsignedTable(t)
	a := trained(t, tab)
	var buf bytes.Buffer
	if err := Write(&buf, a.reg, a.scale); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	other, err := lut.Tabulate(tab.Name(), lut.Both(lut.Unsigned), func(x, w int) int { return x * w })
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x04

	cases := []struct {
		name    string
		data    []byte
		resolve TableResolver
		params  G.Nodes
		want    string
	}{
		{"empty", nil, resolverFor(tab), nil, "not a checkpoint"},
		{"other file", []byte("\x93NUMPY\x01\x00...."), resolverFor(tab), nil, "not a checkpoint"},
		{"header only", good[:30], resolverFor(tab), nil, "truncated"},
		{"truncated", good[:len(good)-100], resolverFor(tab), nil, "truncated or corrupt"},
		{"flipped bit", flipped, resolverFor(tab), nil, "truncated or corrupt"},
		{"no resolver", good, nil, nil, "TableResolver"},
		{"other table, same name", good, resolverFor(other), nil, "fingerprint"},
		{"missing parameter", good, resolverFor(tab), G.Nodes{}, "extra parameters"},
	}
	for _, c := range cases {
		b := buildModel(t, 99)
		before := b.run(t)
		params := c.params
		if params == nil {
			params = G.Nodes{b.scale}
		}
		err := Read(bytes.NewReader(c.data), b.reg, c.resolve, params...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if !equal(b.run(t), before) {
			t.Errorf("%s: a failed load changed the model", c.name)
		}
	}

	// A model built differently is refused.
	g := G.NewGraph()
	l, _ := NewLinear(g, "fc", 3, 2)
	r, _ := NewRegistry(l)
	if err := Read(bytes.NewReader(good), r, resolverFor(tab)); err == nil || !strings.Contains(err.Error(), "layers") {
		t.Errorf("other model: %v", err)
	}
	if err := Load(filepath.Join(t.TempDir(), "missing"), r, nil); err == nil {
		t.Error("a missing file loaded")
	}
}

// smallModel is a one-layer model with a bias and an extra parameter: the
// model the fuzz targets load into.
func smallModel(t testing.TB) (*Registry, *G.Node) {
	g := G.NewGraph()
	l, err := NewLinear(g, "fc", 3, 2, WithBias(), WithPreset("unsigned"), WithObserver("minmax"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRegistry(l)
	if err != nil {
		t.Fatal(err)
	}
	extra := G.NewVector(g, G.Float32, G.WithShape(2), G.WithName("gain"), G.WithInit(G.Ones()))
	return r, extra
}

// FuzzRead feeds arbitrary bytes to the checkpoint reader: it must return
// an error or restore a model, never panic. The committed corpus in
// testdata/fuzz/FuzzRead holds a valid checkpoint and damaged ones.
func FuzzRead(f *testing.F) {
	r, extra := smallModel(f)
	var buf bytes.Buffer
	if err := Write(&buf, r, extra); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	tab, err := lut.Tabulate("drop3", lut.Both(lut.Unsigned), func(x, w int) int { return x * w &^ 7 })
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, extra := smallModel(t)
		Read(bytes.NewReader(data), r, resolverFor(tab), extra)
	})
}

// FuzzReadPayload fuzzes the JSON payload behind a valid header and digest,
// which random bytes would almost never reach: whatever the payload says,
// Read must refuse it clearly or restore a model that then runs.
func FuzzReadPayload(f *testing.F) {
	r, extra := smallModel(f)
	var buf bytes.Buffer
	if err := Write(&buf, r, extra); err != nil {
		f.Fatal(err)
	}
	_, payload, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	_, payload, _ = bytes.Cut(payload, []byte("\n"))
	f.Add(payload)
	tab, err := lut.Tabulate("drop3", lut.Both(lut.Unsigned), func(x, w int) int { return x * w &^ 7 })
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, extra := smallModel(t)
		if err := Read(bytes.NewReader(withDigest(payload)), r, resolverFor(tab), extra); err != nil {
			return
		}
		// A restored model must be runnable in the mode it was given.
		l := r.Layers()[0]
		x := G.NewMatrix(extra.Graph(), G.Float32, G.WithShape(1, 3), G.WithName("x"), G.WithInit(G.Ones()))
		y, err := l.Forward(x)
		if err != nil {
			t.Fatalf("restored layer cannot be applied: %v", err)
		}
		G.Must(G.BroadcastHadamardProd(y, extra, nil, []byte{0}))
		vm := G.NewTapeMachine(extra.Graph())
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("restored model does not run: %v", err)
		}
	})
}

// withDigest puts a valid header and digest in front of a payload.
func withDigest(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	head := fmt.Sprintf("%s %d\nsha256 %s\n", checkpointMagic, checkpointVersion, hex.EncodeToString(sum[:]))
	return append([]byte(head), payload...)
}
