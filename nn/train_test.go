package nn

import (
	"errors"
	"testing"

	"github.com/goapprox/goapprox/dataset"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestTrainsOnDigits is an end-to-end check of the ops together: a 64-32-10
// MLP with BatchNorm, ReLU6 and the cross-entropy loss, trained with SGD on
// the 8x8 digits, must reach 90% test accuracy, evaluated with the same
// compiled graph in evaluation mode.
func TestTrainsOnDigits(t *testing.T) {
	train, err := dataset.Load("digits", dataset.Train, dataset.Options{})
	if errors.Is(err, dataset.ErrNotFound) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	test, err := dataset.Load("digits", dataset.Test, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*dataset.Dataset{train, test} {
		if err := d.NormalizeDefault(); err != nil {
			t.Fatal(err)
		}
	}
	const batch = 40 // divides the 360 test samples
	const epochs = 25
	rng := NewRand(3)
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(batch, 64), G.WithName("x"))
	y := G.NewVector(g, tensor.Int, G.WithShape(batch), G.WithName("y"))
	w1v, _ := KaimingUniform(rng, tensor.Shape{64, 32}, 64)
	w2v, _ := GlorotUniform(rng, tensor.Shape{32, 10}, 32, 10)
	ones, _ := Filled(tensor.Shape{32}, 1)
	zeros, _ := Filled(tensor.Shape{32}, 0)
	w1 := G.NewMatrix(g, tensor.Float32, G.WithShape(64, 32), G.WithName("w1"), G.WithValue(w1v))
	w2 := G.NewMatrix(g, tensor.Float32, G.WithShape(32, 10), G.WithName("w2"), G.WithValue(w2v))
	scale := G.NewVector(g, tensor.Float32, G.WithShape(32), G.WithName("scale"), G.WithValue(ones))
	bias := G.NewVector(g, tensor.Float32, G.WithShape(32), G.WithName("bias"), G.WithValue(zeros))
	state := NewBatchNormState(32)
	h := G.Must(G.Mul(x, w1))
	h = G.Must(BatchNorm(h, scale, bias, state))
	h = G.Must(ReLU6(h))
	logits := G.Must(G.Mul(h, w2))
	loss := G.Must(SoftmaxCrossEntropy(logits, y))
	params := G.Nodes{w1, w2, scale, bias}
	if _, err := G.Grad(loss, params...); err != nil {
		t.Fatal(err)
	}
	var logitsVal G.Value
	G.Read(logits, &logitsVal)
	m := G.NewTapeMachine(g, G.BindDualValues(params...))
	defer m.Close()
	solver := G.NewVanillaSolver(G.WithLearnRate(0.1))

	it, err := dataset.NewIterator(train, batch, dataset.IterOptions{Shuffle: true, Seed: 1, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	bind := func(b dataset.Batch) {
		G.Let(x, tensor.New(tensor.WithShape(batch, 64), tensor.WithBacking(b.Images)))
		G.Let(y, tensor.New(tensor.WithShape(batch), tensor.WithBacking(b.Labels)))
	}
	for epoch := 0; epoch < epochs; epoch++ {
		it.Start(epoch)
		for it.Next() {
			bind(it.Batch())
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			if err := solver.Step(G.NodesToValueGrads(params)); err != nil {
				t.Fatal(err)
			}
			m.Reset()
		}
	}
	state.Training = false
	eval, _ := dataset.NewIterator(test, batch, dataset.IterOptions{})
	eval.Start(0)
	correct := 0
	for eval.Next() {
		b := eval.Batch()
		bind(b)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		m.Reset()
		_, n, err := Accuracy(logitsVal.Data().([]float32), 10, b.Labels)
		if err != nil {
			t.Fatal(err)
		}
		correct += n
	}
	acc := float64(correct) / float64(test.Len())
	t.Logf("digits test accuracy %.4f", acc)
	if acc < 0.90 {
		t.Errorf("test accuracy %.4f, want at least 0.90", acc)
	}
}
