package train

import (
	"fmt"
	"os"
	"strings"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
)

// LoadTable returns the multiplier table arg names: a table file (by its
// extension: .npy, .bin, .csv) or a multiplier spec such as "mitchell" or
// "drum:k=3,signed=true". Table files record no operand signedness; they
// are read as signed when the preset's weights are signed, else unsigned.
func LoadTable(arg, preset string) (*lut.Table, error) {
	p, err := quantize.PresetByName(preset)
	if err != nil {
		return nil, err
	}
	if lut.IsTableFile(arg) {
		signed := p.Weight.Signed
		t, err := lut.Load(arg, lut.Both(lut.SignednessOf(signed)))
		if err != nil {
			return nil, fmt.Errorf("reading multiplier table: %w", err)
		}
		// Read with the wrong signedness, the run would train to chance
		// accuracy without a word: refuse it (see lut.CheckSigns).
		if err := lut.CheckSigns(t); err != nil {
			hint := "it looks like a table of unsigned operands, which needs a model trained with -quant unsigned (EvoApprox mul8u tables are unsigned)"
			if !signed {
				hint = "it looks like a table of signed operands, which needs a model trained with a preset of signed weights (-quant torchapprox or signed)"
			}
			return nil, fmt.Errorf("multiplier table %s, read as %s for preset %q: %w; %s", arg, signedness(signed), preset, err, hint)
		}
		return t, nil
	}
	t, err := multiplier.Parse(arg)
	if err != nil {
		if _, statErr := os.Stat(arg); statErr == nil || strings.ContainsAny(arg, `/\`) {
			return nil, fmt.Errorf("%q is neither a table file (.npy, .bin, .csv) nor a multiplier spec: %v", arg, err)
		}
		return nil, err
	}
	return t, nil
}

func signedness(signed bool) string {
	if signed {
		return "signed"
	}
	return "unsigned"
}

// tableSet holds the tables a run uses, by table name, so that checkpoints
// (which name their tables) resolve to the same tables.
type tableSet map[string]*lut.Table

func (s tableSet) resolve(name string) (*lut.Table, error) {
	if t, ok := s[name]; ok {
		return t, nil
	}
	// A table set on the registry by a caller (a sweep) may be a spec.
	if t, err := multiplier.Parse(name); err == nil {
		return t, nil
	}
	return nil, fmt.Errorf("the checkpoint uses multiplier table %q, which this run does not load: pass it with -lut or -layer-lut", name)
}

// SetMultipliers loads the multiplier of every layer (lut, may be empty)
// and the per-layer overrides, and records them in the configuration. They
// are applied when the approximate phase starts (SetPhase).
func (t *Trainer) SetMultipliers(lutArg string, perLayer []LayerLUT) error {
	load := func(arg string) (*lut.Table, error) {
		tab, err := LoadTable(arg, t.cfg.Quant)
		if err != nil {
			return nil, err
		}
		if err := t.checkTable(tab); err != nil {
			return nil, fmt.Errorf("multiplier %s: %w", arg, err)
		}
		t.tables[tab.Name()] = tab
		t.byArg[arg] = tab
		return tab, nil
	}
	if lutArg != "" {
		if _, err := load(lutArg); err != nil {
			return err
		}
	}
	for _, ll := range perLayer {
		if _, err := t.layers.Select(ll.Layer); err != nil {
			return fmt.Errorf("-layer-lut %s: %w", ll, err) // the error lists the layers
		}
		if _, err := load(ll.LUT); err != nil {
			return err
		}
	}
	t.cfg.LUT, t.cfg.LayerLUTs = lutArg, append([]LayerLUT(nil), perLayer...)
	return nil
}

// checkTable checks that the table fits the quantization preset.
func (t *Trainer) checkTable(tab *lut.Table) error {
	p := t.layers.Layers()[0].Preset()
	if err := p.Check(tab.SignedX(), tab.SignedW()); err != nil {
		return fmt.Errorf("%w (choose a -quant preset that fits the table: the unsigned preset for unsigned tables such as EvoApprox mul8u)", err)
	}
	return nil
}

// applyMultipliers gives the layers their tables: the table of the last
// matching per-layer override, else the global one; layers left without a
// table stay in Quantized mode.
func (t *Trainer) applyMultipliers() error {
	for _, l := range t.layers.Layers() {
		if err := l.SetTable(nil); err != nil {
			return err
		}
	}
	assign := func(arg string, patterns ...string) error {
		tab, ok := t.byArg[arg]
		if !ok {
			return fmt.Errorf("multiplier %s was not loaded (SetMultipliers)", arg)
		}
		return t.layers.SetTable(tab, patterns...)
	}
	if t.cfg.LUT != "" {
		if err := assign(t.cfg.LUT); err != nil {
			return err
		}
	}
	for _, ll := range t.cfg.LayerLUTs {
		if err := assign(ll.LUT, ll.Layer); err != nil {
			return err
		}
	}
	for _, l := range t.layers.Layers() {
		mode := ops.Quantized
		if l.Table() != nil {
			mode = ops.Approximate
		}
		if err := l.SetMode(mode); err != nil {
			return err
		}
	}
	return nil
}
