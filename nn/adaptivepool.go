package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AdaptiveAvgPool2D averages an (N, C, H, W) input over oh×ow bins,
// giving (N, C, oh, ow) whatever H and W are, as PyTorch's
// AdaptiveAvgPool2d: output row i averages input rows floor(i*H/oh) up to
// ceil((i+1)*H/oh) (exclusive), columns likewise. Bins may overlap, and an
// input smaller than the output repeats its values. The gradient spreads
// each output's gradient evenly over its bin, adding where bins overlap.
func AdaptiveAvgPool2D(x *gorgonia.Node, oh, ow int) (*gorgonia.Node, error) {
	if x.Shape().Dims() != 4 {
		return nil, fmt.Errorf("adaptive average pool: input %s has shape %v; expected (N, C, H, W)", x.Name(), x.Shape())
	}
	op := &AdaptiveAvgPool2DOp{oh: oh, ow: ow}
	if _, err := op.outShape(x.Shape()); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x)
}

// AdaptiveAvgPool2DOp is the op built by AdaptiveAvgPool2D. It keeps its
// output buffer between runs.
type AdaptiveAvgPool2DOp struct {
	oh, ow int

	out *tensor.Dense
}

// OutputSize returns the output's rows and columns.
func (op *AdaptiveAvgPool2DOp) OutputSize() (rows, cols int) { return op.oh, op.ow }

func (op *AdaptiveAvgPool2DOp) outShape(s tensor.Shape) (tensor.Shape, error) {
	if op.oh < 1 || op.ow < 1 {
		return nil, fmt.Errorf("adaptive average pool: output size %dx%d must be at least 1x1", op.oh, op.ow)
	}
	if s.Dims() != 4 || s[2] < 1 || s[3] < 1 {
		return nil, fmt.Errorf("adaptive average pool: input shape %v; expected (N, C, H, W) with H, W > 0", s)
	}
	return tensor.Shape{s[0], s[1], op.oh, op.ow}, nil
}

// adaptiveBin is the half-open range of input indices that output index i of o
// averages over an input of n.
func adaptiveBin(i, o, n int) (lo, hi int) {
	return i * n / o, ((i+1)*n + o - 1) / o
}

// pool runs over every bin of every plane: forward (toInput false) writes
// each output as its bin's mean; backward (toInput true) writes dx from dy.
func (op *AdaptiveAvgPool2DOp) pool(x []float32, xs tensor.Shape, y []float32, toInput bool) {
	planes, h, w := xs[0]*xs[1], xs[2], xs[3]
	if toInput {
		clear(x)
	}
	for p := range planes {
		xp := x[p*h*w : (p+1)*h*w]
		yp := y[p*op.oh*op.ow : (p+1)*op.oh*op.ow]
		for i := range op.oh {
			r0, r1 := adaptiveBin(i, op.oh, h)
			for j := range op.ow {
				c0, c1 := adaptiveBin(j, op.ow, w)
				inv := 1 / float32((r1-r0)*(c1-c0))
				if toInput {
					g := yp[i*op.ow+j] * inv
					for r := r0; r < r1; r++ {
						for c := c0; c < c1; c++ {
							xp[r*w+c] += g
						}
					}
					continue
				}
				var sum float32
				for r := r0; r < r1; r++ {
					for c := c0; c < c1; c++ {
						sum += xp[r*w+c]
					}
				}
				yp[i*op.ow+j] = sum * inv
			}
		}
	}
}

func (op *AdaptiveAvgPool2DOp) Arity() int { return 1 }
func (op *AdaptiveAvgPool2DOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op *AdaptiveAvgPool2DOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("adaptive average pool: %d inputs, expected 1", len(in))
	}
	s, err := shapeOf(in[0], "adaptive average pool input")
	if err != nil {
		return nil, err
	}
	return op.outShape(s)
}
func (op *AdaptiveAvgPool2DOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *AdaptiveAvgPool2DOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("adaptive average pool: %d inputs, expected 1", len(in))
	}
	x, xs, err := float32s(in[0], "adaptive average pool input")
	if err != nil {
		return nil, err
	}
	ys, err := op.outShape(xs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, ys, x)
	op.pool(x, xs, y, false)
	return out, nil
}
func (op *AdaptiveAvgPool2DOp) ReturnsPtr() bool     { return false }
func (op *AdaptiveAvgPool2DOp) CallsExtern() bool    { return false }
func (op *AdaptiveAvgPool2DOp) OverwritesInput() int { return -1 }
func (op *AdaptiveAvgPool2DOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.AdaptiveAvgPool2D(%dx%d)", op.oh, op.ow)
}
func (op *AdaptiveAvgPool2DOp) Hashcode() uint32 { return hashOf(op) }
func (op *AdaptiveAvgPool2DOp) String() string {
	return fmt.Sprintf("AdaptiveAvgPool2D(%dx%d)", op.oh, op.ow)
}
func (op *AdaptiveAvgPool2DOp) DiffWRT(inputs int) []bool { return []bool{true} }
func (op *AdaptiveAvgPool2DOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("adaptive average pool: %d inputs, expected 1", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&reshapeGradOp{fwd: op}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// The reshape interface of reshapeGradOp.
func (op *AdaptiveAvgPool2DOp) gradName() string { return "adaptive average pool gradient" }
func (op *AdaptiveAvgPool2DOp) backward(dx []float32, xs tensor.Shape, dy []float32, _ tensor.Shape) {
	op.pool(dx, xs, dy, true)
}
