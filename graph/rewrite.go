package graph

import (
	"fmt"
	"path"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
)

// Options say which layers to convert and how to quantize them. The zero
// value converts every layer with the default preset.
type Options struct {
	// Include, when not empty, converts only layers whose names match one
	// of these glob patterns (path.Match syntax); Exclude leaves out those
	// matching any of its patterns. A layer is named after its weight node.
	Include, Exclude []string
	// SkipFirst and SkipLast leave the network's first and last layer (in
	// graph order) as they are, a common choice for approximate networks.
	SkipFirst, SkipLast bool
	// Weights, when not empty, are the only nodes taken as weights; use it
	// when a Mul multiplies two leaves and the weight is the left one.
	Weights []*G.Node
	// Preset names the quantization preset (quantize.PresetNames; default
	// approxlayer.DefaultPreset).
	Preset string
	// Observer, when not empty, replaces the preset's observer kinds.
	Observer quantize.ObserverKind
	// FastFloat runs the Float mode of float32 layers that replace a
	// gorgonia.Conv2d on GoApprox's float kernels, which are faster than
	// gorgonia's im2col and BLAS product but sum in another order: outputs
	// then differ from the original's in the last bits. Without it, a
	// rewritten graph in Float mode computes the original's bits.
	FastFloat bool
	// Seed seeds each layer's noise generator (layer i gets Seed+i) and
	// the dropouts that replace gorgonia's (dropout i gets Seed+i).
	Seed int64
	// LayerOutput, when set, is called for each converted layer, in graph
	// order, with the layer and its output node (the product, before any
	// bias the graph adds after it: where Noise mode adds its noise); the
	// node it returns, of the same shape, stands for the layer's output in
	// the rewritten graph. A gradient search puts its learned noise there
	// (package search). Result.Node of the source output gives the
	// returned node.
	LayerOutput func(l *approxlayer.Layer, y *G.Node) (*G.Node, error)
}

// Result is a rewritten graph.
type Result struct {
	// Graph is the new graph.
	Graph *G.ExprGraph
	// Layers holds the approximate layers in graph order.
	Layers *approxlayer.Registry
	// Dropouts are the graph's dropouts: the seeded ones that replace
	// gorgonia's and the graph's own nn.Dropout ops, in graph order.
	Dropouts []*nn.DropoutOp
	// BatchNorms are the states of the graph's nn batch normalisations,
	// GorgoniaBatchNorms its gorgonia.BatchNorm ops, each once.
	BatchNorms         []*nn.BatchNormState
	GorgoniaBatchNorms []*G.BatchNormOp
	nodes              map[*G.Node]*G.Node
	training           bool
}

// SetTraining switches everything in the graph that computes differently
// in training and in evaluation: the approximate layers (observers,
// noise), the dropouts and every batch normalisation, GoApprox's and
// Gorgonia's. Gorgonia's batch norm resets its running statistics when
// switched to training; SetTraining keeps them.
func (r *Result) SetTraining(on bool) {
	r.training = on
	r.Layers.SetTraining(on)
	for _, d := range r.Dropouts {
		d.SetTraining(on)
	}
	for _, s := range r.BatchNorms {
		s.Training = on
	}
	for _, op := range r.GorgoniaBatchNorms {
		setGorgoniaTraining(op, on)
	}
}

// Training reports the mode SetTraining last set: training for a new
// Result, as a freshly built graph trains.
func (r *Result) Training() bool { return r.training }

// Evaluate puts the graph in evaluation mode and returns the function that
// puts it back in the mode it was in:
//
//	defer res.Evaluate()()
func (r *Result) Evaluate() (restore func()) {
	was := r.training
	r.SetTraining(false)
	return func() { r.SetTraining(was) }
}

// setGorgoniaTraining switches a gorgonia batch norm, keeping its running
// statistics, which its SetTraining(true) resets.
func setGorgoniaTraining(op *G.BatchNormOp, on bool) {
	if !on {
		op.SetTraining(false) // returns no error when switching off
		return
	}
	mean, variance := op.Stats()
	m, v := mean.Clone().(tensor.Tensor), variance.Clone().(tensor.Tensor)
	// Reset and SetStats fail only for dtypes other than float32 and
	// float64, which Rewrite refused.
	if err := op.SetTraining(true); err != nil {
		panic(fmt.Sprintf("graph: switching a batch norm to training: %v", err))
	}
	if err := op.SetStats(m, v); err != nil {
		panic(fmt.Sprintf("graph: restoring a batch norm's statistics: %v", err))
	}
}

// Node returns the node of the new graph that stands for old, a node of the
// original graph: its copy, or for a converted layer's output the layer's
// output. It returns nil for a node the new graph does not contain (the
// inner nodes of a converted convolution).
func (r *Result) Node(old *G.Node) *G.Node { return r.nodes[old] }

