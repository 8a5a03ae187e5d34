// Package errmodel predicts the output error that an approximate multiplier
// causes in one layer, from the multiplier's error map and the distributions
// of the layer's operand codes, and checks the prediction against the error
// actually measured. It is the probabilistic error model of the
// approximate-Gaussian-noise method (Trommer, Waschneck and Kumar, "Combining
// Gradients and Probabilities for Heterogeneous Approximation of Neural
// Networks", ICCAD 2022, arXiv 2208.07265), written from the paper's
// equations, plus two refinements that use the layer's weights exactly.
//
// # Why the error is a sum of table errors
//
// In Approximate mode a layer computes, per output, the accumulator
// acc = Σ_k lut[x_k][w_k] over its K (fan-in) products of activation and
// weight codes, applies the zero-point correction and rescales by sx·sw[o].
// The correction terms are exact integer sums, so the only difference from
// the Quantized output is
//
//	y_approx − y_quant = sx·sw[o] · Σ_k e(x_k, w_k),   e(x, w) = lut[x][w] − x·w
//
// with x and w the integer codes. The model describes the mean and standard
// deviation of that sum.
//
// # The models
//
// With m(w) = E_x[e(x, w)] and v(w) = Var_x[e(x, w)] the moments of a table
// column under an activation distribution p(x):
//
//   - Global (the paper's single-distribution model): every product draws x
//     from the layer's activation histogram and w from its weight histogram,
//     independently; mean K·μe, variance K·σe², μe and σe² the moments of e
//     under p(x)p(w).
//   - Population (the paper's model, Eq. 15-16): the activation distribution
//     is taken per receptive field (one output's K input codes), sampled over
//     the data; each field gives the Global moments, and the fields are pooled
//     as a mixture.
//   - Channels: the weights of output channel o are known, so its error has
//     mean Σ_k m(w_ok) and variance Σ_k v(w_ok); only the activations are
//     random.
//   - PopulationChannels: both refinements, per field and per channel.
//
// Every model assumes the K products' activations independent of each other
// and of the weights. A Prediction gives the moments per output channel and
// over all outputs (channels pooled as an equal-weight mixture), which is
// what Noise mode's single sigma (relative to std(y)) and mu (absolute)
// stand for: NoiseParams and FromState turn a prediction into them.
//
// Validate runs one Linear or Conv2d op on given data twice, in Quantized and
// in Approximate mode, and compares the measured difference with every
// model. docs/errmodel.md states the equations and the measured agreement.
package errmodel
