package optimizer

import (
	"fmt"
	"math"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
)

// Kind names an optimizer.
type Kind string

// The optimizers.
const (
	KindAdam Kind = "adam"
	KindSGD  Kind = "sgd"
)

// Kinds lists the optimizer kinds.
func Kinds() []Kind { return []Kind{KindAdam, KindSGD} }

// Adam holds Adam's settings (PyTorch's torch.optim.Adam without weight
// decay).
type Adam struct {
	Beta1, Beta2 float64 // decay of the first and second moments
	Eps          float64 // added to the root of the second moment
}

// DefaultAdam is PyTorch's default: beta 0.9 and 0.999, eps 1e-8.
func DefaultAdam() Adam { return Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Validate checks the settings.
func (a Adam) Validate() error {
	if !(a.Beta1 >= 0 && a.Beta1 < 1) || !(a.Beta2 >= 0 && a.Beta2 < 1) {
		return fmt.Errorf("adam betas %v and %v must be in [0, 1)", a.Beta1, a.Beta2)
	}
	if !(a.Eps > 0) || math.IsInf(a.Eps, 0) {
		return fmt.Errorf("adam eps %v must be a positive number", a.Eps)
	}
	return nil
}

// SGD holds the settings of stochastic gradient descent, as
// torch.optim.SGD computes it without dampening: with g the gradient plus
// WeightDecay·w, the buffer b = Momentum·b + g (b = g on the first step),
// and the step w -= lr·b, or w -= lr·(g + Momentum·b) with Nesterov.
type SGD struct {
	Momentum    float64
	WeightDecay float64 // L2 penalty added to the gradient
	Nesterov    bool
	// Decay says which parameters get weight decay; nil means those of
	// rank 2 and more (the weights of dense and convolution layers), not
	// biases and batch-norm scales and shifts, as CIFAR networks are
	// usually trained.
	Decay func(p *G.Node) bool
}

// DefaultSGD is momentum 0.9, no weight decay, no Nesterov.
func DefaultSGD() SGD { return SGD{Momentum: 0.9} }

// Validate checks the settings.
func (s SGD) Validate() error {
	if !(s.Momentum >= 0 && s.Momentum < 1) {
		return fmt.Errorf("sgd momentum %v must be in [0, 1)", s.Momentum)
	}
	if !(s.WeightDecay >= 0) || math.IsInf(s.WeightDecay, 0) {
		return fmt.Errorf("weight decay %v must be a finite number >= 0", s.WeightDecay)
	}
	if s.Nesterov && s.Momentum == 0 {
		return fmt.Errorf("nesterov momentum needs a momentum above 0")
	}
	return nil
}

// decays is the default weight-decay rule: weights of rank 2 and more.
func decays(p *G.Node) bool { return p.Shape().Dims() >= 2 }

// Optimizer updates parameters from their bound gradients and zeroes the
// gradients, its moments starting at zero. Training loops outside a
// trainer, such as benchmarks, use it to update parameters exactly as the
// trainer does. It is not safe for concurrent use.
type Optimizer struct {
	kind    Kind
	adam    Adam
	sgd     SGD
	state   State
	update  paramUpdate    // reused by every step
	targets []updateTarget // reused by every step
}

// NewAdam returns a fresh Adam optimizer.
func NewAdam(a Adam) (*Optimizer, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	o := &Optimizer{kind: KindAdam, adam: a}
	o.reset()
	return o, nil
}

// NewSGD returns a fresh SGD optimizer.
func NewSGD(s SGD) (*Optimizer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	o := &Optimizer{kind: KindSGD, sgd: s}
	o.reset()
	return o, nil
}

// New returns a fresh optimizer of the given kind with its default
// settings (DefaultAdam, DefaultSGD).
func New(kind string) (*Optimizer, error) {
	switch Kind(kind) {
	case KindAdam:
		return NewAdam(DefaultAdam())
	case KindSGD:
		return NewSGD(DefaultSGD())
	}
	names := make([]string, len(Kinds()))
	for i, k := range Kinds() {
		names[i] = string(k)
	}
	return nil, fmt.Errorf("unknown optimizer %q; optimizers: %s", kind, strings.Join(names, ", "))
}

func (o *Optimizer) reset() {
	o.state = State{Kind: string(o.kind), M: map[string]Float32s{}, V: map[string]Float32s{}}
}

// Kind returns the optimizer's kind.
func (o *Optimizer) Kind() Kind { return o.kind }

// Steps returns the number of steps taken.
func (o *Optimizer) Steps() int { return o.state.Steps }

// State returns a copy of the optimizer's state.
func (o *Optimizer) State() State { return o.state.Clone() }

// SetState replaces the optimizer's state by a copy of s, which must be of
// the same kind.
func (o *Optimizer) SetState(s State) error {
	if s.Kind != string(o.kind) {
		return fmt.Errorf("%s optimizer state given to an %s optimizer", s.Kind, o.kind)
	}
	if s.Steps < 0 {
		return fmt.Errorf("the saved optimizer has taken %d steps", s.Steps)
	}
	o.state = s.Clone()
	return nil
}

// Step updates every parameter from its bound gradient with learning
// rate lr and zeroes the gradient (a TapeMachine adds into bound
// gradients, so it must be cleared between steps). The parameters must be
// float32 nodes with gradients bound (gorgonia.BindDualValues); the
// moments are kept by parameter name. A gradient holding a NaN or an
// infinity is a *NonFiniteGradError and changes nothing; a parameter that
// holds a NaN or an infinity after its update is a *NonFiniteParamError.
func (o *Optimizer) Step(params G.Nodes, lr float64) error {
	// Every gradient is checked before any parameter changes, so that a
	// step whose backward pass went non-finite leaves the weights and
	// moments as they were.
	o.targets = o.targets[:0]
	for _, p := range params {
		gv, err := p.Grad()
		if err != nil {
			return fmt.Errorf("gradient of %s: %w", p.Name(), err)
		}
		gd, ok := gv.(*tensor.Dense)
		if !ok {
			return fmt.Errorf("gradient of %s is a %T, want a float32 tensor", p.Name(), gv)
		}
		g, ok := gd.Data().([]float32)
		if !ok {
			return fmt.Errorf("gradient of %s holds %T, want []float32", p.Name(), gd.Data())
		}
		w, ok := p.Value().Data().([]float32)
		if !ok || len(w) != len(g) {
			return fmt.Errorf("parameter %s: value and gradient do not match", p.Name())
		}
		if !allFinite(g) {
			return &NonFiniteGradError{Param: p.Name(), Value: firstNonFinite(g)}
		}
		decay := false
		if o.kind == KindSGD && o.sgd.WeightDecay != 0 {
			if o.sgd.Decay != nil {
				decay = o.sgd.Decay(p)
			} else {
				decay = decays(p)
			}
		}
		o.targets = append(o.targets, updateTarget{name: p.Name(), w: w, g: g, decay: decay})
	}
	o.state.Steps++
	t := float64(o.state.Steps)
	u := &o.update
	u.kind, u.lr = o.kind, lr
	if o.kind == KindAdam {
		a := o.adam
		u.b1, u.c1 = float32(a.Beta1), float32(1-a.Beta1)
		u.b2, u.c2 = float32(a.Beta2), float32(1-a.Beta2)
		u.eps = a.Eps
		u.bc1 = 1 - math.Pow(a.Beta1, t)
		u.bc2 = 1 - math.Pow(a.Beta2, t)
	} else {
		u.b1, u.nesterov = float32(o.sgd.Momentum), o.sgd.Nesterov
	}
	defer func() { u.w, u.g, u.m, u.v = nil, nil, nil, nil }()
	for _, p := range o.targets {
		u.w, u.g = p.w, p.g
		u.wd = 0
		if p.decay {
			u.wd = float32(o.sgd.WeightDecay)
		}
		u.m = moment(o.state.M, p.name, len(p.w))
		if o.kind == KindAdam {
			u.v = moment(o.state.V, p.name, len(p.w))
		}
		if u.run() {
			return &NonFiniteParamError{Param: p.name, Value: firstNonFinite(p.w)}
		}
	}
	return nil
}

// updateTarget is one parameter's values and gradient, checked.
type updateTarget struct {
	name  string
	w, g  []float32
	decay bool
}

func moment(table map[string]Float32s, name string, n int) []float32 {
	m := table[name]
	if len(m) != n {
		m = make([]float32, n)
		table[name] = m
	}
	return m
}

// NonFiniteGradError is a parameter whose gradient holds a NaN or an
// infinity; no parameter was updated.
type NonFiniteGradError struct {
	Param string
	Value float32
}

func (e *NonFiniteGradError) Error() string {
	return fmt.Sprintf("the gradient of parameter %s holds %v", e.Param, e.Value)
}

// NonFiniteParamError is a parameter that holds a NaN or an infinity after
// an update.
type NonFiniteParamError struct {
	Param string
	Value float32
}

func (e *NonFiniteParamError) Error() string {
	return fmt.Sprintf("parameter %s holds %v after the update", e.Param, e.Value)
}

// allFinite reports whether v holds no NaN or infinity: x-x is 0 for a
// finite x and NaN otherwise, and four sums keep the adds independent.
func allFinite(v []float32) bool {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += v[i] - v[i]
		s1 += v[i+1] - v[i+1]
		s2 += v[i+2] - v[i+2]
		s3 += v[i+3] - v[i+3]
	}
	for ; i < len(v); i++ {
		s0 += v[i] - v[i]
	}
	return s0+s1+s2+s3 == 0
}

