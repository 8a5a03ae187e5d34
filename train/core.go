package train

import (
	"errors"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/engine"
	"github.com/goapprox/goapprox/graph"
	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/train/optimizer"
)

// core is the model made trainable: the graph rewritten into approximate
// layers with the loss and its gradients, the training and evaluation
// machines, and the optimizer. It runs one training step and evaluations;
// the phases, schedules and checkpoints are the Trainer's.
type core struct {
	model      *Model
	batchNorms []BatchNorm
	res        *graph.Result
	layers     *approxlayer.Registry
	batch      int

	x, y      *G.Node // the rewritten graph's input and labels
	logits    *G.Node
	cost      *G.Node
	logitsVal G.Value // copy of the logits of the last training run
	params    G.Nodes // every learnable of the rewritten graph
	forward   G.Nodes // the forward pass, in run order (locateNonFinite)
	extra     G.Nodes // learnables outside the approximate layers

	trainVM G.VM
	evalVM  G.VM
	opt     *optimizer.Optimizer

	search *searchGraph // the gradient search's nodes (WithSearch), or nil

	xBuf []float32
	yBuf []int
}

// coreOptions are what newCore needs from the configuration.
type coreOptions struct {
	batch   int
	quant   string
	seed    uint64
	threads int
	// search, when not nil, builds the gradient search's graph (search.go).
	search *SearchGraphOptions
}

// newCore rewrites the model into approximate layers and compiles the
// machines.
func newCore(m *Model, o coreOptions) (*core, error) {
	gopts := graph.Options{Preset: o.quant, Seed: int64(o.seed), Weights: m.Weights, FastFloat: true}
	var sg *searchGraph
	if o.search != nil {
		sg = newSearchGraph(*o.search, o.seed, o.threads)
		gopts.LayerOutput = sg.addNoise
	}
	res, err := graph.Rewrite(m.Graph, gopts)
	if err != nil {
		return nil, fmt.Errorf("rewriting the model into approximate layers: %w", err)
	}
	params, err := res.Nodes(m.Params...)
	if err != nil {
		return nil, err
	}
	c := &core{model: m, batchNorms: m.batchNorms(), res: res, layers: res.Layers, params: params, batch: o.batch, search: sg}
	if c.layers.Len() == 0 {
		return nil, errors.New("the model has no multiplication layer to make approximate (a Mul of the input by a weight, or a convolution)")
	}
	inLayers := map[*G.Node]bool{}
	for _, n := range res.Layers.Learnables() {
		inLayers[n] = true
	}
	for _, p := range params {
		if !inLayers[p] {
			c.extra = append(c.extra, p)
		}
	}
	if err := res.Layers.SetThreads(o.threads); err != nil {
		return nil, err
	}

	c.x = res.Node(m.Input)
	c.logits = res.Node(m.Logits)
	if c.x == nil || c.logits == nil {
		return nil, errors.New("the model's input or logits are not part of its graph")
	}
	c.y = G.NewVector(res.Graph, tensor.Int, G.WithShape(o.batch), G.WithName("labels"))
	if c.cost, err = nn.SoftmaxCrossEntropy(c.logits, c.y); err != nil {
		return nil, err
	}
	if sg != nil {
		// The sigmas have gradients like the parameters, but only Search
		// trains them (c.params holds them then) and checkpoints never hold
		// them.
		if c.cost, err = sg.loss(res.Graph, c.cost); err != nil {
			return nil, err
		}
		params = append(params[:len(params):len(params)], sg.sigmas...)
	}
	if _, err := G.Grad(c.cost, params...); err != nil {
		return nil, fmt.Errorf("differentiating the loss: %w", err)
	}
	G.Read(c.logits, &c.logitsVal)
	// Evaluation runs only the forward pass: a machine over the subgraph
	// that computes the logits (the nodes, values and op states are shared
	// with the training machine; the two never run at the same time).
	c.evalVM = G.NewTapeMachine(res.Graph.ExactSubgraphRoots(c.logits))
	if c.forward, err = forwardOrder(res.Graph, c.logits); err != nil {
		c.close()
		return nil, err
	}
	// No NaN watch (gorgonia.WithNaNWatch): its scalar scan of every op's
	// output costs a tenth of a small model's step. Divergence is found
	// from the loss and from the gradients, which the optimizer checks
	// before it changes anything (step); every op of the zoo's graphs, max
	// pooling included, handles NaN without panicking.
	// The engine sums the gradients of values that feed several ops
	// (residual inputs) on every core; Gorgonia's standard one uses one.
	c.trainVM = G.NewTapeMachine(res.Graph, G.BindDualValues(params...), G.WithEngine(engine.New()))
	c.xBuf = make([]float32, c.x.Shape().TotalSize())
	c.yBuf = make([]int, o.batch)
	return c, nil
}

// close releases the machines.
func (c *core) close() {
	if c.trainVM != nil {
		c.trainVM.Close()
	}
	if c.evalVM != nil {
		c.evalVM.Close()
	}
}

// bind copies a batch into the input nodes, padding a short batch with
// zeros (evaluation counts only its real rows).
func (c *core) bind(b dataset.Batch) error {
	n := copy(c.xBuf, b.Images)
	clear(c.xBuf[n:])
	n = copy(c.yBuf, b.Labels)
	clear(c.yBuf[n:])
	s := c.x.Shape()
	if err := G.Let(c.x, tensor.New(tensor.WithShape(s...), tensor.WithBacking(c.xBuf))); err != nil {
		return err
	}
	return G.Let(c.y, tensor.New(tensor.WithShape(c.batch), tensor.WithBacking(c.yBuf)))
}

