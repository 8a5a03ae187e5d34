package train

import (
	"fmt"
	"math"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/parallel"
)

// Optimizer updates parameters from their bound gradients and zeroes the
// gradients, as the trainer does: Adam (beta 0.9/0.999, eps 1e-8) or SGD
// with momentum 0.9, its moments starting at zero. Training loops outside
// a Trainer, such as benchmarks, use it to update parameters exactly as
// the trainer does. Gorgonia's own solvers keep their moments in
// unexported fields, so a checkpoint could not save them and a resumed run
// would differ; this one keeps its state in an optimizerState that
// checkpoints store.
type Optimizer struct {
	kind    string
	state   optimizerState
	update  paramUpdate    // reused by every step
	targets []updateTarget // reused by every step
}

// NewOptimizer returns a fresh optimizer of the given kind, one of
// Optimizers().
func NewOptimizer(kind string) (*Optimizer, error) {
	if !contains(Optimizers(), kind) {
		return nil, fmt.Errorf("unknown optimizer %q; optimizers: %s", kind, strings.Join(Optimizers(), ", "))
	}
	return newOptimizer(kind), nil
}

// optimizerState is the serialisable state of an optimizer: the number of
// steps taken and, per parameter name, the first (and for Adam second)
// moment, stored as base64 of their bits (float32s).
type optimizerState struct {
	Kind  string              `json:"kind"`
	Steps int                 `json:"steps"`
	M     map[string]float32s `json:"m,omitempty"`
	V     map[string]float32s `json:"v,omitempty"`
}

const (
	adamBeta1   = 0.9
	adamBeta2   = 0.999
	adamEps     = 1e-8
	sgdMomentum = 0.9
)

func newOptimizer(kind string) *Optimizer {
	return &Optimizer{kind: kind, state: optimizerState{Kind: kind, M: map[string]float32s{}, V: map[string]float32s{}}}
}

func (o *Optimizer) setState(s optimizerState) error {
	if s.Kind != o.kind {
		return fmt.Errorf("checkpoint holds %s optimizer state, the run uses %s", s.Kind, o.kind)
	}
	if s.M == nil {
		s.M = map[string]float32s{}
	}
	if s.V == nil {
		s.V = map[string]float32s{}
	}
	o.state = s
	return nil
}

// Step updates every parameter from its bound gradient with learning
// rate lr and zeroes the gradient (a TapeMachine adds into bound
// gradients, so it must be cleared between steps). The parameters must be
// float32 nodes with gradients bound (gorgonia.BindDualValues); the
// moments are kept by parameter name. A parameter that holds a NaN or an
// infinity after its update is an error.
func (o *Optimizer) Step(params G.Nodes, lr float64) error {
	switch o.kind {
	case "adam", "sgd":
	default:
		return fmt.Errorf("unknown optimizer %q", o.kind)
	}
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
			return &nonFiniteGrad{name: p.Name(), value: firstNonFinite(g)}
		}
		o.targets = append(o.targets, updateTarget{name: p.Name(), w: w, g: g})
	}
	o.state.Steps++
	t := float64(o.state.Steps)
	u := &o.update
	u.adam, u.lr = o.kind == "adam", lr
	u.bc1 = 1 - math.Pow(adamBeta1, t)
	u.bc2 = 1 - math.Pow(adamBeta2, t)
	defer func() { u.w, u.g, u.m, u.v = nil, nil, nil, nil }()
	for _, p := range o.targets {
		u.w, u.g = p.w, p.g
		u.m = o.moment(o.state.M, p.name, len(p.w))
		if u.adam {
			u.v = o.moment(o.state.V, p.name, len(p.w))
		}
		if u.run() {
			return &nonFiniteParam{name: p.name, value: firstNonFinite(p.w)}
		}
	}
	return nil
}

// updateTarget is one parameter's values and gradient, checked.
type updateTarget struct {
	name string
	w, g []float32
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
// thread of its own (about 20µs of Adam): LeNet-5's fc1 weights split,
// its other parameters are updated on one thread.
const minUpdatePerPart = 8 << 10

// paramUpdate is the update of one parameter, split over threads by
// element: every element's update depends on that element alone, so the
// weights come out the same for any split.
type paramUpdate struct {
	adam         bool
	lr, bc1, bc2 float64
	w, g, m, v   []float32
	checks       []float32 // per part: Σ(w-w) over its new weights
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

// adamArgs are adamAVX's constants (laid out as adam_amd64.s reads them)
// and its result.
type adamArgs struct {
	lr, bc1, bc2, eps float64
	b1, c1, b2, c2    float32 // beta1, 1-beta1, beta2, 1-beta2
	check             [4]float32
}

// Run updates elements [lo, hi). check collects x-x over the new weights:
// 0 unless one of them is NaN or infinite. The explicit float32
// conversions keep the compiler from fusing a multiplication and an
// addition (FMA), which would change the bits on CPUs that have it.
func (u *paramUpdate) Run(part, lo, hi int) {
	w, g, m := u.w[lo:hi], u.g[lo:hi], u.m[lo:hi]
	var check float32
	if u.adam {
		v := u.v[lo:hi]
		lr, bc1, bc2 := u.lr, u.bc1, u.bc2
		k := 0
		if useAVX && len(g) >= 4 {
			k = len(g) &^ 3
			a := adamArgs{lr: lr, bc1: bc1, bc2: bc2, eps: adamEps, b1: adamBeta1, c1: 1 - adamBeta1, b2: adamBeta2, c2: 1 - adamBeta2}
			adamAVX(&w[0], &g[0], &m[0], &v[0], k, &a)
			check = (a.check[0] + a.check[1]) + (a.check[2] + a.check[3])
		}
		for i := k; i < len(g); i++ {
			gi := g[i]
			m[i] = float32(adamBeta1*m[i]) + float32((1-adamBeta1)*gi)
			v[i] = float32(adamBeta2*v[i]) + float32((1-adamBeta2)*gi*gi)
			mHat := float64(m[i]) / bc1
			vHat := float64(v[i]) / bc2
			w[i] -= float32(lr * mHat / (math.Sqrt(vHat) + adamEps))
			check += w[i] - w[i]
		}
	} else {
		lr := float32(u.lr)
		for i, gi := range g {
			m[i] = float32(sgdMomentum*m[i]) + gi
			w[i] -= float32(lr * m[i])
			check += w[i] - w[i]
		}
	}
	clear(g)
	u.checks[part] = check
}

// nonFiniteGrad is a parameter whose gradient holds a NaN or an infinity;
// no parameter was updated.
type nonFiniteGrad struct {
	name  string
	value float32
}

func (e *nonFiniteGrad) Error() string {
	return fmt.Sprintf("the gradient of parameter %s holds %v", e.name, e.value)
}

// nonFiniteParam is a parameter that holds a NaN or an infinity after an
// update.
type nonFiniteParam struct {
	name  string
	value float32
}

func (e *nonFiniteParam) Error() string {
	return fmt.Sprintf("parameter %s holds %v after the update", e.name, e.value)
}

func (o *Optimizer) moment(table map[string]float32s, name string, n int) []float32 {
	m := table[name]
	if len(m) != n {
		m = make([]float32, n)
		table[name] = m
	}
	return m
}
