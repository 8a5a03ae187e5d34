// Package geom describes the geometry of a grouped 2-D convolution (Conv):
// the shapes of its input, weights and output, their element counts, and a
// check that a geometry can be computed. The integer LUT kernels, the float
// kernels, the surrogate models and the error models all take it.
package geom
