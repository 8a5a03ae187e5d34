package graph

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/nn"
)

// copier rebuilds the nodes of one graph in another. Gorgonia cannot edit a
// graph in place (a node's op and children are fixed, and RemoveNode leaves
// dangling parents), so a rewrite is a copy in which some nodes are built
// differently.
type copier struct {
	src, dst *G.ExprGraph
	// nodes maps every source node copied so far to its copy.
	nodes map[*G.Node]*G.Node
	// build replaces the copy of a source node: called with the copier,
	// it returns the node that stands for it in dst.
	build map[*G.Node]func(*copier) (*G.Node, error)
	// seed seeds the dropouts that replace gorgonia's: the i-th gets
	// seed+i; dropouts collects them and the graph's own nn dropouts.
	seed     int64
	dropouts []*nn.DropoutOp
	// batchNorms and gorgoniaBatchNorms collect the graph's batch
	// normalisations, each once, for Result.SetTraining.
	batchNorms         []*nn.BatchNormState
	gorgoniaBatchNorms []*G.BatchNormOp
}

func newCopier(src *G.ExprGraph) *copier {
	return &copier{
		src:   src,
		dst:   G.NewGraph(),
		nodes: make(map[*G.Node]*G.Node),
		build: make(map[*G.Node]func(*copier) (*G.Node, error)),
	}
}

// children returns a node's inputs in order (duplicates included).
func children(g *G.ExprGraph, n *G.Node) G.Nodes {
	var kids G.Nodes
	it := g.From(n.ID())
	if it == nil {
		return nil
	}
	for it.Next() {
		kids = append(kids, it.Node().(*G.Node))
	}
	return kids
}

// copy returns the copy of n in dst, copying its inputs first.
func (c *copier) copy(n *G.Node) (*G.Node, error) {
	if m, ok := c.nodes[n]; ok {
		return m, nil
	}
	var m *G.Node
	var err error
	switch {
	case c.build[n] != nil:
		m, err = c.build[n](c)
	case n.Op() == nil:
		m, err = c.copyLeaf(n)
	case isConstant(n):
		m, err = c.copyConstant(n)
	case opType(n) == "gorgonia.dropoutOp":
		m, err = c.copyDropout(n)
	default:
		m, err = c.copyApplication(n)
	}
	if err != nil {
		return nil, err
	}
	c.nodes[n] = m
	return m, nil
}

// copyLeaf copies an input node: same type, shape and name (inputs are
// identified by name), and a copy of its value, so that training the new
// graph does not change the old one.
func (c *copier) copyLeaf(n *G.Node) (*G.Node, error) {
	opts := []G.NodeConsOpt{G.WithType(n.Type()), G.WithShape(n.Shape()...), G.In(c.dst)}
	if name := givenName(n, nil); name != "" {
		opts = append(opts, G.WithName(name))
	}
	if v := n.Value(); v != nil {
		cv, err := G.CloneValue(v)
		if err != nil {
			return nil, fmt.Errorf("graph: copying the value of %q: %w", n.Name(), err)
		}
		opts = append(opts, G.WithValue(cv))
	}
	return G.NewUniqueNode(opts...), nil
}

// copyConstant copies a constant node. Constants hold their own value and
// are shared by name within a graph, exactly as in the source.
func (c *copier) copyConstant(n *G.Node) (*G.Node, error) {
	v, err := G.CloneValue(n.Value())
	if err != nil {
		return nil, fmt.Errorf("graph: copying the constant %q: %w", n.Name(), err)
	}
	return c.dst.AddNode(G.NewConstant(v, G.WithName(n.Name()))), nil
}

