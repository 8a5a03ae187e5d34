package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxCrossEntropy returns the mean over the batch of
// -log softmax(logits[i])[labels[i]]: logits is (N, K) float32, labels is a
// vector of N class indices held as Int, Int32 or (integral) Float32 values.
// The result is a float32 scalar node suitable as a cost for gorgonia.Grad.
func SoftmaxCrossEntropy(logits, labels *gorgonia.Node) (*gorgonia.Node, error) {
	if logits.Shape().Dims() != 2 {
		return nil, fmt.Errorf("softmax cross-entropy: logits %s have shape %v; expected (N, classes)", logits.Name(), logits.Shape())
	}
	if labels.Shape().Dims() != 1 || labels.Shape()[0] != logits.Shape()[0] {
		return nil, fmt.Errorf("softmax cross-entropy: labels %s have shape %v; expected (%d)", labels.Name(), labels.Shape(), logits.Shape()[0])
	}
	return gorgonia.ApplyOp(SoftmaxCrossEntropyOp{}, logits, labels)
}

// SoftmaxCrossEntropyOp is the loss op built by SoftmaxCrossEntropy. It has no
// parameters; its gradient with respect to the logits is
// (softmax(logits) - onehot(labels)) / N times the upstream gradient.
type SoftmaxCrossEntropyOp struct{}

func (SoftmaxCrossEntropyOp) Arity() int { return 2 }

func (SoftmaxCrossEntropyOp) Type() hm.Type {
	a, l := hm.TypeVariable('a'), hm.TypeVariable('l') // not 'b': Gorgonia's inference uses it for the result
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 1, Of: l}, a)
}

func (SoftmaxCrossEntropyOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := checkXentShapes(in...); err != nil {
		return nil, err
	}
	return tensor.ScalarShape(), nil
}

func checkXentShapes(in ...gorgonia.DimSizer) error {
	if len(in) < 2 {
		return fmt.Errorf("softmax cross-entropy: %d inputs, expected logits and labels", len(in))
	}
	ls, err := shapeOf(in[0], "softmax cross-entropy logits")
	if err != nil {
		return err
	}
	ys, err := shapeOf(in[1], "softmax cross-entropy labels")
	if err != nil {
		return err
	}
	if ls.Dims() != 2 || ls[0] < 1 || ls[1] < 1 || ys.Dims() != 1 || ys[0] != ls[0] {
		return fmt.Errorf("softmax cross-entropy: logits %v and labels %v; expected (N, classes) and (N)", ls, ys)
	}
	return nil
}

// classIndices converts a labels value to ints in [0, classes), into buf.
func classIndices(v gorgonia.Value, classes int, buf []int) ([]int, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("softmax cross-entropy: labels must be a tensor, got %T", v)
	}
	if t.IsMaterializable() {
		t = t.Materialize().(*tensor.Dense)
	}
	n := t.Shape().TotalSize()
	if cap(buf) < n {
		buf = make([]int, n)
	}
	buf = buf[:n]
	switch t.Dtype() {
	case tensor.Int:
		copy(buf, t.Ints())
	case tensor.Int32:
		for i, y := range t.Int32s() {
			buf[i] = int(y)
		}
	case tensor.Float32:
		for i, y := range t.Float32s() {
			if y != float32(int(y)) {
				return nil, fmt.Errorf("softmax cross-entropy: label %d is %g, not a class index", i, y)
			}
			buf[i] = int(y)
		}
	default:
		return nil, fmt.Errorf("softmax cross-entropy: labels of type %v; use Int, Int32 or Float32", t.Dtype())
	}
	for i, y := range buf {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("softmax cross-entropy: label %d is %d, outside 0..%d", i, y, classes-1)
		}
	}
	return buf, nil
}

// logSumExp is log Σ exp(row) computed stably around the row maximum.
func logSumExp(row []float32) (lse, max float32) {
	max = row[0]
	for _, v := range row[1:] {
		if v > max {
			max = v
		}
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v - max))
	}
	return max + float32(math.Log(s)), max
}

func (op SoftmaxCrossEntropyOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("softmax cross-entropy: %d inputs, expected 2", len(in))
	}
	z, zs, err := float32s(in[0], "softmax cross-entropy logits")
	if err != nil {
		return nil, err
	}
	if err := checkXentShapes(zs, in[1].Shape()); err != nil {
		return nil, err
	}
	n, k := zs[0], zs[1]
	labels, err := classIndices(in[1], k, nil)
	if err != nil {
		return nil, err
	}
	var loss float64
	for i := 0; i < n; i++ {
		row := z[i*k : (i+1)*k]
		lse, _ := logSumExp(row)
		loss += float64(lse - row[labels[i]])
	}
	return gorgonia.NewF32(float32(loss / float64(n))), nil
}