// firstNonFinite returns the first NaN or infinity in v (0 if none).
func firstNonFinite(v []float32) float32 {
	for _, x := range v {
		if x-x != 0 {
			return x
		}
	}
	return 0
}

// minUpdatePerPart is the least number of values an update hands to a
// thread of its own: large weight matrices split, biases and small layers
// are updated on one thread.
const minUpdatePerPart = 8 << 10

// paramUpdate is the update of one parameter, split over threads by
// element.
type paramUpdate struct {
	kind     Kind
	lr       float64
	bc1, bc2 float64 // Adam's bias corrections
	eps      float64
	b1, c1   float32 // Adam: beta1, 1-beta1; SGD: momentum in b1
	b2, c2   float32 // Adam: beta2, 1-beta2
	wd       float32 // SGD weight decay of this parameter
	nesterov bool
	w, g     []float32
	m, v     []float32
	checks   []float32 // per part: Σ(w-w) over its new weights
}

// run updates w, m and v from g, zeroes g, and reports whether a new
// weight is NaN or infinite.
func (u *paramUpdate) run() (nonFinite bool) {
	n := len(u.w)
	parts := parallel.Parts(n, 0, minUpdatePerPart)
	if len(u.checks) < parts {
		u.checks = make([]float32, parts)
	}
	parallel.Run(n, 0, minUpdatePerPart, u)
	for _, c := range u.checks[:parts] {
		if c != 0 {
			nonFinite = true
		}
	}
	return nonFinite
}

