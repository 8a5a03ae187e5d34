package train

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/nn"
)

// Model is a network to train: an ordinary Gorgonia graph, built by hand
// or by package zoo, before any loss or gradient is added. The trainer
// rewrites it into approximate layers (package graph), adds the loss and
// its gradients, and trains it through the phases.
type Model struct {
	Graph *G.ExprGraph
	// Input is the float32 input batch, (batch, ...): (batch, C, H, W)
	// for images, (batch, features) for vectors, with as many values per
	// sample as the data set's samples have.
	Input *G.Node
	// Logits is the (batch, classes) output.
	Logits *G.Node
	// Params are every learnable leaf: weights, biases, batch-norm scales
	// and shifts.
	Params G.Nodes
	// BatchNorms are the batch normalisations whose running statistics a
	// checkpoint keeps and evaluation uses. When nil, every nn.BatchNorm
	// op of the graph is taken, named after its scale node.
	BatchNorms []BatchNorm
	// Weights, when not empty, are the only nodes taken as the weights of
	// multiplication layers (graph.Options.Weights); by default the right
	// leaf of each x·W product and each convolution's kernel are.
	Weights G.Nodes
}

// BatchNorm is one batch normalisation of a Model.
type BatchNorm struct {
	Name  string
	State *nn.BatchNormState
}

// ModelFunc builds a model for a batch size, drawing its initial weights
// from seed. Each call builds a new graph.
type ModelFunc func(batch int, seed uint64) (*Model, error)

// WithModel trains the model build returns instead of the zoo model that
// Config.Model names; Config.Model is then only the model's name in
// reports and checkpoints. The data come from Config.Dataset or WithData.
func WithModel(build ModelFunc) Option {
	return func(t *Trainer) { t.build = build }
}

// WithGraph trains a model already built for Config.Batch; see WithModel.
// The graph is copied, not changed, but its ops may be shared with the
// copy: do not run both at the same time.
func WithGraph(m *Model) Option {
	return WithModel(func(batch int, _ uint64) (*Model, error) { return m, nil })
}

// check refuses a model the trainer cannot train on samples of the given
// size and classes, in batches of batch.
func (m *Model) check(batch, sampleSize, classes int) error {
	if m == nil || m.Graph == nil || m.Input == nil || m.Logits == nil {
		return fmt.Errorf("the model needs a graph, an input node and a logits node")
	}
	if m.Input.Dtype() != tensor.Float32 {
		return fmt.Errorf("the model's input %s is %v, want float32", m.Input.Name(), m.Input.Dtype())
	}
	in := m.Input.Shape()
	if len(in) < 2 || in[0] != batch || in.TotalSize() != batch*sampleSize {
		return fmt.Errorf("the model's input %s has shape %v; the data need (%d, ...) with %d values per sample: build the model for the batch size and the data set's sample shape", m.Input.Name(), in, batch, sampleSize)
	}
	if out := m.Logits.Shape(); len(out) != 2 || out[0] != batch || out[1] != classes {
		return fmt.Errorf("the model's logits %s have shape %v, want (%d, %d): one row of class scores per sample", m.Logits.Name(), out, batch, classes)
	}
	if len(m.Params) == 0 {
		return fmt.Errorf("the model lists no parameters to train (Model.Params)")
	}
	seen := map[string]bool{}
	for _, p := range m.Params {
		if p == nil || p.Dtype() != tensor.Float32 {
			return fmt.Errorf("the model's parameters must be float32 nodes (%v)", p)
		}
		if seen[p.Name()] {
			return fmt.Errorf("two parameters are named %q: checkpoints keep parameters by name, give each its own", p.Name())
		}
		seen[p.Name()] = true
	}
	return nil
}

// batchNorms returns the model's batch normalisations, finding them in the
// graph when the model does not list them.
func (m *Model) batchNorms() []BatchNorm {
	if m.BatchNorms != nil {
		return m.BatchNorms
	}
	var out []BatchNorm
	for _, n := range m.Graph.AllNodes() {
		op, ok := n.Op().(*nn.BatchNormOp)
		if !ok {
			continue
		}
		name := fmt.Sprintf("batchnorm%d", len(out))
		if ch := children(m.Graph, n); len(ch) == 3 && ch[1].Name() != "" {
			name = strings.TrimSuffix(ch[1].Name(), ".scale")
		}
		out = append(out, BatchNorm{Name: name, State: op.State()})
	}
	return out
}
