// Package engine offers a Gorgonia tensor engine for training steps:
// tensor.StdEng with the sum of two float32 or float64 tensors of one
// shape computed in vector loops spread over the module's workers.
//
// Gorgonia adds gradients wherever a value feeds more than one op (the
// input of a residual block feeds both its branch and its shortcut), and
// the standard engine adds them on one core in scalar loops, while the
// rest of a GoApprox step runs on every core. A tape machine built with
// gorgonia.WithEngine(engine.New()) gives its values this engine, so
// those sums run like the rest; every other operation is the standard
// engine's. Results are bit for bit the standard engine's.
package engine
