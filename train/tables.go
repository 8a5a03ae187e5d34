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
		if err := checkSigns(t); err != nil {
			return nil, fmt.Errorf("multiplier table %s, read as %s for preset %q: %w", arg, signedness(signed), preset, err)
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

// checkSigns refuses a table whose products mostly do not have the sign of
// the operands' product on the axes it was read with. A table file records
// no signedness, and an unsigned table (EvoApprox mul8u) read for signed
// weights would multiply the weight -1 as 255 without a word: the run then
// trains and reports chance accuracy. A read with the right signedness
// disagrees on almost no entry (an approximate multiplier may get the sign
// of a few small products wrong); the wrong one on at least half of them.
func checkSigns(t *lut.Table) error {
	e := t.Entries()
	checked, wrong := 0, 0
	for xi := 0; xi < 256; xi++ {
		x := lut.Operand(xi, t.SignedX())
		for wi := 0; wi < 256; wi++ {
			p, v := x*lut.Operand(wi, t.SignedW()), e[xi*256+wi]
			if p == 0 || v == 0 {
				continue
			}
			checked++
			if (p > 0) != (v > 0) {
				wrong++
			}
		}
	}
	if wrong*10 > checked {
		hint := "it looks like a table of unsigned operands: use -quant unsigned (EvoApprox mul8u tables are unsigned)"
		if !t.SignedW() {
			hint = "it looks like a table of signed operands: use a preset with signed weights (-quant torchapprox or signed)"
		}
		return fmt.Errorf("%d of %d products have the wrong sign for %s operands; %s", wrong, checked, signedness(t.SignedW()), hint)
	}
	return nil
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
