package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/ops"
)

// form says which product a matched layer computes in the source graph.
type form int

const (
	formXW      form = iota // Mul(x, W): x (batch, in), W (in, out)
	formWx                  // Mul(W, x): W (out, in), x (in)
	formWX                  // Mul(W, X): W (out, in), X (in, batch)
	formXv                  // Mul(X, theta): X (batch, in), theta (in)
	formVX                  // Mul(theta, X): theta (in), X (in, batch)
	formVW                  // Mul(x, W): x (in), W (in, out)
	formDot                 // Mul(theta, x): theta (in), x (in)
	formConv                // gorgonia.Conv2d's five nodes
	formGrouped             // ops.GroupedConv2d
)

// match is one layer found in the source graph.
type match struct {
	form   form
	kind   approxlayer.Kind
	output *G.Node // the node the layer's result replaces
	x, w   *G.Node // source input and weight
	conv   ops.ConvArgs
	name   string
	// inner are the other nodes of the pattern, which the layer replaces.
	inner []*G.Node
}

// matcher finds the layers of a graph.
type matcher struct {
	g *G.ExprGraph
	// weights, when not nil, are the only nodes taken as weights.
	weights map[*G.Node]bool
}

// isWeight reports whether n can be the weight of a layer: a float32 or
// float64 leaf of the given rank (and one of Options.Weights when those
// are given).
func (m *matcher) isWeight(n *G.Node, rank int) bool {
	if n.Op() != nil || n.Dims() != rank || (n.Dtype() != tensor.Float32 && n.Dtype() != tensor.Float64) {
		return false
	}
	return m.weights == nil || m.weights[n]
}

// find returns the layers of the graph in the order of their outputs.
func (m *matcher) find() []match {
	var found []match
	for _, n := range m.g.AllNodes() {
		var mt match
		var ok bool
		switch opType(n) {
		case "gorgonia.linAlgBinOp":
			mt, ok = m.linear(n)
		case "gorgonia.transposeOp":
			mt, ok = m.conv2d(n)
		case "ops.GroupedConv2dOp":
			mt, ok = m.grouped(n)
		}
		if ok {
			found = append(found, mt)
		}
	}
	return found
}

// linear matches gorgonia.Mul of a weight and an input, either way round.
// Mul of two matrices is the op "A × B", of a matrix and a vector "A × b",
// of a vector and a matrix "Aᵀ × b" (inputs swapped), of two vectors
// "a ⋅ b"; products with transposed operands (which Mul never builds;
// Conv2d does) are left alone. When both operands are leaves and
// Options.Weights does not say, the weight is the right matrix of two, the
// vector of a matrix and a vector (X·theta, theta·X), the left vector of
// two (theta·x).
func (m *matcher) linear(n *G.Node) (match, bool) {
	kids := children(m.g, n)
	if len(kids) != 2 {
		return match{}, false
	}
	a, b := kids[0], kids[1]
	switch fmt.Sprint(n.Op()) {
	case "A × B":
		right, left := m.isWeight(b, 2), m.isWeight(a, 2)
		if right && left && m.weights == nil {
			left = false // both leaves: the x·W idiom
		}
		switch {
		case right && a.Dims() == 2:
			return match{form: formXW, kind: approxlayer.KindLinear, output: n, x: a, w: b}, true
		case left && b.Dims() == 2:
			return match{form: formWX, kind: approxlayer.KindLinear, output: n, x: b, w: a}, true
		}
	case "A × b": // Mul(a, b), a a matrix, b a vector
		vec, mat := m.isWeight(b, 1), m.isWeight(a, 2)
		if vec && mat && m.weights == nil {
			mat = false
		}
		switch {
		case vec && a.Dims() == 2:
			return match{form: formXv, kind: approxlayer.KindLinear, output: n, x: a, w: b}, true
		case mat && b.Dims() == 1:
			return match{form: formWx, kind: approxlayer.KindLinear, output: n, x: b, w: a}, true
		}
	case "Aᵀ × b": // Mul(b, a), b a vector, a a matrix
		vec, mat := m.isWeight(b, 1), m.isWeight(a, 2)
		if vec && mat && m.weights == nil {
			mat = false
		}
		switch {
		case vec && a.Dims() == 2:
			return match{form: formVX, kind: approxlayer.KindLinear, output: n, x: a, w: b}, true
		case mat && b.Dims() == 1:
			return match{form: formVW, kind: approxlayer.KindLinear, output: n, x: b, w: a}, true
		}
	case "a ⋅ b": // Mul(a, b) of two vectors
		left, right := m.isWeight(a, 1), m.isWeight(b, 1)
		if a == b {
			return match{}, false
		}
		switch {
		case left && b.Dims() == 1:
			return match{form: formDot, kind: approxlayer.KindLinear, output: n, x: b, w: a}, true
		case right && a.Dims() == 1:
			return match{form: formDot, kind: approxlayer.KindLinear, output: n, x: a, w: b}, true
		}
	}
	return match{}, false
}

