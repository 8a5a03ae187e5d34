// Package optimizer updates a Gorgonia model's parameters from their bound
// gradients and sets the learning rate of each step.
//
// Two optimizers: Adam (PyTorch's update, moments in float32, the
// bias-corrected step in float64; DefaultAdam) and SGD with momentum,
// weight decay and Nesterov momentum (PyTorch's torch.optim.SGD without
// dampening; DefaultSGD), whose weight decay leaves out biases and
// batch-norm scales and shifts unless told otherwise. Their state (step
// count and moments per parameter name) is a plain value, State, that a
// checkpoint can store and SetState restores, so that a resumed run
// continues bit for bit; Gorgonia's own solvers keep theirs in unexported
// fields. A step first checks every gradient and changes nothing when one
// holds a NaN or an infinity (*NonFiniteGradError), and reports a
// parameter the update left non-finite (*NonFiniteParamError).
//
// Learning-rate schedules (Constant, Cosine, MultiStep, optionally behind
// a linear Warmup) give the rate of each step of a training stage from the
// base rate and the step's Position.
//
// The update of a parameter is split over threads by element; every
// element's update depends on that element alone, so the weights are the
// same for any number of threads.
package optimizer
