// Package surrogate replaces table lookups by a few ordinary matrix products:
// a low-rank "error surrogate" of an approximate multiplier.
//
// Any 256x256 multiplier table is the exact product plus an error,
//
//	table[x][w] = x·w + E[x][w]
//
// (x, w the operand values of the codes, lut.Operand). The singular value
// decomposition of E, cut after r terms, gives
//
//	E[x][w] ≈ Σ_{i<r} u_i[x]·v_i[w]
//
// and so an approximate matrix product becomes
//
//	Σ_l table[x_ml][w_nl] ≈ (X·Wᵀ)[m][n] + Σ_{i<r} (u_i(X)·v_i(W)ᵀ)[m][n]
//
// where u_i(X) replaces every code of X by u_i[code]. That is r+1 float
// GEMMs on transformed operands, computed here as one GEMM whose inner
// dimension holds the r+1 transformed copies side by side. A convolution is
// the same after unfolding the codes (im2col); padding positions carry the
// activation zero-point code, whose transforms are not zero, so padding is
// unfolded as that code before transforming.
//
// The surrogate only replaces the integer accumulator Σ table[x][w];
// zero-point corrections and scaling stay as in package ops. Its sums are
// floats and are not rounded: below full rank they are not the table's
// integers anyway.
//
// Fidelity. Analyze decomposes E weighted by the code distributions p(x),
// q(w) (uniform, or histograms such as ops.LayerState.XHist and WHist
// record); the cut is the best rank-r approximation in the weighted norm
// Σ p(x)q(w)(E - Ê)². Spectrum.Residual(r) is that mean squared error per
// product, and Spectrum.Fidelity(r) = 1 - Residual(r)/Residual(0) the share
// of the multiplier's error the surrogate reproduces: 0 for the exact
// product alone, 1 at full rank. FitFidelity picks the smallest r reaching a
// target. An exact table has E = 0, rank 0, and its surrogate is the exact
// GEMM alone.
//
// Use in a layer: the accumulator of an approximate layer is
// T = acc - zx·Σw - zw·Σx + K·zx·zw, then y = T·sx·sw. A surrogate mode
// computes acc with GEMM or Conv2d instead of the LUT kernel (padding with
// the activation zero-point code) and keeps the rest. The surrogate is
// fitted once per table and rank (Analyze is about 40 ms), ideally with the
// layer's recorded code histograms, and refitted when the table changes.
//
// Accumulated errors also depend on the bias of the per-product error (it
// adds up coherently over the k products of a sum), which the Frobenius
// criterion does not single out; docs/surrogate.md reports measured
// accumulator errors, and docs/performance.md speeds against the LUT
// kernels: on a CPU with AVX-512 VBMI the LUT kernel is faster at every
// rank ≥ 1; the surrogate pays off where lookups are dear and GEMMs cheap.
package surrogate
