package train_test

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/nn"
	"github.com/goapprox/goapprox/train"
	"github.com/goapprox/goapprox/train/report"
)

// blobs is a synthetic data set: n points of 8 features around one of
// three centres, one class per centre.
func blobs(n int, seed uint64) *dataset.Dataset {
	rng := rand.New(rand.NewPCG(seed, 0))
	d := &dataset.Dataset{Name: "blobs", C: 1, H: 1, W: 8, Classes: 3, Labels: make([]int, n), Images: make([]float32, 8*n)}
	for i := range n {
		c := i % 3
		d.Labels[i] = c
		for j := range 8 {
			centre := float32(0)
			if j%3 == c {
				centre = 2
			}
			d.Images[8*i+j] = centre + float32(0.3*rng.NormFloat64())
		}
	}
	return d
}

// mlp builds a two-layer perceptron with batch norm in plain Gorgonia:
// x·W1 + b1, batch norm, ReLU, then ·W2 + b2. Its weights are drawn from
// seed.
func mlp(batch int, seed uint64) (*train.Model, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	g := G.NewGraph()
	values := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(scale * rng.NormFloat64())
		}
		return v
	}
	param := func(name string, shape []int, v []float32) *G.Node {
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))))
	}
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(batch, 8), G.WithName("x"))
	w1 := param("fc1", []int{8, 16}, values(8*16, 0.5))
	b1 := param("fc1.bias", []int{16}, make([]float32, 16))
	scale := param("fc1.bn.scale", []int{16}, ones)
	shift := param("fc1.bn.shift", []int{16}, make([]float32, 16))
	w2 := param("fc2", []int{16, 3}, values(16*3, 0.3))
	b2 := param("fc2.bias", []int{3}, make([]float32, 3))

	h, err := G.BroadcastAdd(G.Must(G.Mul(x, w1)), b1, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	if h, err = nn.BatchNorm(h, scale, shift, nn.NewBatchNormState(16)); err != nil {
		return nil, err
	}
	logits, err := G.BroadcastAdd(G.Must(G.Mul(G.Must(G.Rectify(h)), w2)), b2, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	return &train.Model{Graph: g, Input: x, Logits: logits, Params: G.Nodes{w1, b1, scale, shift, w2, b2}}, nil
}

// The trainer takes a network built by hand in Gorgonia: it rewrites the
// two products into approximate layers, finds the batch norm, and runs
// quantization-aware training, then the approximate phase with a
// truncated multiplier, writing a checkpoint after every epoch. Package
// report writes the metrics and the training curves.
func ExampleWithModel() {
	cfg := train.DefaultConfig()
	cfg.Model, cfg.Dataset = "blobs-mlp", "blobs"
	cfg.Batch, cfg.LR, cfg.Threads = 16, 1e-2, 1
	cfg.QATEpochs, cfg.ApproxEpochs = 3, 1
	cfg.LUT = "trunc:t=6,signed=true"

	tr, err := train.New(cfg, train.WithModel(mlp), train.WithData(blobs(240, 1), blobs(90, 2)))
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	res, err := tr.Run(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("approximate layers:", tr.Layers().Names())
	fmt.Println("quantized accuracy above 90%:", *res.Accuracy.QAT > 0.9)
	fmt.Println("approximate accuracy above 90%:", *res.Accuracy.ApproxAfter > 0.9)
	ck, err := train.ReadCheckpoint(filepath.Join(dir, train.PhaseCheckpoint(train.PhaseQAT)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("checkpoint batch norms:", len(ck.BatchNorms))
	if err := report.WriteFiles(dir, res); err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, report.PlotFile)); err == nil {
		fmt.Println("plot written")
	}
	// Output:
	// approximate layers: [fc1 fc2]
	// quantized accuracy above 90%: true
	// approximate accuracy above 90%: true
	// checkpoint batch norms: 1
	// plot written
}