// conv2d matches the nodes gorgonia.Conv2d(x, w) builds, starting from the
// last one:
//
//	im = im2col(x); p = Reshape(im); f = Reshape(w)
//	mm = p × fᵀ;    r = Reshape(mm); out = Transpose(r, 0, 3, 1, 2)
//
// Padding, stride and dilation are read from the im2col op's description,
// the only place they appear.
func (m *matcher) conv2d(out *G.Node) (match, bool) {
	if fmt.Sprint(out.Op()) != "Aᵀ{0, 3, 1, 2}" {
		return match{}, false
	}
	r, ok := m.only(out, "gorgonia.reshapeOp")
	if !ok {
		return match{}, false
	}
	mm, ok := m.only(r, "gorgonia.linAlgBinOp")
	if !ok || fmt.Sprint(mm.Op()) != "A × Bᵀ" {
		return match{}, false
	}
	kids := children(m.g, mm)
	p, f := kids[0], kids[1]
	if opType(p) != "gorgonia.reshapeOp" || opType(f) != "gorgonia.reshapeOp" {
		return match{}, false
	}
	im, ok := m.only(p, "gorgonia.im2colOp")
	if !ok {
		return match{}, false
	}
	w := children(m.g, f)[0]
	x := children(m.g, im)[0]
	if !m.isWeight(w, 4) || x.Dims() != 4 {
		return match{}, false
	}
	var kh, kw int
	var a ops.ConvArgs
	if _, err := fmt.Sscanf(fmt.Sprint(im.Op()), "im2col<(%d,%d), (%d, %d), (%d,%d) (%d, %d)>",
		&kh, &kw, &a.Pad[0], &a.Pad[1], &a.Stride[0], &a.Stride[1], &a.Dilation[0], &a.Dilation[1]); err != nil {
		return match{}, false
	}
	ws := w.Shape()
	if kh != ws[2] || kw != ws[3] || x.Shape()[1] != ws[1] {
		return match{}, false
	}
	a.Groups = 1
	return match{form: formConv, kind: approxlayer.KindConv2d, output: out, x: x, w: w, conv: a,
		inner: []*G.Node{im, p, f, mm, r}}, true
}

// only returns the single input of n if its op has the given type.
func (m *matcher) only(n *G.Node, typ string) (*G.Node, bool) {
	kids := children(m.g, n)
	if len(kids) != 1 || opType(kids[0]) != typ {
		return nil, false
	}
	return kids[0], true
}

// grouped matches ops.GroupedConv2d(x, w).
func (m *matcher) grouped(n *G.Node) (match, bool) {
	op, ok := n.Op().(*ops.GroupedConv2dOp)
	if !ok {
		return match{}, false
	}
	kids := children(m.g, n)
	if len(kids) != 2 || !m.isWeight(kids[1], 4) {
		return match{}, false
	}
	return match{form: formGrouped, kind: approxlayer.KindConv2d, output: n, x: kids[0], w: kids[1], conv: op.Args}, true
}
