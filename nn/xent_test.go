package nn

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestSoftmaxCrossEntropyHandComputed(t *testing.T) {
	// Row 0: logits (0, 0), label 0: loss ln 2, softmax (1/2, 1/2).
	// Row 1: logits (ln 3, 0), label 1: softmax (3/4, 1/4), loss ln 4.
	for _, labels := range []*tensor.Dense{
		tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{0, 1})),
		f32(tensor.Shape{2}, 0, 1),
	} {
		g := G.NewGraph()
		z := G.NodeFromAny(g, f32(tensor.Shape{2, 2}, 0, 0, float32(math.Log(3)), 0), G.WithName("z"))
		y := G.NodeFromAny(g, labels, G.WithName("y"))
		loss, err := SoftmaxCrossEntropy(z, y)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := G.Grad(loss, z); err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		if got, want := float64(*loss.Value().(*G.F32)), 1.5*math.Ln2; !near(got, want, 1e-6) {
			t.Errorf("%v labels: loss %g, want %g", labels.Dtype(), got, want)
		}
		gz, _ := z.Grad()
		want := []float64{-0.25, 0.25, 0.375, -0.375}
		for i, v := range gz.Data().([]float32) {
			if !near(float64(v), want[i], 1e-6) {
				t.Errorf("%v labels: dz[%d] = %g, want %g", labels.Dtype(), i, v, want[i])
			}
		}
		m.Close()
	}
}

func TestSoftmaxCrossEntropyStableAndGradient(t *testing.T) {
	op := SoftmaxCrossEntropyOp{}
	v, err := op.Do(f32(tensor.Shape{2, 2}, 1000, -1000, 1000, -1000), f32(tensor.Shape{2}, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(*v.(*G.F32)); !near(got, 1000, 1e-3) { // (0 + 2000) / 2
		t.Errorf("large logits: loss %g, want 1000", got)
	}
	labels := tensor.New(tensor.WithShape(4), tensor.WithBacking([]int{2, 0, 4, 1}))
	build := func(in []*G.Node) (*G.Node, error) {
		y := G.NodeFromAny(in[0].Graph(), labels.Clone(), G.WithName("labels"))
		return SoftmaxCrossEntropy(in[0], y)
	}
	checkGrad(t, build, []*tensor.Dense{randTensor(5, 2, 4, 5)}, []bool{true}, 1e-2, 1e-4, 1e-2)
}

func TestSoftmaxCrossEntropyErrors(t *testing.T) {
	op := SoftmaxCrossEntropyOp{}
	z := f32(tensor.Shape{2, 3}, 0, 0, 0, 0, 0, 0)
	for name, c := range map[string]struct {
		labels *tensor.Dense
		want   string
	}{
		"out of range": {tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{0, 3})), "label 1 is 3, outside 0..2"},
		"negative":     {f32(tensor.Shape{2}, -1, 0), "label 0 is -1"},
		"fractional":   {f32(tensor.Shape{2}, 0.5, 0), "not a class index"},
		"wrong count":  {f32(tensor.Shape{3}, 0, 0, 0), "expected (N, classes) and (N)"},
		"float64":      {tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0, 1})), "labels of type float64"},
	} {
		if _, err := op.Do(z, c.labels); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
	g := G.NewGraph()
	v := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("v"))
	if _, err := SoftmaxCrossEntropy(v, v); err == nil {
		t.Error("1-d logits accepted")
	}
}

func TestAccuracy(t *testing.T) {
	logits := []float32{
		0.1, 0.7, 0.2, // argmax 1
		3, 3, 1, // tie: first wins, 0
		-1, -2, -0.5, // argmax 2
	}
	acc, n, err := Accuracy(logits, 3, []int{1, 1, 2})
	if err != nil || n != 2 || !near(acc, 2.0/3, 1e-12) {
		t.Errorf("Accuracy = %g, %d, %v; want 2/3, 2", acc, n, err)
	}
	if _, _, err := Accuracy(logits, 3, []int{1, 1}); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if Argmax([]float32{float32(math.NaN()), 1, 0}) != 1 {
		t.Error("NaN won the argmax")
	}
}

func TestTopKCorrect(t *testing.T) {
	nan := float32(math.NaN())
	logits := []float32{
		0.1, 0.9, 0.5, 0.3, // label 2: rank 1 (only 0.9 above)
		1, 1, 1, 0, // label 1: ties with class 0 before it, rank 1
		2, 1, 0, nan, // label 0: rank 0; the NaN outranks nothing
		nan, 1, 0, 0, // label 0 is NaN: never counted
		0, 0, 0, 5, // label 0: classes 1, 2 tie after it, 3 above: rank 1
	}
	labels := []int{2, 1, 0, 0, 0}
	for k, want := range map[int]int{1: 1, 2: 4, 3: 4, 4: 4} {
		got, err := TopKCorrect(logits, 4, labels, k)
		if err != nil || got != want {
			t.Errorf("k=%d: %d correct (%v), want %d", k, got, err, want)
		}
	}
	// k = 1 agrees with Accuracy.
	_, n, _ := Accuracy(logits, 4, labels)
	if got, _ := TopKCorrect(logits, 4, labels, 1); got != n {
		t.Errorf("top-1 %d, Accuracy %d", got, n)
	}
	if _, err := TopKCorrect(logits, 4, labels, 0); err == nil {
		t.Error("k=0 accepted")
	}
	if _, err := TopKCorrect(logits, 4, []int{0, 1, 2, 3, 4}, 1); err == nil {
		t.Error("label 4 of 4 classes accepted")
	}
}
