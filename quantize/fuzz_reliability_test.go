package quantize

import (
	"math"
	"strings"
	"testing"
)

// FuzzPresetByName: any name is a preset whose schemes are valid, or an
// error that lists the presets.
func FuzzPresetByName(f *testing.F) {
	for _, s := range append(PresetNames(), "", "Signed", "int4", "torchapprox ") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := PresetByName(name)
		if err != nil {
			for _, n := range PresetNames() {
				if !strings.Contains(err.Error(), n) {
					t.Fatalf("error %q does not list preset %q", err, n)
				}
			}
			return
		}
		if p.Name != name {
			t.Fatalf("asked for %q, got %q", name, p.Name)
		}
		for _, s := range []Scheme{p.Activation, p.Weight} {
			if err := s.Validate(); err != nil {
				t.Fatalf("preset %s: %v", name, err)
			}
		}
	})
}

// FuzzObserverFromState: any bytes give an observer or an error. An
// observer rebuilt from a state must not panic when used, must give valid
// parameters or an error, and must serialise back to a state that restores
// the same parameters.
func FuzzObserverFromState(f *testing.F) {
	for _, kind := range ObserverKinds() {
		for _, s := range []Scheme{
			{Bits: 8, Signed: true, Symmetric: true},
			{Bits: 8, PerChannel: true, Axis: 1},
			{Bits: 8, CustomRange: true, QMin: 0, QMax: 127},
		} {
			o, err := NewObserver(kind, s)
			if err != nil {
				f.Fatal(err)
			}
			o.Observe([]float32{-1, 0.5, 2, 3, float32(math.NaN()), 7, -4, 0}, []int{2, 4})
			data, err := o.State()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"kind":"minmax","version":1,"scheme":{"bits":8}}`))
	f.Add([]byte(`{"kind":"histogram","version":1,"scheme":{"bits":8},"bins":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ObserverFromState(data)
		if err != nil {
			return
		}
		p, perr := o.Params()
		if perr == nil {
			if err := p.Validate(); err != nil {
				t.Fatalf("restored observer proposes invalid parameters %+v: %v", p, err)
			}
			state, err := o.State()
			if err != nil {
				t.Fatalf("restored observer cannot serialise: %v", err)
			}
			o2, err := ObserverFromState(state)
			if err != nil {
				t.Fatalf("state written back does not load: %v", err)
			}
			p2, err := o2.Params()
			if err != nil || !sameParams(p, p2) {
				t.Fatalf("parameters changed through State: %+v -> %+v (%v)", p, p2, err)
			}
		}
		// Observing more must not panic, whatever the restored state says.
		o.Unfreeze()
		o.Observe([]float32{1, -2, 3, 0.25}, []int{2, 2})
		o.Observe([]float32{1, -2, 3, 0.25}, nil)
		o.Params()
	})
}

func sameParams(a, b Params) bool {
	if a.QMin != b.QMin || a.QMax != b.QMax || a.Axis != b.Axis || len(a.Scale) != len(b.Scale) || len(a.ZeroPoint) != len(b.ZeroPoint) {
		return false
	}
	for i := range a.Scale {
		if math.Float32bits(a.Scale[i]) != math.Float32bits(b.Scale[i]) {
			return false
		}
	}
	for i := range a.ZeroPoint {
		if a.ZeroPoint[i] != b.ZeroPoint[i] {
			return false
		}
	}
	return true
}