// setTraining switches the model between training and evaluation: batch
// norm, the layers (observers, noise), dropout (graph.Result.SetTraining)
// and the search's noise.
func (c *core) setTraining(on bool) {
	c.res.SetTraining(on)
	c.search.setTraining(on)
}

// evaluationMode puts the model in evaluation mode and returns the
// function that puts it back in the mode it was in.
func (c *core) evaluationMode() (restore func()) {
	was := c.res.Training()
	c.setTraining(false)
	return func() { c.setTraining(was) }
}

// runForward runs a batch through the forward pass only.
func (c *core) runForward(b dataset.Batch) error {
	if err := c.bind(b); err != nil {
		return err
	}
	defer c.evalVM.Reset()
	return c.evalVM.RunAll()
}

// step runs one batch forward and backward and updates the weights with
// learning rate lr. It returns the batch's mean loss and the number of
// correct predictions. A NaN or infinite loss, or a NaN inside the
// network, is a *DivergedError (with the position left for the caller to
// fill in) and leaves the weights as they were.
func (c *core) step(b dataset.Batch, lr float64) (loss float64, correct int, err error) {
	defer c.trainVM.Reset()
	if err := c.bind(b); err != nil {
		return 0, 0, err
	}
	if err := c.trainVM.RunAll(); err != nil {
		if nf, ok := ops.AsNonFinite(err); ok {
			// A quantized mode refused it before it became a code (or
			// Observe mode, before its observers took it in): the loss
			// was never computed.
			what := "would have quantized to a code"
			if nf.Mode == ops.Observe {
				what = "would have handed to the observers"
			}
			return 0, 0, &DivergedError{Layer: nf.Layer, Value: describeValue(float64(nf.Value)),
				First: fmt.Sprintf("the %s of layer %s (element %d), which %s mode %s", nf.Operand, nf.Layer, nf.Index, nf.Mode, what)}
		}
		return 0, 0, err
	}
	loss = float64(c.cost.Value().Data().(float32))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, c.diverged(loss)
	}
	classes := c.logits.Shape()[1]
	_, correct, err = nn.Accuracy(c.logitsVal.Data().([]float32), classes, b.Labels)
	if err != nil {
		return loss, 0, err
	}
	if err := c.opt.Step(c.params, lr); err != nil {
		var badGrad *optimizer.NonFiniteGradError
		if errors.As(err, &badGrad) {
			// The forward pass was finite (the loss is), so the first
			// non-finite value of the step is in the backward pass.
			l := layerOfParam(badGrad.Param)
			return loss, correct, &DivergedError{Loss: loss, Layer: l, Value: describeValue(float64(badGrad.Value)),
				First: fmt.Sprintf("the gradient of parameter %s (layer %s)", badGrad.Param, l)}
		}
		var bad *optimizer.NonFiniteParamError
		if errors.As(err, &bad) {
			// A NaN weight that quantization clamped to a code never reaches
			// the loss: only the update shows it.
			l := layerOfParam(bad.Param)
			return loss, correct, &DivergedError{Loss: loss, Layer: l, Value: describeValue(float64(bad.Value)),
				First: fmt.Sprintf("parameter %s (layer %s) after its update", bad.Param, l)}
		}
		return loss, correct, err
	}
	return loss, correct, nil
}

// diverged builds the error of a step whose loss is not finite, locating
// the first non-finite value of the forward pass.
func (c *core) diverged(loss float64) *DivergedError {
	e := &DivergedError{Loss: loss}
	if layer, where, v, ok := c.locateNonFinite(); ok {
		e.Layer, e.First, e.Value = layer, where, describeValue(float64(v))
	}
	return e
}

// evaluate runs a whole data set through the model in evaluation mode
// (batch norm on running statistics, observers and noise off), in the
// layers' current modes, and restores the training flags afterwards. It
// fills in the loss, accuracy and counts of ev.
func (c *core) evaluate(data *dataset.Dataset) (ev Evaluation, err error) {
	defer c.evaluationMode()()
	it, err := dataset.NewIterator(data, c.batch, dataset.IterOptions{})
	if err != nil {
		return ev, err
	}
	classes := data.Classes
	var lossSum float64
	it.Start(0)
	for it.Next() {
		b := it.Batch()
		if err := c.bind(b); err != nil {
			return ev, err
		}
		err := c.evalVM.RunAll()
		if err != nil {
			c.evalVM.Reset()
			return ev, fmt.Errorf("evaluating: %w", err)
		}
		logits := c.logits.Value().Data().([]float32)[:b.Size*classes]
		_, n, err := nn.Accuracy(logits, classes, b.Labels)
		c.evalVM.Reset()
		if err != nil {
			return ev, err
		}
		if classes >= TopFiveClasses {
			n5, err := nn.TopKCorrect(logits, classes, b.Labels, 5)
			if err != nil {
				return ev, err
			}
			ev.Top5Correct += n5
		}
		ev.Correct += n
		ev.Samples += b.Size
		for i := 0; i < b.Size; i++ {
			lossSum += crossEntropy(logits[i*classes:(i+1)*classes], b.Labels[i])
		}
	}
	ev.Loss = lossSum / float64(ev.Samples)
	ev.Accuracy = float64(ev.Correct) / float64(ev.Samples)
	ev.Top5 = float64(ev.Top5Correct) / float64(ev.Samples)
	return ev, nil
}

// crossEntropy is -log softmax(row)[label], computed stably in float64.
func crossEntropy(row []float32, label int) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(sum) - float64(row[label])
}