// Run updates elements [lo, hi). check collects x-x over the new weights:
// 0 unless one of them is NaN or infinite. The explicit float32
// conversions keep the compiler from fusing a multiplication and an
// addition (FMA), which would change the bits on CPUs that have it.
func (u *paramUpdate) Run(part, lo, hi int) {
	w, g, m := u.w[lo:hi], u.g[lo:hi], u.m[lo:hi]
	var check float32
	if u.kind == KindAdam {
		check = u.adam(w, g, m, u.v[lo:hi])
	} else {
		lr, mu, wd := float32(u.lr), u.b1, u.wd
		for i, gi := range g {
			if wd != 0 {
				gi += float32(wd * w[i])
			}
			m[i] = float32(mu*m[i]) + gi
			step := m[i]
			if u.nesterov {
				step = gi + float32(mu*m[i])
			}
			w[i] -= float32(lr * step)
			check += w[i] - w[i]
		}
	}
	clear(g)
	u.checks[part] = check
}

// adam is Adam's update of one part; the first multiple of 4 elements go
// through the vector kernel where there is one.
func (u *paramUpdate) adam(w, g, m, v []float32) (check float32) {
	return f32.Adam(f32.AdamStep{LR: u.lr, BC1: u.bc1, BC2: u.bc2, Eps: u.eps, B1: u.b1, C1: u.c1, B2: u.b2, C2: u.c2}, w, g, m, v)
}
