package train

import (
	"fmt"
	"math"
	"sort"

	"github.com/goapprox/goapprox/quantize"
)

// A run whose loss stays finite can still go non-finite elsewhere: an
// observer's running range or a batch-norm variance overflows, a second
// moment squares a huge gradient into infinity, an evaluation's loss
// becomes infinite. Such a state cannot be trained on nor saved (a
// checkpoint would not encode), so it stops the run like a non-finite
// loss, naming the first layer or parameter that holds the value, before
// any checkpoint is written: the last one stays as it was.

// stateFault is a NaN or an infinity found in the trainer's state.
type stateFault struct {
	layer, where string
	value        float64
}

// ranged is an observer that reports its running range (quantize.MinMax,
// quantize.Histogram).
type ranged interface {
	Range() (lo, hi []float32, err error)
}

// layerStateFault looks through the state that changes at every step: per
// layer, in forward order, the quantization parameters, the observers'
// ranges and the noise settings, then the batch-norm running statistics.
func (t *Trainer) layerStateFault() *stateFault {
	for _, l := range t.layers.Layers() {
		s := l.State()
		name := l.Name()
		for _, q := range []struct {
			what string
			p    quantize.Params
		}{{"activation", s.XParams}, {"weight", s.WParams}} {
			if v, bad := firstBad32(q.p.Scale); bad {
				return &stateFault{name, fmt.Sprintf("the %s quantization scale of layer %s", q.what, name), v}
			}
		}
		for _, o := range []struct {
			what string
			obs  quantize.Observer
		}{{"activation", s.XObserver}, {"weight", s.WObserver}} {
			r, ok := o.obs.(ranged)
			if !ok || r == nil {
				continue
			}
			lo, hi, err := r.Range()
			if err != nil {
				continue // nothing observed yet
			}
			if v, bad := firstBad32(lo); bad {
				return &stateFault{name, fmt.Sprintf("the %s observer's range of layer %s", o.what, name), v}
			}
			if v, bad := firstBad32(hi); bad {
				return &stateFault{name, fmt.Sprintf("the %s observer's range of layer %s", o.what, name), v}
			}
		}
		for _, v := range []float64{s.NoiseSigma, s.NoiseMu} {
			if isBad(v) {
				return &stateFault{name, fmt.Sprintf("the noise settings of layer %s", name), v}
			}
		}
	}
	for _, bn := range t.batchNorms {
		if v, bad := firstBad32(bn.State.Mean); bad {
			return &stateFault{bn.Name, fmt.Sprintf("the running mean of batch norm %s", bn.Name), v}
		}
		if v, bad := firstBad32(bn.State.Var); bad {
			return &stateFault{bn.Name, fmt.Sprintf("the running variance of batch norm %s", bn.Name), v}
		}
	}
	return nil
}

// stateFault looks through everything a checkpoint holds: the metrics, the
// per-step state (layerStateFault), the parameters and the optimizer's
// moments.
func (t *Trainer) stateFault() *stateFault {
	for _, e := range t.epochs {
		for _, m := range []struct {
			what string
			v    float64
		}{{"training loss", e.TrainLoss}, {"test loss", e.TestLoss}, {"learning rate", e.LR}} {
			if isBad(m.v) {
				return &stateFault{"", fmt.Sprintf("the %s of epoch %d of phase %s", m.what, e.Epoch, e.Phase), m.v}
			}
		}
	}
	for _, e := range t.evals {
		if isBad(e.Loss) {
			return &stateFault{"", fmt.Sprintf("the loss of evaluation %q", e.Label), e.Loss}
		}
	}
	for _, n := range t.noise {
		if isBad(n.Sigma) || isBad(n.Mu) {
			return &stateFault{n.Layer, fmt.Sprintf("the noise phase's sigma or mu of layer %s", n.Layer), math.NaN()}
		}
	}
	if f := t.layerStateFault(); f != nil {
		return f
	}
	for _, p := range t.params {
		if w, ok := p.Value().Data().([]float32); ok {
			if v, bad := firstBad32(w); bad {
				l := layerOfParam(p.Name())
				return &stateFault{l, fmt.Sprintf("parameter %s (layer %s)", p.Name(), l), v}
			}
		}
	}
	st := t.opt.State()
	for _, m := range []struct {
		what string
		mom  map[string]float32s
	}{{"first moment", st.M}, {"second moment", st.V}} {
		names := make([]string, 0, len(m.mom))
		for name := range m.mom {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if v, bad := firstBad32(m.mom[name]); bad {
				l := layerOfParam(name)
				return &stateFault{l, fmt.Sprintf("the optimizer's %s of parameter %s (layer %s)", m.what, name, l), v}
			}
		}
	}
	return nil
}

// diverged is the error of a fault found at a position of the run.
func (f *stateFault) diverged(loss float64) *DivergedError {
	return &DivergedError{Loss: loss, Layer: f.layer, First: f.where, Value: describeValue(f.value)}
}

func isBad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// firstBad32 returns the first NaN or infinity of v.
func firstBad32(v []float32) (float64, bool) {
	for _, x := range v {
		if x-x != 0 {
			return float64(x), true
		}
	}
	return 0, false
}