// Nodes maps several nodes of the original graph, failing if one has no
// counterpart.
func (r *Result) Nodes(old ...*G.Node) (G.Nodes, error) {
	ns := make(G.Nodes, len(old))
	for i, o := range old {
		if ns[i] = r.nodes[o]; ns[i] == nil {
			return nil, fmt.Errorf("graph: node %q has no counterpart in the rewritten graph", o.Name())
		}
	}
	return ns, nil
}

// Rewrite copies g into a new graph in which the layers it finds (see the
// package documentation) are approximate layers. g is not modified.
func Rewrite(g *G.ExprGraph, opt Options) (*Result, error) {
	if err := checkCopyable(g); err != nil {
		return nil, err
	}
	m := &matcher{g: g}
	if len(opt.Weights) > 0 {
		m.weights = make(map[*G.Node]bool)
		for _, w := range opt.Weights {
			m.weights[w] = true
		}
	}
	found := m.find()
	if err := nameLayers(found); err != nil {
		return nil, err
	}
	chosen, err := choose(found, opt)
	if err != nil {
		return nil, err
	}

	c := newCopier(g)
	c.seed = opt.Seed
	reg, err := approxlayer.NewRegistry()
	if err != nil {
		return nil, err
	}
	// Layers are built in graph order as the copy reaches them; the
	// registry follows the same order.
	for i, mt := range chosen {
		mt, seed := mt, opt.Seed+int64(i)
		c.build[mt.output] = func(c *copier) (*G.Node, error) {
			l, y, err := buildLayer(c, mt, opt, seed)
			if err != nil {
				return nil, err
			}
			return y, reg.Add(l)
		}
	}
	// The inner nodes of a converted convolution (im2col and the reshapes
	// around its product) are not copied: the machine would compute them
	// for nothing. One that another node also uses is copied when that
	// node asks for it.
	inner := make(map[*G.Node]bool)
	for _, mt := range chosen {
		for _, n := range mt.inner {
			inner[n] = true
		}
	}
	for _, n := range g.AllNodes() {
		if inner[n] {
			continue
		}
		if _, err := c.copy(n); err != nil {
			return nil, err
		}
	}
	return &Result{Graph: c.dst, Layers: reg, Dropouts: c.dropouts, BatchNorms: c.batchNorms,
		GorgoniaBatchNorms: c.gorgoniaBatchNorms, nodes: c.nodes, training: true}, nil
}

// nameLayers names each layer after its weight, and refuses weights shared
// by several products: each layer owns its weight.
func nameLayers(found []match) error {
	uses := make(map[*G.Node]int)
	for _, mt := range found {
		uses[mt.w]++
	}
	seen := make(map[string]bool)
	for i := range found {
		mt := &found[i]
		if uses[mt.w] > 1 {
			return fmt.Errorf("graph: weight %q is used by %d products; shared weights cannot be converted "+
				"(each approximate layer owns its weight): leave them out with Options.Exclude", mt.w.Name(), uses[mt.w])
		}
		mt.name = givenName(mt.w, nil)
		if mt.name == "" {
			mt.name = fmt.Sprintf("%s%d", mt.kind, i)
		}
		if seen[mt.name] {
			return fmt.Errorf("graph: two weights are named %q; layers are named after their weights, so give them distinct names", mt.name)
		}
		seen[mt.name] = true
	}
	return nil
}

