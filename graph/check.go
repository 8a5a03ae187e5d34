package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// checkCopyable refuses graphs that a node-by-node copy would not
// reproduce faithfully, saying why and what to do instead.
func checkCopyable(g *G.ExprGraph) error {
	if g == nil {
		return fmt.Errorf("graph: nil graph")
	}
	for _, n := range g.AllNodes() {
		if len(n.DerivOf()) > 0 || n.Deriv() != nil {
			return fmt.Errorf("graph: node %q belongs to a gradient: the graph was already differentiated with gorgonia.Grad. "+
				"Gradient nodes are built for the original layers and cannot be carried over; "+
				"rewrite the graph first, then call gorgonia.Grad on the rewritten cost (Result.Node finds it)", n.Name())
		}
		switch opType(n) {
		case "gorgonia.randomOp":
			return fmt.Errorf("graph: node %q draws random numbers (gorgonia's UniformRandomNode, GaussianRandomNode or BinomialRandomNode): "+
				"it cannot be copied faithfully, because gorgonia draws them from its own clock-seeded generator, so the copy would not repeat "+
				"the original's draws, and merges random nodes with equal parameters by hash. "+
				"Rewrite the graph without them and add them to the rewritten graph (Result.Node finds the nodes to attach them to)", n.Name())
		case "gorgonia.readOp", "gorgonia.letOp":
			return fmt.Errorf("graph: node %q is a statement (gorgonia.Read or gorgonia.Set): its copy would write into the variables "+
				"of the original graph. Rewrite the graph without it and call gorgonia.Read on the rewritten nodes (Result.Node finds them)", n.Name())
		}
	}
	return nil
}
