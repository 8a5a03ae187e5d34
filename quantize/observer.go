package quantize

// Observer watches the values of one tensor during training and proposes
// quantization parameters for it.
//
// Observe is a no-op while the observer is frozen, so a frozen observer
// keeps its parameters. Params fails until at least one tensor has been
// observed (or parameters were restored with SetState).
type Observer interface {
	// Observe records the values of a C-order tensor of the given shape.
	Observe(values []float32, shape []int)
	// Params returns the parameters for what has been observed so far.
	Params() (Params, error)
	Freeze()
	Unfreeze()
	Frozen() bool
	// Reset forgets everything observed.
	Reset()
}
