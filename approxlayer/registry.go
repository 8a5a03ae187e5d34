package approxlayer

import (
	"fmt"
	"path"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
)

// Registry is the ordered list of a model's approximate layers, looked up
// by name. Its setters act on every layer, or on the layers whose names
// match glob patterns (path.Match syntax: "conv*", "fc?"). A pattern that
// matches no layer is an error, so that a typo does not silently leave
// layers unchanged, and a setter that fails changes no layer.
type Registry struct {
	layers []*Layer
	byName map[string]*Layer
}

// NewRegistry returns a registry holding the given layers, in order.
func NewRegistry(layers ...*Layer) (*Registry, error) {
	r := &Registry{byName: make(map[string]*Layer)}
	for _, l := range layers {
		if err := r.Add(l); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add appends a layer. Names must be unique.
func (r *Registry) Add(l *Layer) error {
	if l == nil {
		return fmt.Errorf("approxlayer: adding a nil layer")
	}
	if r.byName == nil {
		r.byName = make(map[string]*Layer)
	}
	if _, dup := r.byName[l.name]; dup {
		return fmt.Errorf("approxlayer: the registry already has a layer named %q", l.name)
	}
	r.layers = append(r.layers, l)
	r.byName[l.name] = l
	return nil
}

// Layers returns the layers in order. The slice is a copy.
func (r *Registry) Layers() []*Layer { return append([]*Layer(nil), r.layers...) }

// Len returns the number of layers.
func (r *Registry) Len() int { return len(r.layers) }

// Layer returns the layer with the given name, or nil.
func (r *Registry) Layer(name string) *Layer { return r.byName[name] }

// Names returns the layer names in order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.layers))
	for i, l := range r.layers {
		names[i] = l.name
	}
	return names
}

// Select returns, in registry order, the layers whose names match any of
// the glob patterns, or every layer when no pattern is given.
func (r *Registry) Select(patterns ...string) ([]*Layer, error) {
	if len(patterns) == 0 {
		return r.Layers(), nil
	}
	chosen := make(map[*Layer]bool)
	for _, p := range patterns {
		n := 0
		for _, l := range r.layers {
			ok, err := path.Match(p, l.name)
			if err != nil {
				return nil, fmt.Errorf("approxlayer: layer pattern %q: %w", p, err)
			}
			if ok {
				chosen[l] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("approxlayer: layer pattern %q matches none of the layers %v", p, r.Names())
		}
	}
	var out []*Layer
	for _, l := range r.layers {
		if chosen[l] {
			out = append(out, l)
		}
	}
	return out, nil
}

// SetMode switches the selected layers (all when no pattern is given) to
// mode m. Approximate and Surrogate modes need every selected layer to
// have a table.
func (r *Registry) SetMode(m ops.Mode, patterns ...string) error {
	ls, err := r.Select(patterns...)
	if err != nil {
		return err
	}
	if !m.Valid() {
		return fmt.Errorf("approxlayer: unknown mode %v", m)
	}
	for _, l := range ls {
		if err := l.modeFits(m); err != nil {
			return err
		}
	}
	for _, l := range ls {
		l.state.Mode = m
	}
	return nil
}

// SetSurrogateRank sets the rank of the selected layers' error surrogates
// (Layer.SetSurrogateRank); with weighted, each layer's fit weights codes
// by its own recorded histograms.
func (r *Registry) SetSurrogateRank(rank int, weighted bool, patterns ...string) error {
	return r.setSurrogate(ops.SurrogateSettings{Rank: rank}, weighted, patterns)
}

// SetSurrogateFidelity sets the fidelity target of the selected layers'
// error surrogates (Layer.SetSurrogateFidelity).
func (r *Registry) SetSurrogateFidelity(target float64, weighted bool, patterns ...string) error {
	if !(target > 0 && target <= 1) {
		return fmt.Errorf("approxlayer: surrogate fidelity target %v must lie in (0, 1]; use SetSurrogateRank(0, ...) for the exact product alone", target)
	}
	return r.setSurrogate(ops.SurrogateSettings{Fidelity: target}, weighted, patterns)
}

func (r *Registry) setSurrogate(set ops.SurrogateSettings, weighted bool, patterns []string) error {
	ls, err := r.Select(patterns...)
	if err != nil {
		return err
	}
	sets := make([]ops.SurrogateSettings, len(ls))
	for i, l := range ls {
		if sets[i], err = l.surrogateSettings(set, weighted); err != nil {
			return err
		}
	}
	for i, l := range ls {
		l.state.Surrogate = sets[i]
	}
	return nil
}

// FitSurrogates fits the error surrogates of the selected layers now
// (Layer.FitSurrogate), so that the first run in Surrogate mode does not
// pay for it and problems show at once.
func (r *Registry) FitSurrogates(patterns ...string) error {
	ls, err := r.Select(patterns...)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if _, err := l.FitSurrogate(); err != nil {
			return err
		}
	}
	return nil
}

// SetTable gives the selected layers (all when no pattern is given) the
// multiplier table t, after checking that it fits each layer's code ranges.
func (r *Registry) SetTable(t *lut.Table, patterns ...string) error {
	ls, err := r.Select(patterns...)
	if err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("approxlayer: nil table")
	}
	for _, l := range ls {
		if err := l.tableFits(t); err != nil {
			return err
		}
	}
	for _, l := range ls {
		if err := l.SetTable(t); err != nil {
			return err
		}
	}
	return nil
}

// SetGradient sets the backward pass of the selected layers (all when no
// pattern is given); see Layer.SetGradient.
func (r *Registry) SetGradient(g ops.Gradient, patterns ...string) error {
	ls, err := r.Select(patterns...)
	if err != nil {
		return err
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("approxlayer: %w", err)
	}
	for _, l := range ls {
		if err := l.SetGradient(g); err != nil {
			return err
		}
	}
	return nil
}

// SetNoise sets the Noise mode's relative sigma and absolute mu of the
// selected layers (all when no pattern is given).
func (r *Registry) SetNoise(sigma, mu float64, patterns ...string) error {
	ls, err := r.Select(patterns...)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if err := l.SetNoise(sigma, mu); err != nil {
			return err
		}
	}
	return nil
}

// SetThreads bounds the kernels' workers of the selected layers (all of
// them without patterns): n >= 1, or 0 for all cores.
func (r *Registry) SetThreads(n int, patterns ...string) error {
	if n < 0 {
		return fmt.Errorf("approxlayer: %d threads; use 0 for all cores or a positive count", n)
	}
	ls, err := r.Select(patterns...)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if err := l.SetThreads(n); err != nil {
			return err
		}
	}
	return nil
}

// SetTraining puts every layer in training (on) or evaluation.
func (r *Registry) SetTraining(on bool) {
	for _, l := range r.layers {
		l.SetTraining(on)
	}
}

// FreezeObservers stops every layer's observers, keeping the current
// quantization parameters.
func (r *Registry) FreezeObservers() {
	for _, l := range r.layers {
		l.FreezeObservers()
	}
}

// UnfreezeObservers lets every layer's observers learn again.
func (r *Registry) UnfreezeObservers() {
	for _, l := range r.layers {
		l.UnfreezeObservers()
	}
}

// RecordHistograms turns code counting on or off in every layer.
func (r *Registry) RecordHistograms(on bool) {
	for _, l := range r.layers {
		l.RecordHistograms(on)
	}
}

// Learnables returns every layer's weight and bias nodes, in order.
func (r *Registry) Learnables() G.Nodes {
	var ns G.Nodes
	for _, l := range r.layers {
		ns = append(ns, l.Learnables()...)
	}
	return ns
}
