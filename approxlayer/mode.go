package approxlayer

import "github.com/goapprox/goapprox/ops"

// Mode is what a layer computes (ops.Mode): the registry's SetMode takes
// it, so the modes are here too, where users of layers look for them.
type Mode = ops.Mode

// The modes (see ops.Mode).
const (
	Float       = ops.Float
	Quantized   = ops.Quantized
	Noise       = ops.Noise
	Approximate = ops.Approximate
	Surrogate   = ops.Surrogate
	Observe     = ops.Observe
)

// ParseMode reads a mode name ("float", "quantized", "noise",
// "approximate", "surrogate", "observe").
func ParseMode(s string) (Mode, error) { return ops.ParseMode(s) }