func (SoftmaxCrossEntropyOp) ReturnsPtr() bool     { return false }
func (SoftmaxCrossEntropyOp) CallsExtern() bool    { return false }
func (SoftmaxCrossEntropyOp) OverwritesInput() int { return -1 }
func (SoftmaxCrossEntropyOp) WriteHash(h hash.Hash) {
	fmt.Fprint(h, "nn.SoftmaxCrossEntropy(mean)")
}
func (op SoftmaxCrossEntropyOp) Hashcode() uint32 { return hashOf(op) }
func (SoftmaxCrossEntropyOp) String() string      { return "SoftmaxCrossEntropy" }

func (SoftmaxCrossEntropyOp) DiffWRT(inputs int) []bool { return []bool{true, false} }

func (SoftmaxCrossEntropyOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("softmax cross-entropy: %d inputs, expected 2", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&xentGradOp{}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g, nil}, nil
}

// xentGradOp computes d loss / d logits = (softmax - onehot) * g / N from
// logits, labels and the scalar upstream gradient g.
type xentGradOp struct {
	labels []int
	out    *tensor.Dense
}

func (*xentGradOp) Arity() int { return 3 }
func (*xentGradOp) Type() hm.Type {
	a, l := hm.TypeVariable('a'), hm.TypeVariable('l') // not 'b': Gorgonia's inference uses it for the result
	t := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(t, gorgonia.TensorType{Dims: 1, Of: l}, a, t)
}
func (*xentGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if err := checkXentShapes(in...); err != nil {
		return nil, err
	}
	return in[0].(tensor.Shape).Clone(), nil
}
func (op *xentGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *xentGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("softmax cross-entropy gradient: %d inputs, expected 3", len(in))
	}
	z, zs, err := float32s(in[0], "softmax cross-entropy logits")
	if err != nil {
		return nil, err
	}
	if err := checkXentShapes(zs, in[1].Shape()); err != nil {
		return nil, err
	}
	g, err := scalar32(in[2], "softmax cross-entropy upstream gradient")
	if err != nil {
		return nil, err
	}
	n, k := zs[0], zs[1]
	if op.labels, err = classIndices(in[1], k, op.labels); err != nil {
		return nil, err
	}
	out, dz := output(prealloc, &op.out, zs, z)
	scale := g / float32(n)
	for i := 0; i < n; i++ {
		row := z[i*k : (i+1)*k]
		lse, _ := logSumExp(row)
		for j, v := range row {
			dz[i*k+j] = float32(math.Exp(float64(v-lse))) * scale
		}
		dz[i*k+op.labels[i]] -= scale
	}
	return out, nil
}
func (*xentGradOp) ReturnsPtr() bool      { return false }
func (*xentGradOp) CallsExtern() bool     { return false }
func (*xentGradOp) OverwritesInput() int  { return -1 }
func (*xentGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "nn.SoftmaxCrossEntropyGrad(mean)") }
func (op *xentGradOp) Hashcode() uint32   { return hashOf(op) }
func (*xentGradOp) String() string        { return "SoftmaxCrossEntropyGrad" }

// Accuracy returns the fraction of rows of logits (N x classes, row-major)
// whose largest entry is at the label's index (ties go to the lowest index),
// and the number of correct rows.
func Accuracy(logits []float32, classes int, labels []int) (float64, int, error) {
	if classes < 1 || len(logits) != classes*len(labels) {
		return 0, 0, fmt.Errorf("accuracy: %d logits for %d labels of %d classes", len(logits), len(labels), classes)
	}
	correct := 0
	for i, y := range labels {
		if Argmax(logits[i*classes:(i+1)*classes]) == y {
			correct++
		}
	}
	if len(labels) == 0 {
		return 0, 0, nil
	}
	return float64(correct) / float64(len(labels)), correct, nil
}

// TopKCorrect counts the samples whose label is among the k highest of
// their row of logits, ties going to the lower class index as in Argmax
// (TopKCorrect with k = 1 counts what Accuracy counts); a NaN logit never
// outranks another, and a label whose logit is NaN is never counted.
func TopKCorrect(logits []float32, classes int, labels []int, k int) (int, error) {
	if classes < 1 || len(logits) != classes*len(labels) {
		return 0, fmt.Errorf("top-%d accuracy: %d logits for %d labels of %d classes", k, len(logits), len(labels), classes)
	}
	if k < 1 {
		return 0, fmt.Errorf("top-k accuracy: k %d must be at least 1", k)
	}
	correct := 0
	for i, y := range labels {
		if y < 0 || y >= classes {
			return 0, fmt.Errorf("top-%d accuracy: label %d outside 0..%d", k, y, classes-1)
		}
		row := logits[i*classes : (i+1)*classes]
		v := row[y]
		if v != v {
			continue
		}
		rank := 0
		for j, u := range row {
			if u > v || u == v && j < y {
				rank++
			}
		}
		if rank < k {
			correct++
		}
	}
	return correct, nil
}

// Argmax is the index of the largest value (the first one on ties; NaN never wins).
func Argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] || row[best] != row[best] {
			best = j
		}
	}
	return best
}
