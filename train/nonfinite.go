package train

import (
	"fmt"
	"math"
	"strings"

	G "gorgonia.org/gorgonia"
)

// A diverging run is reported with the place where a NaN or an infinity
// first shows, in the order the forward pass runs: the input batch, a
// learnable parameter, or the output of a layer (the approximate product,
// the bias addition, batch norm) or of an op after one (ReLU, pooling),
// or, when the forward pass was finite, a gradient or an updated
// parameter. The op that produced the first NaN is often downstream of
// the real cause (an infinity from an overflowing product turning into
// NaN in batch norm), and quantization hides NaN weights from the loss
// altogether (a NaN is clamped to a code).

// forwardOrder lists the nodes of the forward pass (images to logits) in
// the order the machine runs them, leaves first.
func forwardOrder(g *G.ExprGraph, logits *G.Node) (G.Nodes, error) {
	sorted, err := G.Sort(g.ExactSubgraphRoots(logits))
	if err != nil {
		return nil, err
	}
	// Sort puts the root first.
	for i, j := 0, len(sorted)-1; i < j; i, j = i+1, j-1 {
		sorted[i], sorted[j] = sorted[j], sorted[i]
	}
	return sorted, nil
}

// nonFinite is the first NaN or infinity among a node's float32 values.
func nonFinite(v G.Value) (float32, bool) {
	if v == nil {
		return 0, false
	}
	switch d := v.Data().(type) {
	case []float32:
		for _, x := range d {
			if x-x != 0 { // NaN or ±Inf
				return x, true
			}
		}
	case float32:
		if d-d != 0 {
			return d, true
		}
	}
	return 0, false
}

// layerOfParam is the layer a learnable belongs to: its name without the
// suffix of a bias or batch-norm parameter (zoo's naming: "fc3.bias" is
// layer fc3's, "conv1.bn.scale" batch norm conv1.bn's).
func layerOfParam(name string) string {
	for _, suffix := range []string{".bias", ".scale"} {
		if s, ok := strings.CutSuffix(name, suffix); ok {
			return s
		}
	}
	return name
}

// locateNonFinite finds the first node of the forward pass whose current
// value holds a NaN or an infinity and says where it is, from the values
// the last run left.
func (c *core) locateNonFinite() (layer, where string, value float32, ok bool) {
	isParam := map[*G.Node]bool{}
	for _, p := range c.params {
		isParam[p] = true
	}
	layerOf := map[*G.Node]string{} // of the op nodes seen so far
	g := c.res.Graph
	for _, n := range c.forward {
		inputs := children(g, n)
		// The layer of an op: that of a learnable it takes, else that of
		// the first input that has one.
		var l string
		for _, c := range inputs {
			if isParam[c] {
				l = layerOfParam(c.Name())
				break
			}
		}
		if l == "" {
			for _, c := range inputs {
				if layerOf[c] != "" {
					l = layerOf[c]
					break
				}
			}
		}
		layerOf[n] = l
		v, bad := nonFinite(n.Value())
		if !bad {
			continue
		}
		switch {
		case n == c.x:
			return "input", "the input batch", v, true
		case isParam[n]:
			l = layerOfParam(n.Name())
			return l, fmt.Sprintf("parameter %s (layer %s)", n.Name(), l), v, true
		case l == "":
			return "", "the output of " + opName(n), v, true
		case isLayerOp(inputs, isParam):
			return l, fmt.Sprintf("the output of layer %s (%s)", l, opName(n)), v, true
		default:
			return l, fmt.Sprintf("the output of %s after layer %s", opName(n), l), v, true
		}
	}
	return "", "", 0, false
}

// isLayerOp reports whether an op node takes a learnable: a product, a bias
// addition or a batch norm, which belong to the layer itself.
func isLayerOp(inputs G.Nodes, isParam map[*G.Node]bool) bool {
	for _, c := range inputs {
		if isParam[c] {
			return true
		}
	}
	return false
}

// children are the inputs of a node, in order.
func children(g *G.ExprGraph, n *G.Node) G.Nodes {
	var out G.Nodes
	it := g.From(n.ID())
	for it != nil && it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// opName is the op's name without its arguments ("ApproxLinear", "ReLU").
func opName(n *G.Node) string {
	if n.Op() == nil {
		return n.Name()
	}
	s := n.Op().String()
	if i := strings.IndexAny(s, "( "); i > 0 {
		s = s[:i]
	}
	return s
}

// describeValue says what kind of non-finite value v is.
func describeValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case v > 0:
		return "+Inf"
	}
	return "-Inf"
}

// DivergedError reports a training step whose loss is NaN or infinite,
// whose gradients or updated parameters hold a NaN or an infinity, or a
// state that went non-finite in another way (an observer's range, a
// quantization scale, batch-norm statistics, an optimizer moment, an
// evaluation's loss).
type DivergedError struct {
	Phase Phase
	Epoch int // 1-based within the phase
	Step  int // 1-based within the epoch
	Steps int
	// During, when not empty, says when the value was found if not at a
	// training step ("the evaluation before approximate fine-tuning").
	During string
	Loss   float64
	// Layer is the first layer, in the order the forward pass runs, whose
	// output (or parameter, or state) holds a NaN or an infinity: "input"
	// for the image batch, "" when none was found. First says where
	// exactly and Value is that value (NaN, +Inf or -Inf).
	Layer string
	First string
	Value string
}

func (e *DivergedError) Error() string {
	var parts []string
	if math.IsNaN(e.Loss) || math.IsInf(e.Loss, 0) || e.First == "" {
		parts = append(parts, fmt.Sprintf("the loss is %v", e.Loss))
	}
	if e.First != "" {
		parts = append(parts, fmt.Sprintf("the first non-finite value (%s) is in %s", e.Value, e.First))
	}
	what := strings.Join(parts, "; ")
	when := fmt.Sprintf("epoch %d, step %d of %d", e.Epoch, e.Step, e.Steps)
	if e.During != "" {
		when = e.During
	}
	return fmt.Sprintf("training diverged: %s in phase %s, %s (try a lower learning rate)", what, e.Phase, when)
}
