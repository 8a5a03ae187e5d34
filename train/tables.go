package train

import (
	"fmt"
	"os"
	"strings"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/multiplier"
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
		t, err := lut.ReadFile(arg, signed, signed)
		if err != nil {
			return nil, fmt.Errorf("reading multiplier table: %w", err)
		}
		// Read with the wrong signedness, the run would train to chance
		// accuracy without a word: refuse it (see lut.CheckSigns).
		if err := lut.CheckSigns(t); err != nil {
			hint := "it looks like a table of unsigned operands: use -quant unsigned (EvoApprox mul8u tables are unsigned)"
			if !signed {
				hint = "it looks like a table of signed operands: use a preset with signed weights (-quant torchapprox or signed)"
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
