package train

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// optimizer updates parameters from their bound gradients and zeroes the
// gradients. Gorgonia's own solvers keep their moments in unexported fields,
// so a checkpoint could not save them and a resumed run would differ; these
// keep their state in an optimizerState that checkpoints store.
type optimizer struct {
	kind  string
	state optimizerState
}

// optimizerState is the serialisable state of an optimizer: the number of
// steps taken and, per parameter name, the first (and for Adam second)
// moment. Values are float32, which JSON stores exactly.
type optimizerState struct {
	Kind  string               `json:"kind"`
	Steps int                  `json:"steps"`
	M     map[string][]float32 `json:"m,omitempty"`
	V     map[string][]float32 `json:"v,omitempty"`
}

const (
	adamBeta1   = 0.9
	adamBeta2   = 0.999
	adamEps     = 1e-8
	sgdMomentum = 0.9
)

func newOptimizer(kind string) *optimizer {
	return &optimizer{kind: kind, state: optimizerState{Kind: kind, M: map[string][]float32{}, V: map[string][]float32{}}}
}

func (o *optimizer) setState(s optimizerState) error {
	if s.Kind != o.kind {
		return fmt.Errorf("checkpoint holds %s optimizer state, the run uses %s", s.Kind, o.kind)
	}
	if s.M == nil {
		s.M = map[string][]float32{}
	}
	if s.V == nil {
		s.V = map[string][]float32{}
	}
	o.state = s
	return nil
}

// step applies one update with learning rate lr to every parameter and
// zeroes its gradient (a TapeMachine adds into bound gradients).
func (o *optimizer) step(params G.Nodes, lr float64) error {
	o.state.Steps++
	t := float64(o.state.Steps)
	bc1 := 1 - math.Pow(adamBeta1, t)
	bc2 := 1 - math.Pow(adamBeta2, t)
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
		m := o.moment(o.state.M, p.Name(), len(w))
		// check collects x-x over the new weights: 0 unless one of them
		// is NaN or infinite.
		var check float32
		switch o.kind {
		case "adam":
			v := o.moment(o.state.V, p.Name(), len(w))
			for i, gi := range g {
				m[i] = adamBeta1*m[i] + (1-adamBeta1)*gi
				v[i] = adamBeta2*v[i] + (1-adamBeta2)*gi*gi
				mHat := float64(m[i]) / bc1
				vHat := float64(v[i]) / bc2
				w[i] -= float32(lr * mHat / (math.Sqrt(vHat) + adamEps))
				check += w[i] - w[i]
			}
		case "sgd":
			for i, gi := range g {
				m[i] = sgdMomentum*m[i] + gi
				w[i] -= float32(lr) * m[i]
				check += w[i] - w[i]
			}
		default:
			return fmt.Errorf("unknown optimizer %q", o.kind)
		}
		clear(g)
		if check != 0 {
			for _, x := range w {
				if x-x != 0 {
					return &nonFiniteParam{name: p.Name(), value: x}
				}
			}
		}
	}
	return nil
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

func (o *optimizer) moment(table map[string][]float32, name string, n int) []float32 {
	m := table[name]
	if len(m) != n {
		m = make([]float32, n)
		table[name] = m
	}
	return m
}
