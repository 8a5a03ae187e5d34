package quantize

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/lut"
)

func TestSchemeRange(t *testing.T) {
	for _, c := range []struct {
		s      Scheme
		lo, hi int32
	}{
		{Scheme{Bits: 8, Signed: true}, -128, 127},
		{Scheme{Bits: 8}, 0, 255},
		{Scheme{Bits: 4, Signed: true}, -8, 7},
		{Scheme{Bits: 2}, 0, 3},
		{Scheme{Bits: 8, CustomRange: true, QMin: 0, QMax: 127}, 0, 127},
	} {
		if lo, hi := c.s.Range(); lo != c.lo || hi != c.hi {
			t.Errorf("%+v: Range = [%d, %d], want [%d, %d]", c.s, lo, hi, c.lo, c.hi)
		}
		if err := c.s.Validate(); err != nil {
			t.Errorf("%+v: %v", c.s, err)
		}
	}
}

func TestSchemeValidateErrors(t *testing.T) {
	for _, c := range []struct {
		s    Scheme
		want string
	}{
		{Scheme{}, "bit width 0"},
		{Scheme{Bits: 9}, "bit width 9"},
		{Scheme{Bits: 1}, "bit width 1"},
		{Scheme{Bits: 8, Axis: 1}, "PerChannel is false"},
		{Scheme{Bits: 8, PerChannel: true, Axis: -1}, "negative"},
		{Scheme{Bits: 8, CustomRange: true, QMin: 5, QMax: 5}, "empty"},
		{Scheme{Bits: 8, CustomRange: true, QMin: 0, QMax: 256}, "exceeds the uint8 range"},
		{Scheme{Bits: 4, Signed: true, CustomRange: true, QMin: -8, QMax: 8}, "exceeds the int4 range"},
		{Scheme{Bits: 8, Signed: true, CustomRange: true, QMin: 1, QMax: 100}, "must contain 0"},
	} {
		err := c.s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.s, err, c.want)
		}
	}
}