// choose applies the options' selection to the layers found.
func choose(found []match, opt Options) ([]match, error) {
	if len(found) == 0 {
		return nil, fmt.Errorf("graph: no layer to convert: the graph has no gorgonia.Mul with a float32 or float64 weight leaf, " +
			"no gorgonia.Conv2d and no ops.GroupedConv2d (see the package documentation for the forms recognised)")
	}
	first, last := 0, len(found)
	if opt.SkipFirst {
		first++
	}
	if opt.SkipLast {
		last--
	}
	var cands []match
	if first < last {
		cands = found[first:last]
	}
	names := make([]string, len(found))
	for i, mt := range found {
		names[i] = mt.name
	}
	include, err := matchAny(opt.Include, cands, names)
	if err != nil {
		return nil, err
	}
	exclude, err := matchAny(opt.Exclude, cands, names)
	if err != nil {
		return nil, err
	}
	var out []match
	for _, mt := range cands {
		if (len(opt.Include) == 0 || include[mt.name]) && !exclude[mt.name] {
			out = append(out, mt)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("graph: the options leave no layer to convert (layers found: %v)", names)
	}
	return out, nil
}

// matchAny returns which candidate names match one of the patterns; a
// pattern that matches no layer of the graph is an error (a typo would
// otherwise convert the wrong layers silently).
func matchAny(patterns []string, cands []match, all []string) (map[string]bool, error) {
	hit := make(map[string]bool)
	for _, p := range patterns {
		any := false
		for _, name := range all {
			ok, err := path.Match(p, name)
			if err != nil {
				return nil, fmt.Errorf("graph: layer pattern %q: %w", p, err)
			}
			any = any || ok
		}
		if !any {
			return nil, fmt.Errorf("graph: layer pattern %q matches none of the layers %v", p, all)
		}
		for _, mt := range cands {
			if ok, _ := path.Match(p, mt.name); ok {
				hit[mt.name] = true
			}
		}
	}
	return hit, nil
}

// buildLayer makes the approximate layer of one match in the new graph and
// returns it with the node that replaces the match's output.
func buildLayer(c *copier, mt match, opt Options, seed int64) (*approxlayer.Layer, *G.Node, error) {
	x, err := c.copy(mt.x)
	if err != nil {
		return nil, nil, err
	}
	w, err := c.copy(mt.w)
	if err != nil {
		return nil, nil, err
	}
	lopts := []approxlayer.Option{approxlayer.WithSeed(seed)}
	if opt.Preset != "" {
		lopts = append(lopts, approxlayer.WithPreset(opt.Preset))
	}
	if opt.Observer != "" {
		lopts = append(lopts, approxlayer.WithObserver(string(opt.Observer)))
	}
	if mt.form == formConv && !opt.FastFloat {
		// Float mode then gives gorgonia.Conv2d's own bits.
		lopts = append(lopts, approxlayer.WithGorgoniaFloat())
	}
	var l *approxlayer.Layer
	switch mt.kind {
	case approxlayer.KindLinear:
		layout := ops.InOut
		if mt.form == formWx || mt.form == formWX {
			layout = ops.OutIn
		}
		l, err = approxlayer.WrapLinear(mt.name, w, layout, lopts...)
	case approxlayer.KindConv2d:
		l, err = approxlayer.WrapConv2d(mt.name, w, mt.conv, lopts...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("graph: %w", err)
	}
	y, err := applyLayer(l, mt.form, x, opt.LayerOutput)
	if err != nil {
		return nil, nil, fmt.Errorf("graph: layer %q: %w", mt.name, err)
	}
	return l, y, nil
}

// applyLayer feeds x to the layer in the orientation of the source
// product and returns a node of the source output's shape. The layers
// take samples as rows, so W·x forms are computed on xᵀ (or x as one row)
// and turned back. after, when not nil, is applied to the layer's output
// before it is turned back.
func applyLayer(l *approxlayer.Layer, f form, x *G.Node, after func(*approxlayer.Layer, *G.Node) (*G.Node, error)) (*G.Node, error) {
	forward := func(x *G.Node) (*G.Node, error) {
		y, err := l.Forward(x)
		if err != nil || after == nil {
			return y, err
		}
		z, err := after(l, y)
		if err != nil {
			return nil, fmt.Errorf("Options.LayerOutput: %w", err)
		}
		if z == nil || !z.Shape().Eq(y.Shape()) || z.Dtype() != y.Dtype() {
			return nil, fmt.Errorf("Options.LayerOutput returned %v for an output of shape %v (%v); it must return a node of the output's shape and type", describe(z), y.Shape(), y.Dtype())
		}
		return z, nil
	}
	switch f {
	case formXv, formVX, formVW, formDot:
		// A vector operand: one sample as a row, or a one-output layer.
		if f == formVX {
			xt, err := G.Transpose(x)
			if err != nil {
				return nil, err
			}
			x = xt
		} else if x.Dims() == 1 {
			row, err := G.Reshape(x, tensor.Shape{1, x.Shape()[0]})
			if err != nil {
				return nil, err
			}
			x = row
		}
		y, err := forward(x)
		if err != nil {
			return nil, err
		}
		switch f {
		case formVW:
			return G.Reshape(y, tensor.Shape{l.Out()})
		case formDot:
			return G.Reshape(y, tensor.ScalarShape())
		}
		return G.Reshape(y, tensor.Shape{x.Shape()[0]})
	case formWx:
		row, err := G.Reshape(x, tensor.Shape{1, x.Shape()[0]})
		if err != nil {
			return nil, err
		}
		y, err := forward(row)
		if err != nil {
			return nil, err
		}
		return G.Reshape(y, tensor.Shape{l.Out()})
	case formWX:
		xt, err := G.Transpose(x)
		if err != nil {
			return nil, err
		}
		y, err := forward(xt)
		if err != nil {
			return nil, err
		}
		return G.Transpose(y)
	}
	return forward(x)
}

// describe names a node returned by a hook in an error.
func describe(n *G.Node) string {
	if n == nil {
		return "nil"
	}
	return fmt.Sprintf("a node of shape %v (%v)", n.Shape(), n.Dtype())
}