// copyDropout replaces gorgonia's Dropout, which draws from a clock-seeded
// generator, by nn.Dropout with the same probability and training flag and
// a seeded generator, so that a rewritten graph repeats its runs. The
// probability and flag are unexported fields of gorgonia's op, read by
// reflection (the gorgonia version is pinned).
func (c *copier) copyDropout(n *G.Node) (*G.Node, error) {
	kids := children(c.src, n)
	if len(kids) != 1 {
		return nil, fmt.Errorf("graph: dropout %q has %d inputs", n.Name(), len(kids))
	}
	x, err := c.copy(kids[0])
	if err != nil {
		return nil, err
	}
	op := reflect.ValueOf(n.Op())
	if op.Kind() != reflect.Pointer || op.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("graph: dropout %q: unexpected op %T (gorgonia version?)", n.Name(), n.Op())
	}
	p, training := op.Elem().FieldByName("probability"), op.Elem().FieldByName("isTraining")
	if p.Kind() != reflect.Float64 || training.Kind() != reflect.Bool {
		return nil, fmt.Errorf("graph: dropout %q: cannot read its probability from %T (gorgonia version?)", n.Name(), n.Op())
	}
	m, d, err := nn.Dropout(x, p.Float(), c.seed+int64(len(c.dropouts)))
	if err != nil {
		return nil, fmt.Errorf("graph: rebuilding %v: %w", n.Name(), err)
	}
	d.SetTraining(training.Bool())
	c.dropouts = append(c.dropouts, d)
	if name := givenName(n, kids); name != "" {
		G.WithName(name)(m)
	}
	return m, nil
}

// copyApplication applies n's op to the copies of its inputs. The op value
// itself is shared with the source graph: gorgonia's op types are
// unexported and cannot be rebuilt from outside.
func (c *copier) copyApplication(n *G.Node) (*G.Node, error) {
	kids := children(c.src, n)
	copies := make(G.Nodes, len(kids))
	for i, k := range kids {
		m, err := c.copy(k)
		if err != nil {
			return nil, err
		}
		copies[i] = m
	}
	m, err := G.ApplyOp(n.Op(), copies...)
	if err != nil {
		return nil, fmt.Errorf("graph: rebuilding %v: %w", n.Name(), err)
	}
	if err := c.noteSwitch(n); err != nil {
		return nil, err
	}
	if name := givenName(n, kids); name != "" {
		G.WithName(name)(m)
	}
	return m, nil
}

// noteSwitch records the dropout or batch normalisation that n applies, if
// any, for Result.SetTraining. The copy applies the same op, so its state
// is the original's.
func (c *copier) noteSwitch(n *G.Node) error {
	switch op := n.Op().(type) {
	case *nn.DropoutOp:
		if !slices.Contains(c.dropouts, op) {
			c.dropouts = append(c.dropouts, op)
		}
	case *nn.BatchNormOp:
		if !slices.Contains(c.batchNorms, op.State()) {
			c.batchNorms = append(c.batchNorms, op.State())
		}
	case *G.BatchNormOp:
		if slices.Contains(c.gorgoniaBatchNorms, op) {
			return nil
		}
		// Switching it to training resets its statistics, which
		// Result.SetTraining copies aside first; that works for the two
		// dtypes gorgonia's batch norm has.
		if mean, _ := op.Stats(); mean.Dtype() != G.Float32 && mean.Dtype() != G.Float64 {
			return fmt.Errorf("graph: batch norm %q keeps %v statistics; only float32 and float64 ones can be switched between training and evaluation", n.Name(), mean.Dtype())
		}
		c.gorgoniaBatchNorms = append(c.gorgoniaBatchNorms, op)
	}
	return nil
}

// givenName returns the name a user gave n, or "" when n carries
// gorgonia's generated name "op(%id, ...)". Node.Name returns either, and
// the name field itself is unexported, so the generated form is rebuilt
// the way Node.Name builds it and compared.
func givenName(n *G.Node, kids G.Nodes) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(", n.Op())
	for i, k := range kids {
		fmt.Fprintf(&b, "%%%x", k.ID())
		if i < len(kids)-1 {
			b.WriteString(", ")
		}
	}
	b.WriteString(")")
	if name := n.Name(); name != b.String() {
		return name
	}
	return ""
}

// opType returns the dynamic type of n's op as printed by %T, e.g.
// "gorgonia.im2colOp". Gorgonia's op types are unexported, so matching
// them goes by this name (the gorgonia version is pinned in go.mod).
func opType(n *G.Node) string {
	if n.Op() == nil {
		return ""
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", n.Op()), "*")
}

func isConstant(n *G.Node) bool {
	t := opType(n)
	return t == "gorgonia.constantScalar" || t == "gorgonia.constantTensor"
}
