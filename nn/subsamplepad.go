package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SubsamplePad is the parameter-free shortcut of He et al.'s CIFAR ResNets
// ("option A"): it keeps every stride-th row and column of an (N, C, H, W)
// input, starting with the first (PyTorch's x[:, :, ::s, ::s]), and adds
// padBefore zero channels in front of the C input channels and padAfter
// behind them, giving (N, padBefore+C+padAfter, ceil(H/s), ceil(W/s)).
// Its gradient passes each output position's gradient back to the input
// position it was copied from; the other input positions get zero.
func SubsamplePad(x *gorgonia.Node, stride, padBefore, padAfter int) (*gorgonia.Node, error) {
	if x.Shape().Dims() != 4 {
		return nil, fmt.Errorf("subsample-pad: input %s has shape %v; expected (N, C, H, W)", x.Name(), x.Shape())
	}
	op := &SubsamplePadOp{stride: stride, padBefore: padBefore, padAfter: padAfter}
	if _, err := op.outShape(x.Shape()); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x)
}

// SubsamplePadOp is the op built by SubsamplePad. It keeps its output
// buffer between runs.
type SubsamplePadOp struct {
	stride              int
	padBefore, padAfter int

	out *tensor.Dense
}

// Stride is the step between kept rows and columns (1 keeps all).
func (op *SubsamplePadOp) Stride() int { return op.stride }

// Padding returns the numbers of zero channels added in front of and
// behind the input's channels.
func (op *SubsamplePadOp) Padding() (before, after int) { return op.padBefore, op.padAfter }

func (op *SubsamplePadOp) outShape(s tensor.Shape) (tensor.Shape, error) {
	if op.stride < 1 || op.padBefore < 0 || op.padAfter < 0 {
		return nil, fmt.Errorf("subsample-pad: stride %d must be at least 1 and paddings %d, %d at least 0", op.stride, op.padBefore, op.padAfter)
	}
	if s.Dims() != 4 || s[2] < 1 || s[3] < 1 {
		return nil, fmt.Errorf("subsample-pad: input shape %v; expected (N, C, H, W) with H, W > 0", s)
	}
	return tensor.Shape{s[0], op.padBefore + s[1] + op.padAfter, (s[2]-1)/op.stride + 1, (s[3]-1)/op.stride + 1}, nil
}

func (op *SubsamplePadOp) Arity() int { return 1 }
func (op *SubsamplePadOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := gorgonia.TensorType{Dims: 4, Of: a}
	return hm.NewFnType(t, t)
}
func (op *SubsamplePadOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("subsample-pad: %d inputs, expected 1", len(in))
	}
	s, err := shapeOf(in[0], "subsample-pad input")
	if err != nil {
		return nil, err
	}
	return op.outShape(s)
}
func (op *SubsamplePadOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *SubsamplePadOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("subsample-pad: %d inputs, expected 1", len(in))
	}
	x, xs, err := float32s(in[0], "subsample-pad input")
	if err != nil {
		return nil, err
	}
	ys, err := op.outShape(xs)
	if err != nil {
		return nil, err
	}
	out, y := output(prealloc, &op.out, ys, x)
	op.copyPlanes(x, xs, y, ys, false)
	return out, nil
}

// copyPlanes moves values between the input (N, C, H, W) in x and the
// output in y: forward (toInput false) writes every output value, zero in
// the padded channels; backward (toInput true) writes every input value,
// zero where the subsampling skips.
func (op *SubsamplePadOp) copyPlanes(x []float32, xs tensor.Shape, y []float32, ys tensor.Shape, toInput bool) {
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	oc, oh, ow := ys[1], ys[2], ys[3]
	s := op.stride
	if toInput {
		clear(x)
	}
	for i := range n {
		yImage := y[i*oc*oh*ow : (i+1)*oc*oh*ow]
		if !toInput {
			clear(yImage[:op.padBefore*oh*ow])
			clear(yImage[(op.padBefore+c)*oh*ow:])
		}
		for ch := range c {
			xp := x[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			yp := yImage[(op.padBefore+ch)*oh*ow : (op.padBefore+ch+1)*oh*ow]
			for r := range oh {
				xr := xp[r*s*w : r*s*w+w]
				yr := yp[r*ow : (r+1)*ow]
				if toInput {
					for j := range yr {
						xr[j*s] = yr[j]
					}
				} else {
					for j := range yr {
						yr[j] = xr[j*s]
					}
				}
			}
		}
	}
}

func (op *SubsamplePadOp) ReturnsPtr() bool     { return false }
func (op *SubsamplePadOp) CallsExtern() bool    { return false }
func (op *SubsamplePadOp) OverwritesInput() int { return -1 }
func (op *SubsamplePadOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "nn.SubsamplePad(stride=%d,pad=%d,%d)", op.stride, op.padBefore, op.padAfter)
}
func (op *SubsamplePadOp) Hashcode() uint32 { return hashOf(op) }
func (op *SubsamplePadOp) String() string {
	return fmt.Sprintf("SubsamplePad(stride %d, pad %d+%d)", op.stride, op.padBefore, op.padAfter)
}
func (op *SubsamplePadOp) DiffWRT(inputs int) []bool { return []bool{true} }
func (op *SubsamplePadOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("subsample-pad: %d inputs, expected 1", len(inputs))
	}
	g, err := gorgonia.ApplyOp(&reshapeGradOp{fwd: op}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// The reshape interface of reshapeGradOp.
func (op *SubsamplePadOp) gradName() string { return "subsample-pad gradient" }
func (op *SubsamplePadOp) backward(dx []float32, xs tensor.Shape, dy []float32, dys tensor.Shape) {
	op.copyPlanes(dx, xs, dy, dys, true)
}