// Each expected value is PyTorch's _calculate_qparams worked by hand; the
// float32 divisions are written as they are evaluated.
func TestParamsFromMinMaxByHand(t *testing.T) {
	u8 := Scheme{Bits: 8}
	i8 := Scheme{Bits: 8, Signed: true}
	i8sym := Scheme{Bits: 8, Signed: true, Symmetric: true}
	u8sym := Scheme{Bits: 8, Symmetric: true}
	u7 := Scheme{Bits: 8, CustomRange: true, QMin: 0, QMax: 127}
	u7sym := Scheme{Bits: 8, Symmetric: true, CustomRange: true, QMin: 0, QMax: 127}
	u2 := Scheme{Bits: 2}
	four, three, two := float32(4), float32(3), float32(2)
	cases := []struct {
		name     string
		s        Scheme
		min, max float32
		scale    float32
		zp       int32
	}{
		// scale = (3 - -1)/255; -1/scale = -63.75, rounds to -64; zp = 0 + 64.
		{"uint8 affine [-1,3]", u8, -1, 3, four / 255, 64},
		// Same scale; zp = -128 + 64.
		{"int8 affine [-1,3]", i8, -1, 3, four / 255, -64},
		// [1,2] widens to [0,2]: scale = 2/255, zp = -128 - round(0) = -128.
		{"int8 affine positive-only", i8, 1, 2, two / 255, -128},
		// [-3,-1] widens to [-3,0]: scale = 3/255, -3/scale = -255, zp = 255.
		{"uint8 affine negative-only", u8, -3, -1, three / 255, 255},
		// 2-bit: scale = (0.25 - -1.25)/3 = 0.5; -1.25/0.5 = -2.5 rounds to
		// even -2 (not -3), zp = 0 + 2.
		{"uint2 affine half-way zero point", u2, -1.25, 0.25, 0.5, 2},
		// max(|-2|, 1) = 2; scale = 2/((127+128)/2) = 2/127.5; zp 0.
		{"int8 symmetric [-2,1]", i8sym, -2, 1, two / 127.5, 0},
		// Unsigned, default 8-bit range: zp 128.
		{"uint8 symmetric [-2,1]", u8sym, -2, 1, two / 127.5, 128},
		// Unsigned custom range: zp = floor((0+127)/2) = 63, scale = 2/63.5.
		{"uint 0..127 symmetric [-2,1]", u7sym, -2, 1, two / 63.5, 63},
		// TorchApprox activations: [0.5,2] widens to [0,2]; scale = 2/127, zp 0.
		{"uint 0..127 affine [0.5,2]", u7, 0.5, 2, two / 127, 0},
		// All zero: scale 0 is floored at eps; zp is the code of real 0.
		{"uint8 affine all zero", u8, 0, 0, Float32Eps, 0},
		{"int8 affine all zero", i8, 0, 0, Float32Eps, -128},
		{"int8 symmetric all zero", i8sym, 0, 0, Float32Eps, 0},
		{"uint8 symmetric all zero", u8sym, 0, 0, Float32Eps, 128},
	}
	for _, c := range cases {
		p, err := c.s.ParamsFromMinMax([]float32{c.min}, []float32{c.max})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		qmin, qmax := c.s.Range()
		want := PerTensor(c.scale, c.zp, qmin, qmax)
		if !reflect.DeepEqual(p, want) {
			t.Errorf("%s: got %+v, want %+v", c.name, p, want)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestParamsFromMinMaxPerChannel(t *testing.T) {
	s := Scheme{Bits: 8, Signed: true, Symmetric: true, PerChannel: true, Axis: 1}
	p, err := s.ParamsFromMinMax([]float32{-1, 0, -0.5}, []float32{0.5, 0, 3})
	if err != nil {
		t.Fatal(err)
	}
	one, three := float32(1), float32(3)
	want := PerChannel(1, []float32{one / 127.5, Float32Eps, three / 127.5}, []int32{0, 0, 0}, -128, 127)
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}

func TestParamsFromMinMaxErrors(t *testing.T) {
	u8 := Scheme{Bits: 8}
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		name     string
		s        Scheme
		min, max []float32
		want     string
	}{
		{"lengths", u8, []float32{0}, []float32{1, 2}, "1 minima but 2 maxima"},
		{"empty", u8, nil, nil, "no ranges"},
		{"per tensor with two", u8, []float32{0, 0}, []float32{1, 1}, "needs one range"},
		{"min above max", u8, []float32{2}, []float32{1}, "min above max"},
		{"infinite", u8, []float32{0}, []float32{inf}, "not finite"},
		{"too wide", u8, []float32{-3e38}, []float32{3e38}, "too wide"},
		{"bad scheme", Scheme{Bits: 12}, []float32{0}, []float32{1}, "bit width 12"},
	} {
		_, err := c.s.ParamsFromMinMax(c.min, c.max)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestFitsTable(t *testing.T) {
	u7 := Scheme{Bits: 8, CustomRange: true, QMin: 0, QMax: 127}
	for _, c := range []struct {
		s              Scheme
		signed, unsign bool // fits a signed / an unsigned table operand
	}{
		{Scheme{Bits: 8, Signed: true}, true, false},
		{Scheme{Bits: 8}, false, true},
		{u7, true, true},
		{Scheme{Bits: 4, Signed: true}, true, false},
		{Scheme{Bits: 7}, true, true}, // 0..127
	} {
		if err := c.s.FitsTable(true); (err == nil) != c.signed {
			t.Errorf("%s on a signed operand: %v", c.s, err)
		}
		if err := c.s.FitsTable(false); (err == nil) != c.unsign {
			t.Errorf("%s on an unsigned operand: %v", c.s, err)
		}
	}
	err := Scheme{Bits: 8}.FitsTable(true)
	if err == nil || !strings.Contains(err.Error(), "uint8 affine per-tensor [0,255]") || !strings.Contains(err.Error(), "operand is signed") {
		t.Errorf("error should name the scheme and the table's signedness: %v", err)
	}
}

type fakeTable struct {
	name   string
	sx, sw bool
}

func (f fakeTable) Name() string  { return f.name }
func (f fakeTable) SignedX() bool { return f.sx }
func (f fakeTable) SignedW() bool { return f.sw }

func TestPresets(t *testing.T) {
	if got := PresetNames(); !reflect.DeepEqual(got, []string{"signed", "unsigned", "torchapprox"}) {
		t.Fatalf("presets %v", got)
	}
	for _, p := range Presets() {
		if err := p.Activation.Validate(); err != nil {
			t.Errorf("%s activations: %v", p.Name, err)
		}
		if err := p.Weight.Validate(); err != nil {
			t.Errorf("%s weights: %v", p.Name, err)
		}
		for _, k := range []string{p.ActivationObserver, p.WeightObserver} {
			if _, err := NewObserver(k, p.Activation); err != nil {
				t.Errorf("%s: %v", p.Name, err)
			}
		}
		if p.Doc == "" {
			t.Errorf("%s has no doc", p.Name)
		}
	}
	// Which table signedness (x, w) each preset fits.
	fits := map[string][4]bool{ // (s,s) (s,u) (u,s) (u,u)
		"signed":      {true, false, false, false},
		"unsigned":    {false, false, false, true},
		"torchapprox": {true, false, true, false},
	}
	for name, want := range fits {
		p, err := PresetByName(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, sig := range [4][2]bool{{true, true}, {true, false}, {false, true}, {false, false}} {
			if err := p.Check(sig[0], sig[1]); (err == nil) != want[i] {
				t.Errorf("preset %s on table (signedX %v, signedW %v): %v", name, sig[0], sig[1], err)
			}
		}
	}
	ta, _ := PresetByName("torchapprox")
	err := ta.CheckTable(fakeTable{"mul8u_1JFF", false, false})
	if err == nil || !strings.Contains(err.Error(), "mul8u_1JFF") || !strings.Contains(err.Error(), "weights") {
		t.Errorf("torchapprox on an unsigned table: %v", err)
	}
	_, err = PresetByName("int4")
	if err == nil || !strings.Contains(err.Error(), "signed, unsigned, torchapprox") {
		t.Errorf("unknown preset: %v", err)
	}
}

// The preset variables are the presets PresetByName finds, in the order
// of Presets, and changing a variable does not change what PresetByName
// returns.
func TestPresetVariables(t *testing.T) {
	vars := []Preset{Signed, Unsigned, TorchApprox}
	if !reflect.DeepEqual(vars, Presets()) {
		t.Fatalf("Signed, Unsigned, TorchApprox = %+v, Presets() = %+v", vars, Presets())
	}
	for _, p := range vars {
		byName, err := PresetByName(p.Name)
		if err != nil || !reflect.DeepEqual(byName, p) {
			t.Errorf("PresetByName(%q) = %+v, %v; want %+v", p.Name, byName, err, p)
		}
		for _, k := range []string{p.ActivationObserver, p.WeightObserver} {
			if _, err := ParseObserverKind(k); err != nil {
				t.Errorf("preset %s: %v", p.Name, err)
			}
		}
	}
	if Unsigned.Activation.Signed || !Signed.Weight.PerChannel || TorchApprox.Activation.QMax != 127 {
		t.Errorf("preset variables hold the wrong schemes: %+v", vars)
	}

	saved := Signed
	defer func() { Signed = saved }()
	Signed.Weight.Bits = 4
	if p, _ := PresetByName("signed"); p.Weight.Bits != 8 {
		t.Errorf("changing quantize.Signed changed PresetByName(\"signed\"): weight bits %d", p.Weight.Bits)
	}
}

// The real table type satisfies TableSignedness, and its signedness decides.
func TestPresetOnLutTable(t *testing.T) {
	signed, _ := PresetByName("signed")
	if err := signed.CheckTable(lut.ExactTable(lut.Both(lut.Signed))); err != nil {
		t.Error(err)
	}
	err := signed.CheckTable(lut.ExactTable(lut.Both(lut.Unsigned)))
	if err == nil || !strings.Contains(err.Error(), "activations unsigned, weights unsigned") {
		t.Errorf("signed preset on an unsigned table: %v", err)
	}
}
