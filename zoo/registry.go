package zoo

import (
	"fmt"
	"sort"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/dataset"
)

// Input is the shape of a model's input images and its number of classes.
type Input struct {
	C, H, W int
	Classes int
}

// InputOf returns the input shape of a registered data set.
func InputOf(info dataset.Info) Input {
	return Input{C: info.C, H: info.H, W: info.W, Classes: info.Classes}
}

func (in Input) String() string {
	return fmt.Sprintf("%dx%dx%d, %d classes", in.C, in.H, in.W, in.Classes)
}

// Model is a registered architecture.
type Model struct {
	Name string
	// Doc describes the architecture in one line.
	Doc     string
	accepts func(Input) error
	build   func(b *builder, x *G.Node, in Input) *G.Node
}

var models = []Model{
	{Name: "alexnet", Doc: "AlexNet (torchvision, agn-approx): 5 convolutions with bias and ReLU, 3 max poolings, 6x6 adaptive average pooling, fc 4096, fc 4096, fc",
		accepts: acceptAlexNet, build: buildAlexNet},
	{Name: "lenet5", Doc: "LeNet-5 (agn-approx): conv 6@5x5 pad 2, conv 16@5x5, fc 120, fc 84, fc; BN and ReLU after each hidden layer",
		accepts: acceptLeNet, build: buildLeNet5},
	{Name: "mlp", Doc: "multilayer perceptron: fc 256, fc 128 (BN, ReLU), fc",
		accepts: func(Input) error { return nil }, build: buildMLP},
	{Name: "mobilenetv2", Doc: "MobileNetV2 (torchvision, width 1.0): 17 inverted residual blocks, 1280 features; CIFAR strides up to 32x32",
		accepts: acceptStrided("mobilenetv2", 8), build: buildMobileNetV2},
	{Name: "mobilenetv2-small", Doc: "small MobileNetV2: inverted residual blocks with depthwise 3x3 convolutions, ReLU6, BN, 16-64 channels",
		accepts: acceptStrided("mobilenetv2-small", 4), build: buildMobileNetV2Small},
	{Name: "resnet8", Doc: "ResNet-8 (He et al., CIFAR, agn-approx): 3 stages of 1 basic block, 16/32/64 channels, option-A shortcuts",
		accepts: acceptStrided("resnet8", 4), build: cifarResNet(1)},
	{Name: "resnet8-1x1", Doc: "ResNet-8 with 1x1 convolution + BN shortcuts where the shape changes (option B)",
		accepts: acceptStrided("resnet8-1x1", 4), build: buildResNet8x1},
	{Name: "resnet14", Doc: "ResNet-14 (He et al., CIFAR, agn-approx): 3 stages of 2 basic blocks, 16/32/64 channels, option-A shortcuts",
		accepts: acceptStrided("resnet14", 4), build: cifarResNet(2)},
	{Name: "resnet20", Doc: "ResNet-20 (He et al., CIFAR, agn-approx): 3 stages of 3 basic blocks, 16/32/64 channels, option-A shortcuts",
		accepts: acceptStrided("resnet20", 4), build: cifarResNet(3)},
	{Name: "resnet32", Doc: "ResNet-32 (He et al., CIFAR, agn-approx): 3 stages of 5 basic blocks, 16/32/64 channels, option-A shortcuts",
		accepts: acceptStrided("resnet32", 4), build: cifarResNet(5)},
	{Name: "resnet44", Doc: "ResNet-44 (He et al., CIFAR, agn-approx): 3 stages of 7 basic blocks, 16/32/64 channels, option-A shortcuts",
		accepts: acceptStrided("resnet44", 4), build: cifarResNet(7)},
	{Name: "resnet56", Doc: "ResNet-56 (He et al., CIFAR, agn-approx): 3 stages of 9 basic blocks, 16/32/64 channels, option-A shortcuts",
		accepts: acceptStrided("resnet56", 4), build: cifarResNet(9)},
	{Name: "vgg", Doc: "small VGG: conv 32-32-pool-64-64-pool-128-pool (3x3, BN, ReLU), fc 128, fc",
		accepts: acceptStrided("vgg", 8), build: buildVGG},
	{Name: "vgg11", Doc: "VGG-11 with BN, CIFAR variant: 8 convolutions (64-512 channels), 5 poolings, one fc",
		accepts: acceptStrided("vgg11", 32), build: cifarVGG(vggConfigs["vgg11"])},
	{Name: "vgg16", Doc: "VGG-16 with BN, CIFAR variant: 13 convolutions (64-512 channels), 5 poolings, one fc",
		accepts: acceptStrided("vgg16", 32), build: cifarVGG(vggConfigs["vgg16"])},
}

