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
	{Name: "lenet5", Doc: "LeNet-5 (agn-approx): conv 6@5x5 pad 2, conv 16@5x5, fc 120, fc 84, fc; BN and ReLU after each hidden layer",
		accepts: acceptLeNet, build: buildLeNet5},
	{Name: "mlp", Doc: "multilayer perceptron: fc 256, fc 128 (BN, ReLU), fc",
		accepts: func(Input) error { return nil }, build: buildMLP},
	{Name: "mobilenetv2", Doc: "small MobileNetV2: inverted residual blocks with depthwise 3x3 convolutions, ReLU6, BN, 16-64 channels",
		accepts: acceptStrided("mobilenetv2", 4), build: buildMobileNetV2},
	{Name: "resnet8", Doc: "ResNet-8: stem conv and three residual stages of 16/32/64 channels with BN, global average pooling, fc",
		accepts: acceptStrided("resnet8", 4), build: buildResNet8},
	{Name: "vgg", Doc: "small VGG: conv 32-32-pool-64-64-pool-128-pool (3x3, BN, ReLU), fc 128, fc",
		accepts: acceptStrided("vgg", 8), build: buildVGG},
}

// Models returns the registered models, sorted by name.
func Models() []Model { return append([]Model(nil), models...) }

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
	if in.C <= 0 || in.H <= 0 || in.W <= 0 || in.Classes < 2 {
		return fmt.Errorf("zoo: invalid input %s: need positive C, H, W and at least 2 classes", in)
	}
	return m.accepts(in)
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
	if m.build == nil {
		return nil, fmt.Errorf("zoo: model %q is not registered (use Lookup)", m.Name)
	}
	if err := m.Accepts(in); err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("zoo: batch size %d must be positive", batch)
	}
	b := newBuilder(seed)
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
