package ops

import (
	"fmt"
	"strings"
)

// Mode selects what an approximate layer computes. It is read on every run,
// so switching modes needs no new graph and no new machine.
type Mode int

const (
	// Float is the ordinary layer: float products, no quantization.
	Float Mode = iota
	// Quantized multiplies fake-quantized inputs and weights exactly.
	Quantized
	// Noise is Quantized plus, in training only, Gaussian noise
	// N(0,1)·std(y)·Sigma + Mu on the output: the Gaussian error model of a
	// multiplier.
	Noise
	// Approximate replaces every product by the layer's table entry
	// lut[x_code][w_code].
	Approximate
	// Surrogate replaces the table lookups of Approximate mode by the
	// table's low-rank error surrogate (package surrogate): the exact
	// product plus a few rank-1 error terms, computed as float GEMMs.
	Surrogate
	// Observe computes as Float (float products, float gradients) while,
	// in training runs, the observers watch the inputs and weights as in
	// the modes that quantize: PyTorch's fake quantization disabled with
	// the observers enabled. A quantization-aware training that begins
	// this way quantizes from ranges that have already seen the data.
	Observe
)

var modeNames = [...]string{"float", "quantized", "noise", "approximate", "surrogate", "observe"}

func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Valid reports whether m is one of the modes above.
func (m Mode) Valid() bool { return m >= Float && int(m) < len(modeNames) }

// Quantizes reports whether mode m computes from quantized inputs and
// weights: every mode but Float and Observe.
func (m Mode) Quantizes() bool { return m.Valid() && m != Float && m != Observe }

// NeedsTable reports whether mode m reads the layer's multiplier table.
func (m Mode) NeedsTable() bool { return m == Approximate || m == Surrogate }

// ParseMode reads a mode name as printed by String.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q: use one of %s", s, strings.Join(modeNames[:], ", "))
}