// Models returns the registered models, sorted by name.
func Models() []Model {
	out := append([]Model(nil), models...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the registered model names, sorted.
func Names() []string {
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name
	}
	sort.Strings(names)
	return names
}

// Lookup returns the model with the given name, or an error listing the
// models that exist.
func Lookup(name string) (Model, error) {
	for _, m := range models {
		if m.Name == name {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("zoo: unknown model %q; models: %s", name, strings.Join(Names(), ", "))
}

// Accepts reports whether the model can be built for inputs of this shape.
func (m Model) Accepts(in Input) error {
	if err := in.valid(); err != nil {
		return err
	}
	return m.accepts(in)
}

func (in Input) valid() error {
	if in.C <= 0 || in.H <= 0 || in.W <= 0 || in.Classes < 2 {
		return fmt.Errorf("zoo: invalid input %s: need positive C, H, W and at least 2 classes", in)
	}
	return nil
}

// Datasets lists the registered data sets whose images the model accepts.
func (m Model) Datasets() []string {
	var names []string
	for _, name := range dataset.Names() {
		info, err := dataset.Lookup(name)
		if err == nil && m.Accepts(InputOf(info)) == nil {
			names = append(names, name)
		}
	}
	return names
}

// Build creates the model's graph for batches of the given size, with every
// parameter drawn from a generator seeded by seed.
func (m Model) Build(in Input, batch int, seed uint64) (*Net, error) {
	return m.build1(in, batch, newBuilder(seed))
}

// Summary is what a model costs for one input shape.
type Summary struct {
	Name string `json:"name"`
	// Params is the number of learnable values (weights, biases,
	// batch-norm scales and shifts).
	Params int `json:"params"`
	// MACs is the number of multiplications of one image's forward pass
	// (Net.MultsPerImage): the table lookups an image costs when every
	// layer is approximate.
	MACs int64 `json:"macs"`
	// ApproxLayers is the number of dense and convolution layers, each of
	// which package graph turns into an approximate layer.
	ApproxLayers int    `json:"approx_layers"`
	Doc          string `json:"doc"`
}

// Summarize counts the model's parameters, multiplications per image and
// approximate layers for inputs of this shape, from the graph's shapes
// alone (no value is drawn, so large models cost little).
func (m Model) Summarize(in Input) (Summary, error) {
	b := newBuilder(0)
	b.shapesOnly = true
	net, err := m.build1(in, 1, b)
	if err != nil {
		return Summary{}, err
	}
	return Summary{Name: m.Name, Params: net.ParamCount(), MACs: net.MultsPerImage(), ApproxLayers: len(net.Weights), Doc: m.Doc}, nil
}

// Summaries lists every registered model that accepts inputs of this
// shape, sorted by name, with its costs. An invalid shape is an error.
func Summaries(in Input) ([]Summary, error) {
	if err := in.valid(); err != nil {
		return nil, err
	}
	var out []Summary
	for _, m := range Models() {
		if m.Accepts(in) != nil {
			continue
		}
		s, err := m.Summarize(in)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (m Model) build1(in Input, batch int, b *builder) (*Net, error) {
	if m.build == nil {
		return nil, fmt.Errorf("zoo: model %q is not registered (use Lookup)", m.Name)
	}
	if err := m.Accepts(in); err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("zoo: batch size %d must be positive", batch)
	}
	x := G.NewTensor(b.g, tensor.Float32, 4, G.WithShape(batch, in.C, in.H, in.W), G.WithName("x"))
	b.net.Input = x
	logits := m.build(b, x, in)
	if b.err != nil {
		return nil, fmt.Errorf("building %s for %s: %w", m.Name, in, b.err)
	}
	if want := (tensor.Shape{batch, in.Classes}); !logits.Shape().Eq(want) {
		return nil, fmt.Errorf("zoo: %s produced logits of shape %v, want %v", m.Name, logits.Shape(), want)
	}
	b.net.Logits = logits
	return b.net, nil
}
