package quantize

import (
	"fmt"
	"strings"
)

// Preset is a named pairing of activation and weight schemes, with the
// observer kinds that watch each. The presets are the variables Signed,
// Unsigned and TorchApprox; PresetByName finds one by its Name, the string
// flags and configuration files use.
type Preset struct {
	Name       string
	Activation Scheme
	Weight     Scheme
	// ActivationObserver and WeightObserver name observer kinds
	// (ObserverKind), as NewObserver takes them.
	ActivationObserver string
	WeightObserver     string
	Doc                string
}

// The presets. Weight schemes that are per-channel use axis 0, the output
// channel of PyTorch-layout weights ([out, in] and [out, in/groups, kh, kw]);
// a layer that stores weights differently points them elsewhere with
// Scheme.WithAxis. The variables are copies: PresetByName and Presets
// always return the presets as defined here.
var (
	// Signed is the preset for signed multipliers.
	Signed = signedPreset()
	// Unsigned is the preset for unsigned multipliers.
	Unsigned = unsignedPreset()
	// TorchApprox is TorchApprox's default configuration.
	TorchApprox = torchApproxPreset()
)

func signedPreset() Preset {
	return Preset{
		Name:               "signed",
		Activation:         Scheme{Bits: 8, Signed: true},
		Weight:             Scheme{Bits: 8, Signed: true, Symmetric: true, PerChannel: true, Axis: 0},
		ActivationObserver: string(KindMovingAverage),
		WeightObserver:     string(KindMovingAverage),
		Doc: "For signed multipliers (tables with signed activation and weight operands, e.g. EvoApprox mul8s). " +
			"Activations: int8 -128..127, affine, per tensor, so that inputs of either sign use the whole range. " +
			"Weights: int8 -128..127, symmetric, per output channel (axis 0), zero point 0, which keeps the " +
			"zero-point correction cheap and follows PyTorch's default per-channel weight quantization. " +
			"Observers: moving-average min/max for both, as PyTorch's default QAT fake-quantization.",
	}
}

func unsignedPreset() Preset {
	return Preset{
		Name:               "unsigned",
		Activation:         Scheme{Bits: 8},
		Weight:             Scheme{Bits: 8},
		ActivationObserver: string(KindMovingAverage),
		WeightObserver:     string(KindMovingAverage),
		Doc: "For unsigned multipliers (both operands 0..255, e.g. the EvoApprox mul8u tables). " +
			"Activations and weights: uint8 0..255, affine, per tensor; the zero points carry the sign. " +
			"Observers: moving-average min/max for both.",
	}
}

func torchApproxPreset() Preset {
	return Preset{
		Name:               "torchapprox",
		Activation:         Scheme{Bits: 8, CustomRange: true, QMin: 0, QMax: 127},
		Weight:             Scheme{Bits: 8, Signed: true, Symmetric: true},
		ActivationObserver: string(KindHistogram),
		WeightObserver:     string(KindHistogram),
		Doc: "The reference library's default (TorchApprox ApproxLayer.default_qconfig). " +
			"Activations: unsigned codes 0..127, affine, per tensor (codes that read the same on a signed or an " +
			"unsigned table axis). Weights: int8 -128..127, symmetric, per tensor, zero point 0; they need a table " +
			"with a signed weight operand. Observers: histogram for both, as TorchApprox.",
	}
}

// Presets returns all presets, in a fixed order: Signed, Unsigned,
// TorchApprox.
func Presets() []Preset { return []Preset{signedPreset(), unsignedPreset(), torchApproxPreset()} }

// PresetNames returns the preset names, in the order of Presets, for flags
// and messages.
func PresetNames() []string {
	presets := Presets()
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.Name
	}
	return names
}

// PresetByName returns the preset with the given name (a flag's value).
func PresetByName(name string) (Preset, error) {
	for _, p := range Presets() {
		if p.Name == name {
			return p, nil
		}
	}
	return Preset{}, fmt.Errorf("quantize: no preset %q; the presets are %s", name, strings.Join(PresetNames(), ", "))
}

// Check reports whether the preset's activation and weight codes fit a
// table whose activation (row) and weight (column) operands have the given
// signedness; see Scheme.FitsTable.
func (p Preset) Check(signedX, signedW bool) error {
	if err := p.Activation.FitsTable(signedX); err != nil {
		return fmt.Errorf("preset %q, activations: %w", p.Name, err)
	}
	if err := p.Weight.FitsTable(signedW); err != nil {
		return fmt.Errorf("preset %q, weights: %w", p.Name, err)
	}
	return nil
}

// TableSignedness is the part of a lookup table (such as *lut.Table) that
// decides which schemes fit it.
type TableSignedness interface {
	Name() string
	SignedX() bool
	SignedW() bool
}

// CheckTable is Check for a table, naming the table in the error.
func (p Preset) CheckTable(t TableSignedness) error {
	if err := p.Check(t.SignedX(), t.SignedW()); err != nil {
		return fmt.Errorf("table %q (activations %s, weights %s): %w", t.Name(), signedness(t.SignedX()), signedness(t.SignedW()), err)
	}
	return nil
}

func signedness(signed bool) string {
	if signed {
		return "signed"
	}
	return "unsigned"
}
